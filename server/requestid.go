package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strconv"
	"sync/atomic"
)

type requestIDKey struct{}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// ids issues request ids: a random prefix per server and a counter, unique
// across restarts and nodes without a random read per request.
type ids struct {
	prefix string
	n      atomic.Uint64
}

func newIDs() *ids {
	b := make([]byte, 6)
	rand.Read(b)
	return &ids{prefix: hex.EncodeToString(b) + "-"}
}

func (g *ids) next() string { return g.prefix + strconv.FormatUint(g.n.Add(1), 10) }

// requestID gives every request an id, taken from a well-formed incoming
// X-Request-Id (set by a proxy in front) or issued here, and echoes it in
// the response so that a client can quote it.
func requestID(g *ids) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get("X-Request-Id")
			if !validID(id) {
				id = g.next()
			}
			w.Header().Set("X-Request-Id", id)
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id)))
		})
	}
}

// validID accepts short ids of safe characters only, since ids are logged.
func validID(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':') {
			return false
		}
	}
	return true
}
