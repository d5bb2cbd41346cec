package demotest

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"folio/config"
	"folio/internal/demodb"
)

func TestMain(m *testing.M) { os.Exit(demodb.Main(m)) }

// TestServe: one server per demo database, serving every mount of
// config/demo.yaml over the engine Serve returns.
func TestServe(t *testing.T) {
	ts, e := Serve(t, 100)
	again, e2 := Serve(t, 100)
	if again != ts || e2 != e || e != demodb.Shared(t, 100).Engine {
		t.Fatal("a second Serve started another server or engine")
	}
	for _, m := range config.Demo().MountList() {
		target := m.Path
		switch m.Dialect {
		case config.Copernica:
			target += "/database/42/profiles"
		case config.GOCDB:
			target += "/?method=" + m.Options["method"]
		}
		resp, err := http.Get(ts.URL + target)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s mount %s: GET %s: status %d", m.Dialect, m.Path, target, resp.StatusCode)
		}
	}
	keys := Keys(t, e, "downtimes", nil)
	if len(keys) < 100 || keys[0] != "1" {
		t.Errorf("Keys: %d keys starting %v", len(keys), keys[:min(3, len(keys))])
	}
	if !strings.HasPrefix(ts.URL, "http://127.0.0.1:") {
		t.Errorf("server at %s, want a loopback listener", ts.URL)
	}
}
