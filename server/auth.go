package server

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"folio/auth"
	"folio/baseurl"
	"folio/config"
	"folio/engine"
	"folio/httperr"
)

// queryTokenParam is the query parameter that carries a token where a
// dialect's clients send it there (Copernica's access_token).
const queryTokenParam = "access_token"

// failedAuths counts each client address's failed authentications in a
// token bucket: while its bucket is empty, the address's credentials are
// not even looked at, so that guessing tokens is slowed to the bucket's
// rate.
type failedAuths struct {
	limits *rateLimits
	rate   *config.Rate
}

func newFailedAuths(r config.Rate) *failedAuths {
	return &failedAuths{limits: newRateLimits(&r, nil), rate: &r}
}

// blocked reports how long client must wait before its credentials are
// looked at again; 0: not blocked.
func (f *failedAuths) blocked(client string, now time.Time) time.Duration {
	l := f.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.bucket(bucketKey{client: client}, f.rate, now)
	if b.TokensAt(now) >= 1 {
		return 0
	}
	return time.Duration((1 - b.TokensAt(now)) / float64(b.Limit()) * float64(time.Second))
}

// failed counts a failed authentication of client.
func (f *failedAuths) failed(client string, now time.Time) {
	l := f.limits
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bucket(bucketKey{client: client}, f.rate, now).AllowN(now, 1)
}

// authenticate puts the principal of the request's credential in its
// context for the engine (engine.WithPrincipal); a request without one is
// anonymous. A credential is a bearer token (Authorization: Bearer), or,
// where queryToken is set, the access_token query parameter, which is then
// taken out of the request so that no link, cache key or log repeats it.
// A bad or expired credential is a 401 with WWW-Authenticate in the
// mount's error shape, never the anonymous answer: a client that means to
// authenticate learns that it did not. Failed authentications are counted
// per client address (failedAuths).
func authenticate(a *auth.Authenticator, fails *failedAuths, queryToken bool, errs *httperr.Writer) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			cred, r, err := credential(r, queryToken)
			if err == nil && cred == "" {
				if p, ok := certificate(r); ok {
					// A client certificate the TLS handshake verified
					// against the configured authorities.
					r = r.WithContext(engine.WithPrincipal(r.Context(), p))
				}
				next.ServeHTTP(w, r)
				return
			}
			client, now := baseurl.ClientOf(r), time.Now()
			if wait := fails.blocked(client, now); wait > 0 {
				w.Header().Set("Retry-After", strconv.Itoa(max(1, seconds(wait))))
				errs.Error(w, r, &engine.Error{Code: engine.CodeRateLimited, Message: fmt.Sprintf(
					"too many failed authentications from this address (%d per %v); retry after %v",
					fails.rate.Requests, fails.rate.Per, wait.Round(time.Millisecond))})
				return
			}
			var p engine.Principal
			if err == nil {
				p, err = a.Authenticate(cred)
			}
			if err != nil {
				if !errors.Is(err, auth.ErrInvalidToken) {
					errs.Error(w, r, fmt.Errorf("authenticate: %w", err)) // the token file cannot be read: folio's fault
					return
				}
				fails.failed(client, now)
				w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+strings.ReplaceAll(err.Error(), `"`, `'`)+`"`)
				errs.Error(w, r, &engine.Error{Code: engine.CodeUnauthorized, Message: err.Error() +
					"; send a valid token as Authorization: Bearer TOKEN, or none to be answered as anonymous"})
				return
			}
			next.ServeHTTP(w, r.WithContext(engine.WithPrincipal(r.Context(), p)))
		})
	}
}

// credential returns the bearer token of r, if any, and r without the
// access_token parameter when queryToken is set. Two credentials, or an
// Authorization header of another scheme, are an invalid request.
func credential(r *http.Request, queryToken bool) (string, *http.Request, error) {
	var creds []string
	for _, h := range r.Header.Values("Authorization") {
		scheme, value, _ := strings.Cut(strings.TrimSpace(h), " ")
		switch {
		case strings.EqualFold(scheme, "Bearer"):
			creds = append(creds, strings.TrimSpace(value))
		case strings.EqualFold(scheme, "Basic"):
			// For clients of services that take HTTP Basic (DataCite's
			// repositories): the password is the token, the user name
			// whatever the client sends.
			b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
			_, password, ok := strings.Cut(string(b), ":")
			if err != nil || !ok {
				return "", r, fmt.Errorf("%w: Basic credentials that are not base64 of user:password", auth.ErrInvalidToken)
			}
			creds = append(creds, password)
		default:
			return "", r, fmt.Errorf("%w: this server takes Bearer and Basic credentials", auth.ErrInvalidToken)
		}
	}
	if queryToken && strings.Contains(r.URL.RawQuery, queryTokenParam) {
		var kept []string
		for _, pair := range strings.Split(r.URL.RawQuery, "&") {
			k, v, _ := strings.Cut(pair, "=")
			if name, err := url.QueryUnescape(k); err != nil || name != queryTokenParam {
				kept = append(kept, pair)
				continue
			}
			value, err := url.QueryUnescape(v)
			if err != nil {
				value = v
			}
			creds = append(creds, value)
		}
		u := *r.URL
		u.RawQuery = strings.Join(kept, "&")
		r = r.WithContext(r.Context())
		r.URL, r.RequestURI = &u, u.RequestURI()
	}
	switch {
	case len(creds) > 1:
		return "", r, fmt.Errorf("%w: the request carries %d credentials; send one", auth.ErrInvalidToken, len(creds))
	case len(creds) == 1 && creds[0] == "":
		return "", r, fmt.Errorf("%w: the credential is empty", auth.ErrInvalidToken)
	case len(creds) == 1:
		return creds[0], r, nil
	}
	return "", r, nil
}

// certificate returns the principal of r's verified TLS client certificate
// (GOCDB's model): its subject's distinguished name, without roles.
func certificate(r *http.Request) (engine.Principal, bool) {
	if r.TLS == nil || len(r.TLS.VerifiedChains) == 0 || len(r.TLS.VerifiedChains[0]) == 0 {
		return engine.Principal{}, false
	}
	return engine.Principal{Subject: r.TLS.VerifiedChains[0][0].Subject.String()}, true
}
