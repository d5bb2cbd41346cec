package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"folio/auth"
	"folio/config"
	"folio/internal/demodb"
)

// authDemo serves the demo as folio serve does, with entries under a rule
// (public entries to everyone, every entry to the role admin) and
// profiles' database_id field seen by the role admin alone; tokens are
// verified against store, failed authentications bounded by fails.
func authDemo(t *testing.T, store *auth.Tokens, fails *config.Rate, cacheBytes int64) *httptest.Server {
	t.Helper()
	b, err := os.ReadFile("../config/demo.yaml")
	if err != nil {
		t.Fatal(err)
	}
	y := strings.Replace(string(b), "  entries:\n    default_sort: -upload_create_time\n",
		"  entries:\n    default_sort: -upload_create_time\n    access:\n      rule: public = true OR 'admin' IN $roles\n", 1)
	cfg, err := config.Parse([]byte(y), "demo-access.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Collections["entries"].Access == nil {
		t.Fatal("the demo configuration's entries moved: no access added")
	}
	e := demodb.Open(t, demodb.Shared(t, demodb.Rows).Path, cfg)
	log, _ := newLogger()
	srv, err := New(Options{Engine: e, Mounts: cfg.MountList(), Logger: log, CacheBytes: cacheBytes,
		Auth: &auth.Authenticator{Tokens: store}, AuthFailures: fails})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func fetchAs(t *testing.T, target, authorization string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestPageCacheByPrincipal: the page cache keeps one page per principal;
// the same URL asked by the anonymous principal and by an admin is
// answered from the cache for each, never with the other's page.
func TestPageCacheByPrincipal(t *testing.T) {
	store := auth.OpenTokens(filepath.Join(t.TempDir(), "tokens"))
	admin, _, err := store.Create("root", []string{"admin"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	ts := authDemo(t, store, nil, 0)
	const page = "/v1/entries?limit=1000&fields=public&total=exact"
	count := func(body string) (total, private int) {
		var p struct {
			Data []struct {
				Public bool `json:"public"`
			} `json:"data"`
			Page struct {
				Total int `json:"total"`
			} `json:"page"`
		}
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatalf("%v: %.200s", err, body)
		}
		for _, d := range p.Data {
			if !d.Public {
				private++
			}
		}
		return p.Page.Total, private
	}
	for round := range 2 {
		_, anon := fetchAs(t, ts.URL+page, "")
		_, mine := fetchAs(t, ts.URL+page, "Bearer "+admin)
		anonTotal, anonPrivate := count(anon)
		adminTotal, adminPrivate := count(mine)
		if anonPrivate != 0 || anonTotal >= adminTotal || adminPrivate == 0 {
			t.Fatalf("round %d: anonymous sees %d entries (%d private), admin %d (%d private)", round, anonTotal, anonPrivate, adminTotal, adminPrivate)
		}
	}
	// Nor does one principal's ETag validate another's page: the admin
	// showing the anonymous page's tag gets its own page, not a 304.
	resp, _ := fetchAs(t, ts.URL+page, "")
	tag := resp.Header.Get("ETag")
	if tag == "" {
		t.Fatal("no ETag on a page")
	}
	req, _ := http.NewRequest(http.MethodGet, ts.URL+page, nil)
	req.Header.Set("Authorization", "Bearer "+admin)
	req.Header.Set("If-None-Match", tag)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusOK || r2.Header.Get("ETag") == tag {
		t.Errorf("the admin with the anonymous page's tag: %d, tag %q", r2.StatusCode, r2.Header.Get("ETag"))
	}
}

// TestUnauthorizedShapes: a bad credential is a 401 with WWW-Authenticate
// in every mount's own error shape, never the anonymous answer.
func TestUnauthorizedShapes(t *testing.T) {
	ts := authDemo(t, auth.OpenTokens(filepath.Join(t.TempDir(), "tokens")), nil, -1)
	bad := "Bearer folio_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	for _, c := range []struct{ path, shape string }{
		{"/v1/entries", `{"error":{"status":401,"code":"unauthorized","message":"the token is not valid`},
		{"/v2/database/42/profiles?start=0&limit=1", `{"error":{"message":"the token is not valid`},
		{"/dois?page[size]=1", `{"errors":[{"status":"401","title":"Unauthorized","detail":"the token is not valid`},
		{"/api/v1/entries?page_size=1", `{"detail":"the token is not valid`},
		{"/gocdbpi/public/?method=get_downtime", `<error>the token is not valid`},
	} {
		resp, body := fetchAs(t, ts.URL+c.path, bad)
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(body, c.shape) ||
			!strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `Bearer error="invalid_token"`) {
			t.Errorf("%s: %d %q, WWW-Authenticate %q; want 401 %s…", c.path, resp.StatusCode, body, resp.Header.Get("WWW-Authenticate"), c.shape)
		}
	}
	for _, cred := range []string{"Basic dXNlcjpwYXNz", "Bearer ", "Bearer a.b.c"} {
		if resp, body := fetchAs(t, ts.URL+"/v1/entries", cred); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%q: %d %s", cred, resp.StatusCode, body)
		}
	}
}

// TestCopernicaAccessToken: Copernica's clients send their token as
// access_token; it is taken out of the request, so that no link repeats it.
func TestCopernicaAccessToken(t *testing.T) {
	store := auth.OpenTokens(filepath.Join(t.TempDir(), "tokens"))
	tok, _, err := store.Create("ann", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ts := authDemo(t, store, nil, 0)
	resp, body := fetchAs(t, ts.URL+"/v2/database/42/profiles?start=0&limit=2&access_token="+tok, "")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, tok) || strings.Contains(body, "access_token") {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	resp, body = fetchAs(t, ts.URL+"/v2/database/42/profiles?start=0&limit=2&access_token=folio_nope", "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a bad access_token: %d %s", resp.StatusCode, body)
	}
	resp, body = fetchAs(t, ts.URL+"/v2/database/42/profiles?start=0&limit=2&access_token="+tok, "Bearer "+tok)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "2 credentials") {
		t.Fatalf("two credentials: %d %s", resp.StatusCode, body)
	}
	// Elsewhere access_token is no credential, and an unknown parameter.
	resp, body = fetchAs(t, ts.URL+"/v1/profiles?access_token="+tok, "")
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("native access_token: %d %s", resp.StatusCode, body)
	}
}

// TestFailedAuthenticationsSlowed: past its allowance of failures, an
// address's credentials are not looked at (429 with Retry-After, a valid
// token included) while anonymous requests and other addresses go on.
func TestFailedAuthenticationsSlowed(t *testing.T) {
	store := auth.OpenTokens(filepath.Join(t.TempDir(), "tokens"))
	tok, _, err := store.Create("ann", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	ts := authDemo(t, store, &config.Rate{Requests: 3, Per: 3600e9, Burst: 3}, -1)
	bad := "Bearer folio_" + strings.Repeat("B", 43)
	for i := range 3 {
		if resp, body := fetchAs(t, ts.URL+"/v1/entries?limit=1", bad); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("failure %d: %d %s", i+1, resp.StatusCode, body)
		}
	}
	for _, cred := range []string{bad, "Bearer " + tok} {
		resp, body := fetchAs(t, ts.URL+"/v1/entries?limit=1", cred)
		if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" || !strings.Contains(body, "failed authentications") {
			t.Fatalf("after 3 failures: %d %s", resp.StatusCode, body)
		}
	}
	if resp, body := fetchAs(t, ts.URL+"/v1/entries?limit=1", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("anonymous after the failures: %d %s", resp.StatusCode, body)
	}
}

// TestREADMEAccess serves the demo with the README's access example
// (its auth keys left out: they name files of the reader's): anonymous
// readers get public entries only and no program_name.
func TestREADMEAccess(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "## Access control")
	if !ok {
		t.Fatal("README has no Access control section")
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("the Access control section has no yaml block")
	}
	block, _, _ = strings.Cut(block, "auth:\n")
	cfg, err := config.Parse([]byte(block), "README.md")
	if err != nil {
		t.Fatal(err)
	}
	ts := demoWith(t, cfg)
	resp, body := fetchAs(t, ts.URL+"/v1/entries?limit=1000", "")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, `"public":false`) || strings.Contains(body, "program_name") || !strings.Contains(body, `"public":true`) {
		t.Fatalf("%d %.300s", resp.StatusCode, body)
	}
	// The whole block, auth included, is a valid configuration.
	if _, err := config.Parse([]byte(rest[:strings.Index(rest, "```")]), "README.md"); err != nil {
		t.Fatal(err)
	}
}
