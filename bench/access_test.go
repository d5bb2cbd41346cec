package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"folio/auth"
	"folio/config"
	"folio/internal/demodb"
	"folio/server"
	"folio/source/sqlite"
)

// BenchmarkAccessPages walks 100-row pages of entries, 20 pages deep by
// their next links, page cache off, three ways over the same file in the
// same run: anonymous requests with no access rule (the baseline), and
// requests under a row rule (public entries, or those of the caller's own
// upload, or all for the role admin) made with a folio token and with a
// JWT. The ratios are the rule's pages/s over the baseline's.
func BenchmarkAccessPages(b *testing.B) {
	path := demoDB(b)
	src, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { src.Close() })

	plain := config.Demo()
	open := newAccessServer(b, src, plain, nil)

	y, err := os.ReadFile("../config/demo.yaml")
	if err != nil {
		b.Fatal(err)
	}
	ruled, err := config.Parse([]byte(strings.Replace(string(y), "  entries:\n    default_sort: -upload_create_time\n",
		"  entries:\n    default_sort: -upload_create_time\n    access:\n      rule: public = true OR upload_id = $subject OR 'admin' IN $roles\n", 1)), "access.yaml")
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	secretFile := filepath.Join(dir, "jwt")
	secret := "bench-jwt-secret-0123456789abcdef-0123"
	if err := os.WriteFile(secretFile, []byte(secret), 0o600); err != nil {
		b.Fatal(err)
	}
	jwts, err := auth.NewJWTs(config.JWT{SecretFile: secretFile})
	if err != nil {
		b.Fatal(err)
	}
	store := auth.OpenTokens(filepath.Join(dir, "tokens"))
	token, _, err := store.Create("ann", []string{"staff"}, 0)
	if err != nil {
		b.Fatal(err)
	}
	jwtToken, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": "ann", "roles": []string{"staff"},
		"exp": time.Now().Add(24 * time.Hour).Unix()}).SignedString([]byte(secret))
	if err != nil {
		b.Fatal(err)
	}
	closed := newAccessServer(b, src, ruled, &auth.Authenticator{Tokens: store, JWTs: jwts})

	const pages = 20
	walk := func(h http.Handler, authorization string) time.Duration {
		target := "/v1/entries?limit=100"
		start := time.Now()
		for range pages {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			if authorization != "" {
				req.Header.Set("Authorization", authorization)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
			var p struct {
				Links map[string]string `json:"links"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				b.Fatal(err)
			}
			u, err := url.Parse(p.Links["next"])
			if err != nil {
				b.Fatal(err)
			}
			target = u.RequestURI()
		}
		return time.Since(start)
	}
	walk(open, "") // warm-up
	walk(closed, "Bearer "+token)
	var tOpen, tToken, tJWT time.Duration
	b.ResetTimer()
	for range b.N {
		tOpen += walk(open, "")
		tToken += walk(closed, "Bearer "+token)
		tJWT += walk(closed, "Bearer "+jwtToken)
	}
	n := float64(b.N * pages)
	b.ReportMetric(n/tOpen.Seconds(), "anon_pages/s")
	b.ReportMetric(n/tToken.Seconds(), "token_rule_pages/s")
	b.ReportMetric(n/tJWT.Seconds(), "jwt_rule_pages/s")
	b.ReportMetric(tOpen.Seconds()/tToken.Seconds(), "token_ratio")
	b.ReportMetric(tOpen.Seconds()/tJWT.Seconds(), "jwt_ratio")
}

// newAccessServer serves src with cfg as folio serve does, page cache off.
func newAccessServer(tb testing.TB, src *sqlite.Source, cfg *config.Config, a *auth.Authenticator) http.Handler {
	tb.Helper()
	e := demodb.NewEngine(tb, src, cfg)
	srv, err := server.New(server.Options{Engine: e, Mounts: cfg.MountList(), Logger: demodb.Quiet(), CacheBytes: -1, Auth: a})
	if err != nil {
		tb.Fatal(err)
	}
	return srv.Handler()
}
