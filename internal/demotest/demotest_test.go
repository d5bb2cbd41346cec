package demotest

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"folio/internal/demodb"
)

func TestMain(m *testing.M) { os.Exit(demodb.Main(m)) }

// TestServe: one server per demo database, serving config/demo.yaml's
// mounts over the engine Serve returns.
func TestServe(t *testing.T) {
	ts, e := Serve(t, 100)
	again, e2 := Serve(t, 100)
	if again != ts || e2 != e || e != demodb.Shared(t, 100).Engine {
		t.Fatal("a second Serve started another server or engine")
	}
	// One dialect is enough here: server's TestDemoMounts asks every one.
	resp, err := http.Get(ts.URL + "/gocdbpi/public/?method=get_downtime")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.Count(string(b), "<DOWNTIME ") != len(Keys(t, e, "downtimes", nil)) {
		t.Errorf("get_downtime: status %d, %d downtimes", resp.StatusCode, strings.Count(string(b), "<DOWNTIME "))
	}
	keys := Keys(t, e, "downtimes", nil)
	if len(keys) < 100 || keys[0] != "1" {
		t.Errorf("Keys: %d keys starting %v", len(keys), keys[:min(3, len(keys))])
	}
	if !strings.HasPrefix(ts.URL, "http://127.0.0.1:") {
		t.Errorf("server at %s, want a loopback listener", ts.URL)
	}
}
