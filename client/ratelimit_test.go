package client

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
	"folio/internal/demotest"
	"folio/server"
)

// TestRateLimitedHarvest: a harvest through a rate limit that it meets
// several times completes with every record once, waiting as Retry-After
// says.
func TestRateLimitedHarvest(t *testing.T) {
	d := demodb.Shared(t, demodb.Rows)
	ts := rateLimited(t, d.Engine, &config.Rate{Requests: 20, Per: time.Second, Burst: 5})
	c := New(Options{MaxRetries: 20})
	cp, err := Start(Request{URL: ts.URL + "/v1/dois?limit=200&fields=id"}, Native, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	start := time.Now()
	for p, err := range c.Pages(context.Background(), cp) {
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Records {
			var rec struct{ ID string }
			if err := json.Unmarshal(r, &rec); err != nil {
				t.Fatal(err)
			}
			got = append(got, rec.ID)
		}
	}
	demotest.ExactlyOnce(t, got, demotest.Keys(t, d.Engine, "dois", nil))
	if c.Retries() == 0 {
		t.Errorf("the harvest of %d records in %v never met the limit: the test proves nothing", len(got), time.Since(start))
	}
	t.Logf("%d records in %v, %d requests answered 429 and retried", len(got), time.Since(start), c.Retries())
}

func rateLimited(t *testing.T, e *engine.Engine, r *config.Rate) *httptest.Server {
	t.Helper()
	srv, err := server.New(server.Options{Engine: e, Mounts: config.Demo().MountList(), Logger: demodb.Quiet(), RateLimit: r})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}
