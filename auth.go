// Package auth is an embeddable authentication library (work in progress).
package auth
