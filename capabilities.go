package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// A capability is something an account-lifecycle route needs beyond the
// core stores: an optional store interface or a Mailer.
type capability int

const (
	capSessionLister capability = iota
	capOneTimeTokens
	capEmailVerifier
	capMailer
)

// lifecycleRoutes lists the account-lifecycle routes of Handler with the
// capabilities each needs. DELETE /sessions/{id} needs none beyond the
// core TokenStore.
var lifecycleRoutes = []struct {
	route string
	needs []capability
}{
	{"GET /sessions", []capability{capSessionLister}},
	{"POST /logout-all", []capability{capSessionLister}},
	{"POST /password", []capability{capSessionLister}},
	{"DELETE /me", []capability{capSessionLister}},
	{"POST /password/forgot", []capability{capMailer, capOneTimeTokens}},
	{"POST /password/reset", []capability{capMailer, capOneTimeTokens, capSessionLister}},
	{"POST /verify-email", []capability{capMailer, capOneTimeTokens, capEmailVerifier}},
}

// missing returns why cfg lacks c, or "" when it has it.
func (c capability) missing(cfg *Config) string {
	switch c {
	case capSessionLister:
		if _, ok := cfg.Tokens.(SessionLister); !ok {
			return fmt.Sprintf("Config.Tokens (%T) does not implement auth.SessionLister", cfg.Tokens)
		}
	case capOneTimeTokens:
		if _, ok := cfg.Tokens.(OneTimeTokenStore); !ok {
			return fmt.Sprintf("Config.Tokens (%T) does not implement auth.OneTimeTokenStore", cfg.Tokens)
		}
	case capEmailVerifier:
		if _, ok := cfg.Users.(EmailVerifier); !ok {
			return fmt.Sprintf("Config.Users (%T) does not implement auth.EmailVerifier", cfg.Users)
		}
	case capMailer:
		if cfg.Mail.Mailer == nil {
			return "no Config.Mail.Mailer"
		}
	}
	return ""
}

// checkCapabilities fails when a setting asks for something the stores
// cannot do: a Mailer (password reset issues one-time tokens and ends every
// session) or SendVerificationEmail/RequireVerifiedEmail (verification
// tokens, and a way to record a verified address). A store wrapper that
// embeds UserStore or TokenStore hides the optional interfaces of what it
// wraps, which is the usual cause. When the configuration can work, it logs
// once, at Info, the lifecycle routes that answer NOT_IMPLEMENTED and why.
func checkCapabilities(cfg *Config) error {
	var errs []error
	need := func(setting string, caps ...capability) {
		for _, c := range caps {
			if why := c.missing(cfg); why != "" {
				errs = append(errs, fmt.Errorf("auth: %s, which %s needs", why, setting))
			}
		}
	}
	if cfg.Mail.Mailer != nil {
		need("Config.Mail.Mailer (password reset)", capOneTimeTokens, capSessionLister)
	}
	switch {
	case cfg.Mail.SendVerificationEmail:
		need("Config.Mail.SendVerificationEmail", capOneTimeTokens, capEmailVerifier)
	case cfg.Mail.RequireVerifiedEmail:
		need("Config.Mail.RequireVerifiedEmail", capOneTimeTokens, capEmailVerifier)
	}
	if _, ok := cfg.Users.(OrgStore); cfg.Organizations.Required && !ok {
		errs = append(errs, fmt.Errorf("auth: Config.Users (%T) does not implement auth.OrgStore, which Config.Organizations.Required needs", cfg.Users))
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	var off []slog.Attr
	for _, r := range lifecycleRoutes {
		var why []string
		for _, c := range r.needs {
			if w := c.missing(cfg); w != "" {
				why = append(why, w)
			}
		}
		if len(why) > 0 {
			off = append(off, slog.String(r.route, strings.Join(why, "; ")))
		}
	}
	if len(off) > 0 {
		cfg.Logger.LogAttrs(context.Background(), slog.LevelInfo, "auth: account-lifecycle routes off, they answer 501 NOT_IMPLEMENTED", off...)
	}
	return nil
}
