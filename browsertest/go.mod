module github.com/ingestiq/auth/browsertest

go 1.26.0

replace github.com/ingestiq/auth => ../

require github.com/go-rod/rod v0.116.2

require (
	github.com/go-jose/go-jose/v4 v4.1.4 // indirect
	github.com/ysmood/fetchup v0.2.3 // indirect
	github.com/ysmood/goob v0.4.0 // indirect
	github.com/ysmood/got v0.40.0 // indirect
	github.com/ysmood/gson v0.7.3 // indirect
	github.com/ysmood/leakless v0.9.0 // indirect
)

require github.com/ingestiq/auth/oidc v0.0.0

replace github.com/ingestiq/auth/oidc => ../oidc
