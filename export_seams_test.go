package auth

import "net/http"

// HeaderTransport is a throwaway transport for the seam test: it reads the
// access token from one header and hands issued tokens out in others,
// leaving them out of the JSON body. It is test code: it proves that a
// transport is one implementation of the transport seam.
type HeaderTransport struct {
	AccessHeader, IssuedAccessHeader, IssuedRefreshHeader string
}

func (t HeaderTransport) check(*http.Request) error { return nil }

func (t HeaderTransport) accessToken(r *http.Request) (string, error) {
	if v := r.Header.Get(t.AccessHeader); v != "" {
		return v, nil
	}
	return "", ErrUnauthorized
}

func (t HeaderTransport) refreshToken(*http.Request) (string, error) { return "", nil }

func (t HeaderTransport) deviceToken(*http.Request) string { return "" }

func (t HeaderTransport) issue(w http.ResponseWriter, _ *http.Request, tok issuedTokens) issuedTokens {
	w.Header().Set(t.IssuedAccessHeader, tok.Access)
	w.Header().Set(t.IssuedRefreshHeader, tok.Refresh)
	tok.Access, tok.Refresh, tok.Device = "", "", ""
	return tok
}

func (t HeaderTransport) clear(http.ResponseWriter, *http.Request) {}

// SetTransport replaces a's transport, before a serves anything.
func SetTransport(a *Authenticator, t HeaderTransport) { a.transport = t }
