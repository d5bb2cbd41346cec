// Package auth tells who a request's credential names: an API token that
// folio issued (kept as a hash in a file beside the database), or a JWT
// signed by a key the configuration names. The server's edge asks it once
// per request and hands the principal to the engine in the request's
// context; what a principal may read is the engine's to decide.
package auth

import (
	"fmt"
	"strings"

	"folio/engine"
)

// Authenticator verifies credentials. The zero value knows no token and
// no key: every credential it is shown is invalid.
type Authenticator struct {
	Tokens *Tokens // nil: API tokens are not accepted
	JWTs   *JWTs   // nil: JWTs are not accepted
}

// Authenticate returns the principal that credential (a bearer token's
// value) names. Every failure wraps ErrInvalidToken.
func (a *Authenticator) Authenticate(credential string) (engine.Principal, error) {
	switch {
	case a == nil:
	case strings.HasPrefix(credential, TokenPrefix) && a.Tokens != nil:
		return a.Tokens.Verify(credential)
	case strings.Count(credential, ".") == 2 && a.JWTs != nil:
		return a.JWTs.Verify(credential)
	}
	return engine.Principal{}, fmt.Errorf("%w: this server issued no such token", ErrInvalidToken)
}
