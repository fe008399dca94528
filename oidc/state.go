package oidc

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// stateCookieName is the cookie that binds a sign-in to the browser that
// started it: HttpOnly, SameSite=Lax (so that it comes back with the
// provider's top-level redirect), Path=<mount>/oidc/, for Config.StateTTL.
const stateCookieName = "auth-oidc-state"

// flowState is what the state cookie carries, sealed with AES-256-GCM
// under a key derived from Config.Secret: no one but the server can read
// or forge it.
type flowState struct {
	Provider string `json:"p"`
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	LinkUser string `json:"l,omitempty"` // set when a signed-in user links
	Expires  int64  `json:"e"`           // Unix seconds
}

// cookieSpec is where the state cookie lives.
type cookieSpec struct {
	path   string
	secure bool
}

var errBadState = errors.New("oidc: bad state")

func (m *Module) aead() cipher.AEAD {
	block, err := aes.NewCipher(m.key)
	if err != nil {
		panic(err) // a 32-byte key never fails
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return g
}

// seal encodes st for the cookie.
func (m *Module) seal(st *flowState) string {
	plain, _ := json.Marshal(st)
	g := m.aead()
	nonce := make([]byte, g.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(g.Seal(nonce, nonce, plain, []byte(stateCookieName)))
}

// open decodes a cookie value sealed by seal, checking its expiry.
func (m *Module) open(v string, now time.Time) (*flowState, error) {
	raw, err := base64.RawURLEncoding.DecodeString(v)
	g := m.aead()
	if err != nil || len(raw) < g.NonceSize() {
		return nil, errBadState
	}
	plain, err := g.Open(nil, raw[:g.NonceSize()], raw[g.NonceSize():], []byte(stateCookieName))
	if err != nil {
		return nil, errBadState
	}
	var st flowState
	if json.Unmarshal(plain, &st) != nil || now.Unix() >= st.Expires {
		return nil, errBadState
	}
	return &st, nil
}

// setState starts a flow: it sets the cookie.
func (m *Module) setState(w http.ResponseWriter, st *flowState) {
	http.SetCookie(w, &http.Cookie{
		Name: stateCookieName, Value: m.seal(st), Path: m.cookie.path,
		MaxAge: int(m.cfg.StateTTL / time.Second), HttpOnly: true, Secure: m.cookie.secure, SameSite: http.SameSiteLaxMode,
	})
}

// takeState reads and clears the flow's cookie and checks it against the
// provider and the state parameter the browser came back with.
func (m *Module) takeState(w http.ResponseWriter, r *http.Request, name string) (*flowState, error) {
	http.SetCookie(w, &http.Cookie{
		Name: stateCookieName, Value: "", Path: m.cookie.path,
		MaxAge: -1, HttpOnly: true, Secure: m.cookie.secure, SameSite: http.SameSiteLaxMode,
	})
	c, err := r.Cookie(stateCookieName)
	if err != nil {
		return nil, errBadState
	}
	st, err := m.open(c.Value, m.cfg.Now())
	if err != nil {
		return nil, err
	}
	got := r.URL.Query().Get("state")
	if st.Provider != name || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(st.State)) != 1 {
		return nil, errBadState
	}
	return st, nil
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
