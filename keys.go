package auth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	"github.com/golang-jwt/jwt/v5"

	"github.com/ingestiq/auth/internal/jose"
)

// Asymmetric keys for access tokens.
//
// Each key is bound to exactly one algorithm, which follows from its type:
// Ed25519 signs EdDSA, ECDSA on P-256 signs ES256 and RSA signs RS256. A
// token names its key by "kid", the key's RFC 7638 thumbprint; the
// algorithm a token claims is never used to pick a key, only checked
// against the key's.

var errKeyMismatch = errors.New("auth: the private key does not match its public key")

// ParsePrivateKeyPEM parses a PEM-encoded PKCS#8 private key ("PRIVATE
// KEY", as written by openssl genpkey) for [KeyConfig.SigningKey]: Ed25519,
// ECDSA on P-256, or RSA of at least 2048 bits. The PEM data may go on
// with the key's own public key ("PUBLIC KEY"), which must then match it.
//
// It returns an error naming the problem for anything else: another kind of
// PEM block (a public key, a certificate, an encrypted or PKCS#1/SEC 1 key,
// with the openssl command that converts it), another key type, an RSA key
// under 2048 bits, an elliptic curve other than P-256, or a public key that
// does not belong to the private key.
func ParsePrivateKeyPEM(data []byte) (crypto.Signer, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New(`auth: no PEM block found; want a PKCS#8 "PRIVATE KEY" (openssl genpkey -algorithm ed25519 -out key.pem)`)
	}
	switch block.Type {
	case "PRIVATE KEY":
	case "ENCRYPTED PRIVATE KEY":
		return nil, errors.New("auth: the private key is encrypted; decrypt it first: openssl pkey -in key.pem -out plain.pem")
	case "RSA PRIVATE KEY", "EC PRIVATE KEY":
		return nil, fmt.Errorf(`auth: %q is a PKCS#1/SEC 1 key; convert it to PKCS#8: openssl pkcs8 -topk8 -nocrypt -in old.pem -out key.pem`, block.Type)
	case "PUBLIC KEY", "CERTIFICATE", "RSA PUBLIC KEY":
		return nil, fmt.Errorf(`auth: the PEM block is a %q, not a private key; want a PKCS#8 "PRIVATE KEY"`, block.Type)
	default:
		return nil, fmt.Errorf(`auth: unexpected PEM block %q; want a PKCS#8 "PRIVATE KEY"`, block.Type)
	}
	if len(block.Headers) > 0 {
		return nil, errors.New("auth: the private key PEM block has headers (an encrypted legacy key?); want a plain PKCS#8 key")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: parse PKCS#8 private key: %w", err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("auth: unsupported private key type %T; want Ed25519, ECDSA P-256 or RSA (at least %d bits)", k, jose.MinRSABits)
	}
	if _, err := signingMethod(signer.Public()); err != nil {
		return nil, err
	}
	for {
		block, rest = pem.Decode(rest)
		if block == nil {
			return signer, nil
		}
		if block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf(`auth: unexpected PEM block %q after the private key; only its own "PUBLIC KEY" may follow`, block.Type)
		}
		pub, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("auth: parse the public key after the private key: %w", err)
		}
		if !publicKeysEqual(signer.Public(), pub) {
			return nil, errors.New("auth: the PUBLIC KEY block does not belong to the PRIVATE KEY (mismatched key pair)")
		}
	}
}

// ParsePublicKeyPEM parses a PEM-encoded PKIX public key ("PUBLIC KEY", as
// written by openssl pkey -pubout) for [KeyConfig.VerifyKeys]: Ed25519, ECDSA
// on P-256, or RSA of at least 2048 bits. It returns an error naming the
// problem for anything else, including a private key, which is refused
// rather than reduced to its public half so that private material is never
// configured where only public keys belong.
func ParsePublicKeyPEM(data []byte) (crypto.PublicKey, error) {
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errors.New(`auth: no PEM block found; want a "PUBLIC KEY" (openssl pkey -in key.pem -pubout -out pub.pem)`)
	}
	switch block.Type {
	case "PUBLIC KEY":
	case "PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY":
		return nil, fmt.Errorf(`auth: the PEM block is a %q; pass only its public half: openssl pkey -in key.pem -pubout -out pub.pem`, block.Type)
	case "RSA PUBLIC KEY":
		return nil, errors.New(`auth: "RSA PUBLIC KEY" is a PKCS#1 key; convert it to PKIX: openssl rsa -RSAPublicKey_in -in old.pem -pubout -out pub.pem`)
	default:
		return nil, fmt.Errorf(`auth: unexpected PEM block %q; want a PKIX "PUBLIC KEY"`, block.Type)
	}
	if next, _ := pem.Decode(rest); next != nil {
		return nil, errors.New("auth: more than one PEM block; give one public key per file")
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("auth: parse PKIX public key: %w", err)
	}
	if _, err := signingMethod(pub); err != nil {
		return nil, err
	}
	return pub, nil
}

// signingMethod returns the one algorithm a public key is used with, or an
// error for a key type, size or curve the library does not accept.
func signingMethod(pub crypto.PublicKey) (jwt.SigningMethod, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("auth: Ed25519 public key of %d bytes; want %d", len(k), ed25519.PublicKeySize)
		}
		return jwt.SigningMethodEdDSA, nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			return nil, errors.New("auth: empty ECDSA public key")
		}
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("auth: ECDSA curve %s is not supported; only P-256 (ES256)", k.Curve.Params().Name)
		}
		if _, err := k.Bytes(); err != nil {
			return nil, fmt.Errorf("auth: invalid ECDSA P-256 public key: %w", err)
		}
		return jwt.SigningMethodES256, nil
	case *rsa.PublicKey:
		if k == nil || k.N == nil {
			return nil, errors.New("auth: empty RSA public key")
		}
		switch bits := k.N.BitLen(); {
		case bits < jose.MinRSABits:
			return nil, fmt.Errorf("auth: RSA key of %d bits is too weak; at least %d bits are required", bits, jose.MinRSABits)
		case bits > jose.MaxRSABits:
			return nil, fmt.Errorf("auth: RSA key of %d bits is larger than the %d bits supported", bits, jose.MaxRSABits)
		}
		if k.E < 3 || k.E%2 == 0 {
			return nil, fmt.Errorf("auth: RSA public exponent %d is invalid", k.E)
		}
		return jwt.SigningMethodRS256, nil
	case nil:
		return nil, errors.New("auth: nil public key")
	default:
		return nil, fmt.Errorf("auth: unsupported key type %T; want Ed25519, ECDSA P-256 or RSA (at least %d bits)", pub, jose.MinRSABits)
	}
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	e, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && e.Equal(b)
}

// signingKey is the asymmetric key that signs access tokens.
type signingKey struct {
	method jwt.SigningMethod
	key    crypto.Signer
	pub    crypto.PublicKey
	kid    string
}

// newSigningKey checks a Config.Keys.SigningKey: a supported type and size, and
// private and public halves that belong together (a signature made with
// one verifies with the other).
func newSigningKey(s crypto.Signer) (*signingKey, error) {
	pub, err := publicOf(s)
	if err != nil {
		return nil, err
	}
	m, err := signingMethod(pub)
	if err != nil {
		return nil, fmt.Errorf("auth: Config.Keys.SigningKey: %w", err)
	}
	switch s.(type) {
	case ed25519.PrivateKey, *ecdsa.PrivateKey, *rsa.PrivateKey:
	default:
		// golang-jwt signs ES256 and RS256 only with the concrete key
		// types; Ed25519 with any crypto.Signer (an HSM, say).
		if m != jwt.SigningMethodEdDSA {
			return nil, fmt.Errorf("auth: Config.Keys.SigningKey: %T is not supported for %s; pass the *ecdsa.PrivateKey or *rsa.PrivateKey itself", s, m.Alg())
		}
	}
	if err := checkKeyPair(m, s); err != nil {
		return nil, fmt.Errorf("auth: Config.Keys.SigningKey: %w", err)
	}
	kid, _, err := jwkOf(pub, m)
	if err != nil {
		return nil, fmt.Errorf("auth: Config.Keys.SigningKey: %w", err)
	}
	return &signingKey{method: m, key: s, pub: pub, kid: kid}, nil
}

// publicOf returns s.Public(), which panics for a typed nil key such as
// (*ecdsa.PrivateKey)(nil): New reports that as an error instead.
func publicOf(s crypto.Signer) (pub crypto.PublicKey, err error) {
	defer func() {
		if recover() != nil {
			pub, err = nil, errors.New("auth: Config.Keys.SigningKey is an empty key")
		}
	}()
	return s.Public(), nil
}

// checkKeyPair signs a fixed message with s and verifies it with s's public
// key. A hand-built key whose halves do not belong together fails here, at
// New, rather than issuing tokens nobody can verify. Some such keys make
// crypto/ed25519 panic; that counts as a mismatch.
func checkKeyPair(m jwt.SigningMethod, s crypto.Signer) (err error) {
	defer func() {
		if recover() != nil {
			err = errKeyMismatch
		}
	}()
	const msg = "github.com/ingestiq/auth signing key check"
	sig, err := m.Sign(msg, s)
	if err != nil {
		return fmt.Errorf("cannot sign with it: %w", err)
	}
	if m.Verify(msg, sig, s.Public()) != nil {
		return errKeyMismatch
	}
	return nil
}

// jwk is one public key of a JWK Set (RFC 7517, RFC 7518 §6, RFC 8037).
// It has no member for private or symmetric material.
type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
}

// jwkOf returns the public key as a JWK and its kid: the RFC 7638
// thumbprint, base64url(SHA-256) of the key's required members in
// lexicographic order, so that the same key always has the same kid.
func jwkOf(pub crypto.PublicKey, m jwt.SigningMethod) (string, *jwk, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	j := &jwk{Alg: m.Alg(), Use: "sig"}
	var canonical string
	switch k := pub.(type) {
	case ed25519.PublicKey:
		j.Kty, j.Crv, j.X = "OKP", "Ed25519", b64(k)
		canonical = `{"crv":"Ed25519","kty":"OKP","x":"` + j.X + `"}`
	case *ecdsa.PublicKey:
		point, err := k.Bytes() // 0x04 || X || Y, each 32 bytes on P-256
		if err != nil || len(point) != 65 {
			return "", nil, errors.New("invalid ECDSA P-256 public key")
		}
		j.Kty, j.Crv, j.X, j.Y = "EC", "P-256", b64(point[1:33]), b64(point[33:])
		canonical = `{"crv":"P-256","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`
	case *rsa.PublicKey:
		j.Kty, j.N, j.E = "RSA", b64(k.N.Bytes()), b64(big.NewInt(int64(k.E)).Bytes())
		canonical = `{"e":"` + j.E + `","kty":"RSA","n":"` + j.N + `"}`
	default:
		return "", nil, fmt.Errorf("unsupported key type %T", pub)
	}
	sum := sha256.Sum256([]byte(canonical))
	j.Kid = b64(sum[:])
	return j.Kid, j, nil
}

// KeyConfig holds the keys that sign and verify access tokens beyond
// [Config.Secret]. Zero fields mean their documented default.
type KeyConfig struct {
	// SigningKey, when set, signs access tokens in place of Secret, so that
	// other services can verify them with public keys alone (see
	// [Authenticator.JWKSHandler] and package verifier). It must be an
	// ed25519.PrivateKey (EdDSA), an *ecdsa.PrivateKey on P-256 (ES256) or an
	// *rsa.PrivateKey of at least 2048 bits (RS256), whose halves match, or
	// New fails; [ParsePrivateKeyPEM] loads one. Each token names it by its
	// kid, the key's RFC 7638 thumbprint. Refresh tokens are still keyed by
	// Secret. The default is nil: access tokens are HS256 with Secret and
	// carry no kid.
	SigningKey crypto.Signer

	// VerifyKeys are further public keys (ed25519.PublicKey, *ecdsa.PublicKey
	// on P-256 or *rsa.PublicKey of at least 2048 bits) whose access tokens
	// are still accepted, and which JWKSHandler publishes: the previous
	// signing key during a rotation, or the next one before it takes over.
	// A token is matched to its key by kid alone, and must use that key's
	// one algorithm. [ParsePublicKeyPEM] loads one. The default is none.
	VerifyKeys []crypto.PublicKey
}
