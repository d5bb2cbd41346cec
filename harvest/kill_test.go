package harvest

import (
	"bytes"
	"errors"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"folio/internal/demotest"
)

// TestKillAndResume builds the folio command, runs `folio harvest` against
// the real server, kills it (SIGKILL) at random moments and starts it again
// with the same checkpoint until it completes: the output holds every
// record exactly once.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the folio command")
	}
	bin := filepath.Join(t.TempDir(), "folio")
	build := exec.Command("go", "build", "-o", bin, "folio/cmd/folio")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ts, e := demoServer(t)
	up, _ := url.Parse(ts.URL)
	rp := httputil.NewSingleHostReverseProxy(up)
	rp.ErrorLog = log.New(io.Discard, "", 0) // killed clients make the proxy complain
	// Slow pages give the kills time to land mid-harvest.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(10 * time.Millisecond)
		rp.ServeHTTP(w, r)
	}))
	defer slow.Close()

	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(uint64(seed), 5))
	for _, c := range []struct {
		name       string
		args       []string
		key        string
		collection string
		filters    url.Values
		keyOrder   bool // the output is in key order
	}{
		{"native", []string{slow.URL + "/v1/entries?sort=-upload_create_time", "--page-size", "25", "--checkpoint-every", "100ms"}, "entry_id", "entries", nil, false},
		{"nomad", []string{slow.URL + "/api/v1/entries/query", "--dialect", "nomad", "--page-size", "20", "--checkpoint-every", "0", "--data", `{"pagination":{"order_by":"upload_create_time"}}`}, "entry_id", "entries", url.Values{"public": {"true"}}, false},
		{"native parallel", []string{slow.URL + "/v1/entries?sort=-upload_create_time", "--parallel", "3", "--page-size", "10", "--checkpoint-every", "100ms"}, "entry_id", "entries", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			out, cp := filepath.Join(dir, "out.ndjson"), filepath.Join(dir, "cp.json")
			args := append([]string{"harvest"}, c.args...)
			args = append(args, "--out", out, "--checkpoint", cp)
			kills := 0
			for run := 0; ; run++ {
				if run > 50 {
					t.Fatal("the harvest did not complete in 50 runs")
				}
				cmd := exec.Command(bin, args...)
				var stderr bytes.Buffer
				cmd.Stderr = &stderr
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() { done <- cmd.Wait() }()
				var err error
				if kills < 5 {
					select {
					case err = <-done:
					case <-time.After(time.Duration(50+rng.IntN(400)) * time.Millisecond):
						cmd.Process.Kill()
						<-done
						kills++
						continue
					}
				} else {
					err = <-done
				}
				if err != nil {
					var ee *exec.ExitError
					if errors.As(err, &ee) {
						t.Fatalf("run %d: %v\n%s", run, err, stderr.Bytes())
					}
					t.Fatal(err)
				}
				t.Logf("%d kills; the last run: %s", kills, bytes.TrimSpace(stderr.Bytes()))
				break
			}
			if kills < 2 {
				t.Errorf("only %d kills landed before the harvest completed", kills)
			}
			got := fileKeys(t, out, c.key)
			demotest.ExactlyOnce(t, got, demotest.Keys(t, e, c.collection, c.filters))
			if c.keyOrder && !slices.IsSorted(got) {
				t.Error("the output is not in key order")
			}
			if parts, _ := filepath.Glob(out + ".part-*"); len(parts) != 0 {
				t.Errorf("parts left behind: %v", parts)
			}
		})
	}
}
