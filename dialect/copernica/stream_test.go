package copernica

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
)

// watchedSource is the real SQLite source with counters around it: how
// often Count runs, how many rows queries emit, when a query returns; and
// optionally a gate that holds a query after gateAt rows until released.
type watchedSource struct {
	engine.Source
	counts   atomic.Int64
	rows     atomic.Int64
	gateAt   int64
	gate     chan struct{}
	returned chan error // one value per finished Query
}

func (s *watchedSource) Count(ctx context.Context, c *engine.Collection, f []engine.Cond) (int64, error) {
	s.counts.Add(1)
	return s.Source.Count(ctx, c, f)
}

func (s *watchedSource) Query(ctx context.Context, plan *engine.Plan, emit func(engine.Row) error) error {
	err := s.Source.Query(ctx, plan, func(row engine.Row) error {
		if n := s.rows.Add(1); s.gate != nil && n == s.gateAt {
			<-s.gate
		}
		return emit(row)
	})
	if s.returned != nil {
		s.returned <- err
	}
	return err
}

// watched serves mount m over src, wrapped in a watchedSource, with cfg.
func watched(t *testing.T, src engine.Source, cfg *config.Config, m config.Mount) (*watchedSource, http.Handler) {
	t.Helper()
	ws := &watchedSource{Source: src}
	return ws, demodb.Handler(t, New, demodb.NewEngine(t, ws, cfg), m)
}

// TestTotalFalseSkipsCount: total=false really skips the COUNT, on both
// hosts; the default runs it (so the counter does count).
func TestTotalFalseSkipsCount(t *testing.T) {
	for _, m := range []config.Mount{demoMount(t), streamMount(t)} {
		ws, h := watched(t, newFixture(t).e.Source(), config.Demo(), m)
		for _, q := range []string{"total=false", "total=0&start=10", "total=no&fields[]=city%3D%3DUtrecht", "total=false&limit=0"} {
			rec := get(h, m.Path+"/database/42/profiles?"+q)
			if rec.Code != 200 || strings.Contains(rec.Body.String(), `"total"`) {
				t.Fatalf("%s?%s: status %d, body %s", m.Path, q, rec.Code, truncate(rec.Body.String()))
			}
		}
		if n := ws.counts.Load(); n != 0 {
			t.Errorf("%s: total=false ran %d counts", m.Path, n)
		}
		if rec := get(h, m.Path+"/database/42/profiles?limit=1"); rec.Code != 200 || ws.counts.Load() != 1 {
			t.Errorf("%s: default total ran %d counts, want 1", m.Path, ws.counts.Load())
		}
	}
}

var contactsStream = config.Mount{Dialect: config.Copernica, Path: "/stream/v2", Collection: "contacts", Options: map[string]string{OptionStream: "true"}}

// TestStreamChunked: a streamed response of 20,000 profiles comes chunked,
// without Content-Length, over a real connection; the page host answers
// with a Content-Length.
func TestStreamChunked(t *testing.T) {
	contacts, _ := contactsEngine(t)
	srv := httptest.NewServer(demodb.Handler(t, New, contacts, contactsStream))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/stream/v2/database/1/profiles?limit=25000")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if len(resp.TransferEncoding) != 1 || resp.TransferEncoding[0] != "chunked" {
		t.Errorf("Transfer-Encoding %v, want chunked", resp.TransferEncoding)
	}
	if resp.ContentLength != -1 || resp.Header.Get("Content-Length") != "" {
		t.Errorf("Content-Length %d %q on a stream", resp.ContentLength, resp.Header.Get("Content-Length"))
	}
	// Decoded into a narrow struct: 20,000 maps are slow under -race.
	var e struct {
		Limit, Count int
		Total        *int
		NextID       *int64
		Data         []struct{ ID string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
		t.Fatal(err)
	}
	if e.Count != bulkRows || len(e.Data) != bulkRows || *e.Total != bulkRows || e.Limit != 25000 || e.NextID != nil {
		t.Fatalf("count %d rows %d total %v limit %d nextid %v", e.Count, len(e.Data), e.Total, e.Limit, e.NextID)
	}
	for i, p := range e.Data {
		if want := int64(i + 1); p.ID != strconv.FormatInt(want, 10) {
			t.Fatalf("row %d: ID %v", i, p.ID)
		}
	}

	// nextid on a stream: the row after the last one asked for.
	resp2, err := http.Get(srv.URL + "/stream/v2/database/1/profiles?start=100&limit=15000&total=false")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var e2 struct {
		Count  int
		Total  *int
		NextID *int64
	}
	if err := json.NewDecoder(resp2.Body).Decode(&e2); err != nil {
		t.Fatal(err)
	}
	if e2.Count != 15000 || e2.NextID == nil || *e2.NextID != 15101 || e2.Total != nil {
		t.Errorf("count %d nextid %v total %v", e2.Count, e2.NextID, e2.Total)
	}

	psrv := httptest.NewServer(demodb.Handler(t, New, contacts, config.Mount{Dialect: config.Copernica, Path: "/v2", Collection: "contacts"}))
	defer psrv.Close()
	presp, err := http.Get(psrv.URL + "/v2/database/1/profiles?limit=25000")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, presp.Body)
	presp.Body.Close()
	if presp.ContentLength <= 0 || len(presp.TransferEncoding) != 0 {
		t.Errorf("page host: Content-Length %d, Transfer-Encoding %v", presp.ContentLength, presp.TransferEncoding)
	}
}

// TestStreamDisconnect: a client that hangs up mid-stream stops the query.
// The first pass counts the 20,000 rows (total=false); the source then
// holds the second, which sends them, after 2,000 rows until the client is
// gone; that query must end well before its 20,000th row.
func TestStreamDisconnect(t *testing.T) {
	e, cfg := contactsEngine(t)
	ws, h := watched(t, e.Source(), cfg, contactsStream)
	ws.gateAt, ws.gate, ws.returned = bulkRows+2000, make(chan struct{}), make(chan error, 4)
	srv := httptest.NewServer(h)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/stream/v2/database/1/profiles?limit=100000&total=false")
	if err != nil {
		t.Fatal(err)
	}
	// Read the start of the stream: rows are arriving.
	head := make([]byte, 4096)
	if _, err := io.ReadFull(bufio.NewReader(resp.Body), head); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(head), `{"start":0,"limit":100000,"count":20000,"data":[{"ID":"1"`) {
		t.Fatalf("stream starts %q", head[:80])
	}
	resp.Body.Close()                  // hang up: an unread body closes the connection
	time.Sleep(100 * time.Millisecond) // let the server notice
	close(ws.gate)

	if err := <-ws.returned; err != nil {
		t.Fatalf("the counting pass failed: %v", err)
	}
	select {
	case err := <-ws.returned:
		if err == nil {
			t.Error("query ended without an error after the client left")
		}
		t.Logf("query returned %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("query still running 10s after the client left")
	}
	if n := ws.rows.Load() - bulkRows; n >= bulkRows {
		t.Errorf("query read all %d rows after the client left", n)
	} else {
		t.Logf("query stopped after %d of %d rows", n, bulkRows)
	}
}

// TestStreamSameAsPage: within the page host's cap, the streaming host
// answers with the very bytes of the page host, count in its place before
// the data; only the transfer differs.
func TestStreamSameAsPage(t *testing.T) {
	env := newFixture(t)
	for _, q := range []string{
		"", "limit=3", "limit=3&total=no", "start=1695&limit=10", "start=1695&limit=10&total=false", "start=5000",
		"start=1700&total=false", "limit=0", "limit=0&total=no", "orderby=city&order=desc&limit=7&start=20",
		"fields[]=city%3D%3DUtrecht&limit=1000", "fields[]=ID%3E1000000&total=no", "dataonly=true&limit=2",
	} {
		page := get(env.page, "/v2/database/42/profiles?"+q)
		stream := get(env.stream, "/stream/v2/database/42/profiles?"+q)
		if page.Code != 200 || stream.Code != 200 || page.Body.String() != stream.Body.String() {
			t.Errorf("?%s: page host %d %s\nstreaming host %d %s", q, page.Code, truncate(page.Body.String()), stream.Code, truncate(stream.Body.String()))
		}
	}
}

// shrinkingSource loses rows between a stream's two passes: its second
// query, the one that sends profiles, ends after keep rows, as if the
// others had been deleted after they were counted.
type shrinkingSource struct {
	engine.Source
	queries atomic.Int64
	keep    int
}

func (s *shrinkingSource) Query(ctx context.Context, plan *engine.Plan, emit func(engine.Row) error) error {
	if s.queries.Add(1) == 1 {
		return s.Source.Query(ctx, plan, emit)
	}
	n := 0
	err := s.Source.Query(ctx, plan, func(row engine.Row) error {
		if n == s.keep {
			return errStop
		}
		n++
		return emit(row)
	})
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

var errStop = errors.New("stop")

// TestStreamCutWhenRowsVanish: a stream whose rows shrink after the count
// announced them is cut, never ended with a count its data contradicts.
func TestStreamCutWhenRowsVanish(t *testing.T) {
	e, cfg := contactsEngine(t)
	for _, q := range []string{"limit=5000&total=false", "limit=5000"} {
		src := &shrinkingSource{Source: e.Source(), keep: 3000}
		if q == "limit=5000" {
			src.queries.Store(1) // the total is a Count, not a Query: the first query sends
		}
		srv := httptest.NewServer(demodb.Handler(t, New, demodb.NewEngine(t, src, cfg), contactsStream))
		resp, err := http.Get(srv.URL + "/stream/v2/database/1/profiles?" + q)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		srv.Close()
		if err == nil {
			t.Errorf("?%s: a complete response of %d bytes, ending %q; want it cut", q, len(body), body[max(0, len(body)-40):])
		} else if !strings.Contains(string(body[:80]), `"count":5000`) {
			t.Errorf("?%s: starts %q", q, body[:80])
		}
	}
}
