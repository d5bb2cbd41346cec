package postgres

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"testing"
	"time"

	"folio/dialect/native"
	"folio/internal/pgtest"
	"folio/source/conformance"
)

// TestRestartMidHarvest stops PostgreSQL in the middle of a harvest through
// the native API: while it is down the next page answers 503 with
// Retry-After, and once it is back the same cursor URL resumes the harvest
// with nothing lost or repeated. The pool recovers by itself.
func TestRestartMidHarvest(t *testing.T) {
	const rows, limit = 400, 25
	srv := pgtest.StartServer(t)
	u := srv.CreateDB(t)
	w := writer(t, u)
	if _, err := w.Exec(t.Context(), fmt.Sprintf(`CREATE TABLE items (id int8 PRIMARY KEY, name text NOT NULL);
		INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, %d) i`, rows)); err != nil {
		t.Fatal(err)
	}
	w.Close() // its connections would only die with the server
	src := openSource(t, u, Options{})
	h := native.New(conformance.NewEngine(t, src), native.Options{Path: "/v1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})

	type page struct {
		Data  []struct{ ID int64 } `json:"data"`
		Links map[string]string    `json:"links"`
	}
	get := func(target string) (*httptest.ResponseRecorder, page) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
		var p page
		if rec.Code == http.StatusOK {
			if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil {
				t.Fatalf("%s: %v: %s", target, err, rec.Body)
			}
		}
		return rec, p
	}
	var got []int64
	// next takes one page and returns the next link, "" at the end.
	next := func(target string, p page) string {
		for _, r := range p.Data {
			got = append(got, r.ID)
		}
		n, ok := p.Links["next"]
		if !ok {
			return ""
		}
		l, err := url.Parse(n)
		if err != nil {
			t.Fatal(err)
		}
		return l.RequestURI()
	}

	// resume retries link until PostgreSQL answers again, as a client
	// honouring Retry-After would, and returns the link after it and how
	// many attempts failed.
	resume := func(link string) (string, int) {
		for failed := 0; ; failed++ {
			rec, p := get(link)
			if rec.Code == http.StatusOK {
				return next(link, p), failed
			}
			if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
				t.Fatalf("after restart: %d %s", rec.Code, rec.Body)
			}
			if failed == 50 {
				t.Fatalf("still %d %s after %d retries", rec.Code, rec.Body, failed)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	link := fmt.Sprintf("/v1/items?sort=id&limit=%d", limit)
	// The first restart is probed while PostgreSQL is down; the second is
	// quick and unobserved, which leaves the pool's idle connections stale:
	// the source notices on the first and retries on a fresh connection, so
	// the client sees no error at all.
	restarts := []struct {
		at    int
		probe bool
	}{{rows / 2, true}, {rows * 3 / 4, false}}
	for _, r := range restarts {
		for len(got) < r.at {
			rec, p := get(link)
			if rec.Code != http.StatusOK {
				t.Fatalf("%s: %d %s", link, rec.Code, rec.Body)
			}
			link = next(link, p)
		}
		srv.Stop(t)
		if r.probe {
			for range 2 {
				rec, _ := get(link)
				var e struct{ Error struct{ Code string } }
				_ = json.Unmarshal(rec.Body.Bytes(), &e)
				if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" || e.Error.Code != "unavailable" {
					t.Fatalf("while down: %d, Retry-After %q, %s; want 503, 1, unavailable", rec.Code, rec.Header().Get("Retry-After"), rec.Body)
				}
			}
		}
		srv.Start(t)
		var failed int
		link, failed = resume(link)
		if !r.probe && failed > 0 {
			t.Fatalf("%d failed attempts after a restart the source had not seen", failed)
		}
	}
	for link != "" {
		rec, p := get(link)
		if rec.Code != http.StatusOK {
			t.Fatalf("%s: %d %s", link, rec.Code, rec.Body)
		}
		link = next(link, p)
	}
	want := make([]int64, rows)
	for i := range want {
		want[i] = int64(i + 1)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("harvest across the restart: %d ids %v, want 1..%d", len(got), got, rows)
	}
}
