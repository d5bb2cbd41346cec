package postgres

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"folio/internal/pgtest"
)

// TestETagAfterWrite: on PostgreSQL, with the change signal polled, a page
// asked again with its ETag is a 304 without a query while nothing is
// written; after a write, once the poll has seen it (settle), the same
// If-None-Match gets a 200 with the new row and a new ETag.
func TestETagAfterWrite(t *testing.T) {
	ctx := context.Background()
	u := pgtest.StartServer(t).CreateDB(t)
	w := writer(t, u)
	if _, err := w.Exec(ctx, `CREATE TABLE items (id int8 PRIMARY KEY, name text NOT NULL);
		INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1000, 1049) i`); err != nil {
		t.Fatal(err)
	}
	src := openSource(t, u, Options{})
	settle(t, src, w)
	counted := &queryCounter{Source: src}
	ts := serveHTTP(t, counted, 0)
	get := func(inm string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", ts.URL+"/v1/items?sort=id&limit=5", nil)
		if inm != "" {
			req.Header.Set("If-None-Match", inm)
		}
		resp, err := ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	resp := get("")
	resp.Body.Close()
	tag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || tag == "" {
		t.Fatalf("status %d, ETag %q", resp.StatusCode, tag)
	}
	n := counted.queries.Load()
	for range 3 {
		resp := get(tag)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotModified || resp.Header.Get("ETag") != tag {
			t.Fatalf("unchanged: status %d, ETag %q, want 304 %s", resp.StatusCode, resp.Header.Get("ETag"), tag)
		}
	}
	if got := counted.queries.Load(); got != n {
		t.Errorf("the 304s ran %d queries", got-n)
	}
	if _, err := w.Exec(ctx, `INSERT INTO items VALUES (1, 'new')`); err != nil {
		t.Fatal(err)
	}
	settle(t, src, w) // the poll has seen the write
	resp = get(tag)
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(body.String(), `"new"`) {
		t.Fatalf("after the write: status %d: %s", resp.StatusCode, body.String())
	}
	if nt := resp.Header.Get("ETag"); nt == "" || nt == tag {
		t.Errorf("after the write: ETag %q, before %q", nt, tag)
	}
}
