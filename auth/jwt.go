package auth

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"folio/config"
	"folio/engine"
)

// maxJWT bounds the JWT a request may carry: a header of a few kilobytes
// is plenty, and parsing costs grow with it.
const maxJWT = 8 << 10

// JWTs verifies bearer JWTs against configured keys: an HS256 secret,
// RS256 and ES256 public keys from PEM files or a JWKS file. The signature,
// exp and nbf are always checked (exp is required), iss and aud when
// configured; the subject and roles come from the configured claims.
type JWTs struct {
	secret  []byte
	rsa     []keyed[*rsa.PublicKey]
	ecdsa   []keyed[*ecdsa.PublicKey]
	parser  *jwt.Parser
	subject string
	roles   []string // the path of the roles claim
}

type keyed[K any] struct {
	kid string // "" for a key from a PEM file: tried for every token
	key K
}

// NewJWTs reads the keys c names.
func NewJWTs(c config.JWT) (*JWTs, error) {
	return newJWTs(c, time.Now)
}

func newJWTs(c config.JWT, now func() time.Time) (*JWTs, error) {
	j := &JWTs{subject: c.SubjectClaim, roles: strings.Split(c.RolesClaim, ".")}
	if j.subject == "" {
		j.subject = "sub"
	}
	if c.RolesClaim == "" {
		j.roles = []string{"roles"}
	}
	var methods []string
	if c.SecretFile != "" {
		b, err := readKeyFile(c.SecretFile)
		if err != nil {
			return nil, err
		}
		j.secret = []byte(strings.TrimRight(string(b), "\r\n"))
		if len(j.secret) < 32 {
			return nil, fmt.Errorf("jwt: %s: an HS256 secret needs at least 32 bytes, got %d", c.SecretFile, len(j.secret))
		}
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	for _, path := range c.PublicKeys {
		b, err := readKeyFile(path)
		if err != nil {
			return nil, err
		}
		if k, err := jwt.ParseRSAPublicKeyFromPEM(b); err == nil {
			j.rsa = append(j.rsa, keyed[*rsa.PublicKey]{key: k})
			continue
		}
		k, err := jwt.ParseECPublicKeyFromPEM(b)
		if err != nil || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("jwt: %s holds no RSA or P-256 ECDSA public key in PEM", path)
		}
		j.ecdsa = append(j.ecdsa, keyed[*ecdsa.PublicKey]{key: k})
	}
	if c.JWKSFile != "" {
		b, err := readKeyFile(c.JWKSFile)
		if err != nil {
			return nil, err
		}
		if err := j.addJWKS(b); err != nil {
			return nil, fmt.Errorf("jwt: %s: %w", c.JWKSFile, err)
		}
	}
	if len(j.rsa) > 0 {
		methods = append(methods, jwt.SigningMethodRS256.Alg())
	}
	if len(j.ecdsa) > 0 {
		methods = append(methods, jwt.SigningMethodES256.Alg())
	}
	if len(methods) == 0 {
		return nil, errors.New("jwt: no keys: give secret_file, public_keys or jwks_file")
	}
	opts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithExpirationRequired(), jwt.WithTimeFunc(now),
		jwt.WithLeeway(c.Leeway), jwt.WithStrictDecoding()}
	if c.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.Issuer))
	}
	if c.Audience != "" {
		opts = append(opts, jwt.WithAudience(c.Audience))
	}
	j.parser = jwt.NewParser(opts...)
	return j, nil
}

func readKeyFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("jwt: %w", err)
	}
	return b, nil
}

// jwk is one key of a JSON Web Key Set, as far as folio reads it.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// addJWKS adds the RSA and P-256 keys of a JWKS for signatures; other keys
// (encryption keys, other curves) are left out, and a set with none is an
// error.
func (j *JWTs) addJWKS(b []byte) error {
	var set struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return fmt.Errorf("not a JSON Web Key Set: %w", err)
	}
	n := 0
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		switch {
		case k.Kty == "RSA" && (k.Alg == "" || k.Alg == "RS256"):
			nb, err1 := base64.RawURLEncoding.DecodeString(k.N)
			eb, err2 := base64.RawURLEncoding.DecodeString(k.E)
			if err1 != nil || err2 != nil || len(nb) < 256 || len(eb) == 0 || len(eb) > 4 {
				return fmt.Errorf("key %d (%q): not an RSA public key of 2048 bits or more", i, k.Kid)
			}
			e := int(new(big.Int).SetBytes(eb).Int64())
			j.rsa = append(j.rsa, keyed[*rsa.PublicKey]{k.Kid, &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: e}})
			n++
		case k.Kty == "EC" && k.Crv == "P-256" && (k.Alg == "" || k.Alg == "ES256"):
			xb, err1 := base64.RawURLEncoding.DecodeString(k.X)
			yb, err2 := base64.RawURLEncoding.DecodeString(k.Y)
			if err1 != nil || err2 != nil || len(xb) != 32 || len(yb) != 32 {
				return fmt.Errorf("key %d (%q): not a P-256 public key", i, k.Kid)
			}
			// The uncompressed point form checks that the point is on the curve.
			pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, xb...), yb...))
			if err != nil {
				return fmt.Errorf("key %d (%q): %w", i, k.Kid, err)
			}
			j.ecdsa = append(j.ecdsa, keyed[*ecdsa.PublicKey]{k.Kid, pub})
			n++
		}
	}
	if n == 0 {
		return errors.New("no RS256 or ES256 signing key")
	}
	return nil
}

// keys returns the keys that may have signed t: the secret for HS256, the
// key its kid names, or every key of its algorithm when it names none.
func (j *JWTs) keys(t *jwt.Token) (any, error) {
	kid, _ := t.Header["kid"].(string)
	switch t.Method.Alg() {
	case jwt.SigningMethodHS256.Alg():
		return j.secret, nil
	case jwt.SigningMethodRS256.Alg():
		return pick(j.rsa, kid)
	case jwt.SigningMethodES256.Alg():
		return pick(j.ecdsa, kid)
	}
	return nil, errors.New("unexpected signing method")
}

func pick[K any](ks []keyed[K], kid string) (jwt.VerificationKeySet, error) {
	var set jwt.VerificationKeySet
	for _, k := range ks {
		if kid == "" || k.kid == "" || k.kid == kid {
			set.Keys = append(set.Keys, k.key)
		}
	}
	if len(set.Keys) == 0 {
		return set, fmt.Errorf("no key with kid %q", kid)
	}
	return set, nil
}

// Verify returns the principal of a JWT: the subject claim and the roles
// claim (a list of strings, or one string of roles separated by spaces).
// Every failure is ErrInvalidToken wrapping the reason, which the client
// is told.
func (j *JWTs) Verify(token string) (engine.Principal, error) {
	if len(token) > maxJWT {
		return engine.Principal{}, fmt.Errorf("%w: longer than %d bytes", ErrInvalidToken, maxJWT)
	}
	claims := jwt.MapClaims{}
	if _, err := j.parser.ParseWithClaims(token, claims, j.keys); err != nil {
		return engine.Principal{}, fmt.Errorf("%w: %s", ErrInvalidToken, reason(err))
	}
	sub, _ := claims[j.subject].(string)
	if sub == "" {
		return engine.Principal{}, fmt.Errorf("%w: no %q claim naming the subject", ErrInvalidToken, j.subject)
	}
	p := engine.Principal{Subject: sub}
	var v any = map[string]any(claims)
	for _, step := range j.roles {
		m, _ := v.(map[string]any)
		v = m[step]
	}
	switch r := v.(type) {
	case nil:
	case string:
		p.Roles = strings.Fields(r)
	case []any:
		for _, x := range r {
			s, ok := x.(string)
			if !ok || strings.TrimSpace(s) == "" {
				return engine.Principal{}, fmt.Errorf("%w: claim %q holds a role that is no word", ErrInvalidToken, strings.Join(j.roles, "."))
			}
			p.Roles = append(p.Roles, s)
		}
	default:
		return engine.Principal{}, fmt.Errorf("%w: claim %q is neither a list of roles nor a string", ErrInvalidToken, strings.Join(j.roles, "."))
	}
	return p, nil
}

// reason says why a JWT was refused, in words a client can act on,
// without repeating the token.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return "it has expired"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return "it is not valid yet (nbf)"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return "it has no exp claim"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "its issuer (iss) is not the one this server accepts"
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return "its audience (aud) is not this server"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid), errors.Is(err, jwt.ErrTokenUnverifiable):
		return "its signature does not verify with this server's keys"
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "it is malformed"
	}
	return "it cannot be verified"
}
