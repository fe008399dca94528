package verifier

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ingestiq/auth/internal/jose"
)

// Limits on what a key set may hold.
const (
	maxJWKSBytes = 1 << 20 // a JWK Set larger than this is refused
	maxKidBytes  = 256
)

// keySet is a fetched JWK Set: its usable keys by kid, and when it is due
// for a refresh.
type keySet struct {
	keys    map[string]*jose.PublicKey
	expires time.Time
}

// fetch gets and parses the key set, within Timeout.
func (v *Verifier) fetch(ctx context.Context) (*keySet, error) {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("verifier: GET %s: status %d", v.url, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("verifier: GET %s: %w", v.url, err)
	}
	if len(body) > maxJWKSBytes {
		return nil, fmt.Errorf("verifier: GET %s: the key set is larger than %d bytes", v.url, maxJWKSBytes)
	}
	keys, err := v.parseSet(body)
	if err != nil {
		return nil, fmt.Errorf("verifier: GET %s: %w", v.url, err)
	}
	return &keySet{keys: keys, expires: v.now().Add(v.cacheAge(resp.Header))}, nil
}

// cacheAge is how long a key set fetched with the response header h is
// used: its Cache-Control max-age (no-store and no-cache count as 0), or
// DefaultCacheAge without one, kept between MinRefreshInterval and
// MaxCacheAge.
func (v *Verifier) cacheAge(h http.Header) time.Duration {
	age, noCache := DefaultCacheAge, false
	for _, value := range h.Values("Cache-Control") {
		for directive := range strings.SplitSeq(value, ",") {
			name, arg, _ := strings.Cut(strings.TrimSpace(directive), "=")
			switch strings.ToLower(strings.TrimSpace(name)) {
			case "no-store", "no-cache":
				noCache = true
			case "max-age":
				if n, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(arg), `"`), 10, 64); err == nil && n >= 0 {
					age = time.Duration(min(n, int64(MaxCacheAge/time.Second))) * time.Second
				}
			}
		}
	}
	if noCache {
		age = 0
	}
	return min(max(age, v.minInterval), MaxCacheAge)
}

// jwkJSON is a JWK as published. D and K are read only to notice private
// or symmetric material that should never have been published.
type jwkJSON struct {
	Kty    string          `json:"kty"`
	Crv    string          `json:"crv"`
	X      string          `json:"x"`
	Y      string          `json:"y"`
	N      string          `json:"n"`
	E      string          `json:"e"`
	Kid    string          `json:"kid"`
	Alg    string          `json:"alg"`
	Use    string          `json:"use"`
	KeyOps []string        `json:"key_ops"`
	D      json.RawMessage `json:"d"`
	K      json.RawMessage `json:"k"`
}

// parseSet parses a JWK Set and returns its usable signature keys by kid.
// Keys of other types, algorithms or uses, and keys without a kid, are
// skipped; a kid given twice makes the whole set unusable, since either
// key could be meant.
func (v *Verifier) parseSet(body []byte) (map[string]*jose.PublicKey, error) {
	var set struct {
		Keys *[]json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil || set.Keys == nil {
		return nil, errors.New("the response is not a JWK Set")
	}
	keys := make(map[string]*jose.PublicKey, len(*set.Keys))
	for i, raw := range *set.Keys {
		var j jwkJSON
		if err := json.Unmarshal(raw, &j); err != nil {
			v.log.Warn("verifier: skipping a malformed key", "url", v.url, "index", i)
			continue
		}
		k, err := parseKey(&j, v.parsers)
		if errors.Is(err, errPrivateJWK) {
			v.log.Error("verifier: the key set publishes private or symmetric key material; skipping that key", "url", v.url, "index", i)
			continue
		}
		if err != nil {
			// Keys for other uses or algorithms may share the set.
			v.log.Debug("verifier: skipping a key", "url", v.url, "index", i, "reason", err.Error())
			continue
		}
		if _, dup := keys[k.Kid]; dup {
			return nil, fmt.Errorf("the kid %q is given to two keys", k.Kid)
		}
		keys[k.Kid] = k
	}
	return keys, nil
}

var b64 = base64.RawURLEncoding.Strict()

var errPrivateJWK = errors.New("it holds private or symmetric material")

// parseKey returns the key of a JWK, bound to its one algorithm and that
// algorithm's parser, or why it cannot be used.
func parseKey(j *jwkJSON, parsers map[string]*jwt.Parser) (*jose.PublicKey, error) {
	switch {
	case len(j.D) > 0 || len(j.K) > 0:
		return nil, errPrivateJWK
	case j.Kid == "" || len(j.Kid) > maxKidBytes:
		return nil, errors.New("it has no usable kid")
	case j.Use != "" && j.Use != "sig":
		return nil, errors.New("it is not a signature key")
	case j.KeyOps != nil && !slices.Contains(j.KeyOps, "verify"):
		return nil, errors.New("it is not a verification key")
	}
	var (
		m   jwt.SigningMethod
		key crypto.PublicKey
	)
	switch j.Kty {
	case "OKP":
		x, err := b64.DecodeString(j.X)
		if j.Crv != "Ed25519" || err != nil || len(x) != ed25519.PublicKeySize {
			return nil, errors.New("not an Ed25519 key")
		}
		m, key = jwt.SigningMethodEdDSA, ed25519.PublicKey(x)
	case "EC":
		x, errX := b64.DecodeString(j.X)
		y, errY := b64.DecodeString(j.Y)
		if j.Crv != "P-256" || errX != nil || errY != nil || len(x) != 32 || len(y) != 32 {
			return nil, errors.New("not a P-256 key")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, errors.New("not a point on P-256")
		}
		m, key = jwt.SigningMethodES256, pub
	case "RSA":
		n, errN := b64.DecodeString(j.N)
		e, errE := b64.DecodeString(j.E)
		if errN != nil || errE != nil || len(n) == 0 || n[0] == 0 || len(e) == 0 || len(e) > 4 || e[0] == 0 {
			return nil, errors.New("not an RSA key")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if bits := pub.N.BitLen(); bits < jose.MinRSABits || bits > jose.MaxRSABits {
			return nil, fmt.Errorf("an RSA key of %d bits", bits)
		}
		if pub.E < 3 || pub.E%2 == 0 {
			return nil, errors.New("an invalid RSA exponent")
		}
		m, key = jwt.SigningMethodRS256, pub
	default:
		return nil, fmt.Errorf("key type %q is not accepted", j.Kty)
	}
	if j.Alg != "" && j.Alg != m.Alg() {
		return nil, fmt.Errorf("algorithm %q is not accepted for this key", j.Alg)
	}
	return jose.NewPublicKey(j.Kid, m, key, parsers[m.Alg()]), nil
}
