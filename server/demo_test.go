package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
)

func TestMain(m *testing.M) { os.Exit(demodb.Main(m)) }

// TestDemoMounts serves the demo database with the demo configuration,
// as `folio serve` does, and asks every mounted dialect for a page: the
// wiring from config/demo.yaml to the dialects must hold.
func TestDemoMounts(t *testing.T) {
	ts := demoServer(t, demodb.Shared(t, demodb.Rows).Engine, config.Demo().MountList())

	for _, c := range []struct {
		method, path, body, contentType, contains string
	}{
		{"GET", "/v1", "", "application/json", `"entries"`},
		{"GET", "/v1/entries?limit=5&sort=-upload_create_time", "", "application/json", `"next_cursor"`},
		{"POST", "/api/v1/entries/query", `{"query":{"results.material.elements":{"all":["O"]}},"pagination":{"page_size":5,"order_by":"upload_create_time","order":"desc"}}`, "application/json", `"next_page_after_value"`},
		{"GET", "/api/v1/entries?page_size=5", "", "application/json", `"next_page_url"`},
		{"GET", "/v2/database/42/profiles?start=0&limit=1000", "", "application/json", `"total":1700`},
		{"GET", "/stream/v2/database/42/profiles?limit=1700", "", "application/json", `"count":1700`},
		{"GET", "/dois?page[size]=5", "", "application/vnd.api+json", `"totalPages"`},
		{"GET", "/dois?page[cursor]=1&page[size]=5", "", "application/vnd.api+json", `page%5Bcursor%5D=`},
		{"GET", "/gocdbpi/public/?method=get_downtime&next_cursor=0", "", "xml", `<max_page_size>100</max_page_size>`},
	} {
		req, _ := http.NewRequest(c.method, ts.URL+c.path, strings.NewReader(c.body))
		if c.body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s: status %d: %.300s", c.method, c.path, resp.StatusCode, b)
			continue
		}
		if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, c.contentType) {
			t.Errorf("%s %s: content type %q, want %q", c.method, c.path, ct, c.contentType)
		}
		if !strings.Contains(string(b), c.contains) {
			t.Errorf("%s %s: body lacks %s: %.300s", c.method, c.path, c.contains, b)
		}
	}
}

// demoServer serves e with mounts, as `folio serve` does, until the test
// ends.
func demoServer(t *testing.T, e *engine.Engine, mounts []config.Mount) *httptest.Server {
	t.Helper()
	log, _ := newLogger()
	srv, err := New(Options{Engine: e, Mounts: mounts, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(describedOnly(t, srv.Handler()))
	t.Cleanup(ts.Close)
	return ts
}

// demoWith serves the demo database the test binary shares with cfg, as
// `folio serve --config` does.
func demoWith(t *testing.T, cfg *config.Config) *httptest.Server {
	t.Helper()
	return demoServer(t, demodb.Open(t, demodb.Shared(t, demodb.Rows).Path, cfg), cfg.MountList())
}

// TestREADMEMounts holds the README's example of mounting every dialect to
// what folio accepts: the block must parse, apply and serve.
func TestREADMEMounts(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "## Dialects")
	if !ok {
		t.Fatal("README has no Dialects section")
	}
	_, rest, ok = strings.Cut(rest, "```yaml\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("the Dialects section has no yaml block")
	}
	cfg, err := config.Parse([]byte(block), "README.md")
	if err != nil {
		t.Fatal(err)
	}
	ts := demoWith(t, cfg)
	for _, path := range []string{"/v1/entries", "/api/v1/entries", "/v2/database/42/profiles", "/stream/v2/database/42/profiles", "/dois", "/gocdbpi/public/?method=get_downtime&next_cursor=0"} {
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", path, resp.StatusCode)
		}
	}
}

// TestGOCDBMethodsShareAPath mounts two gocdb methods on one path, as GOCDB
// serves all of its methods: the method parameter picks the collection.
func TestGOCDBMethodsShareAPath(t *testing.T) {
	cfg, err := config.Parse([]byte(`mounts:
  - dialect: gocdb
    path: /gocdbpi/public
    collection: downtimes
    options: {method: get_downtime}
  - dialect: gocdb
    path: /gocdbpi/public
    collection: profiles
    options: {method: get_profile}
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ts := demoWith(t, cfg)
	for method, element := range map[string]string{"get_downtime": "<DOWNTIME ", "get_profile": "<PROFILE "} {
		resp, err := http.Get(ts.URL + "/gocdbpi/public/?method=" + method + "&next_cursor=0")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), element) {
			t.Errorf("%s: status %d, body %.200s", method, resp.StatusCode, b)
		}
	}
	if _, err := config.Parse([]byte("mounts:\n  - {dialect: jsonapi, path: /x, collection: dois}\n  - {dialect: gocdb, path: /x, collection: downtimes, options: {method: get_downtime}}\n"), "bad.yaml"); err == nil {
		t.Error("a gocdb mount sharing a jsonapi mount's path was accepted")
	}
}
