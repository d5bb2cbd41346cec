package server

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"folio/config"
	"folio/dialect/native"
	"folio/engine"
	"folio/internal/demodb"
)

func TestNegotiate(t *testing.T) {
	for _, c := range []struct {
		method, header string
		want           string
	}{
		{"GET", "", ""},
		{"GET", "gzip", "gzip"},
		{"GET", "x-gzip", "gzip"},
		{"GET", "zstd", "zstd"},
		{"GET", "gzip, zstd", "zstd"}, // equal weights: zstd
		{"GET", "zstd, gzip, br", "zstd"},
		{"GET", "gzip;q=1.0, zstd;q=0.5", "gzip"},
		{"GET", "GZIP;Q=0.8, Zstd;q=0.9", "zstd"},
		{"GET", "gzip;q=0, zstd;q=0", ""},
		{"GET", "br", ""},
		{"GET", "deflate, br", ""},
		{"GET", "identity", ""},
		{"GET", "identity;q=1, gzip;q=0.5", ""}, // identity preferred
		{"GET", "identity;q=0.5, gzip;q=0.5", "gzip"},
		{"GET", "gzip;q=0.1", "gzip"}, // identity unnamed comes last
		{"GET", "*", "zstd"},
		{"GET", "*;q=0.5, gzip", "gzip"},
		{"GET", "br, *;q=0.1", "zstd"},
		{"GET", "*;q=0", ""},           // refuses everything: identity anyway
		{"GET", "gzip;q=x", ""},        // a malformed weight counts for nothing
		{"GET", "gzip;q=2", ""},        // out of range
		{"GET", "zstd;q=0, *", "gzip"}, // named zstd refused, gzip by the wildcard
		{"GET", "gzip; q=0.3 , zstd ;q=0.2", "gzip"},
		{"HEAD", "gzip, zstd", ""},
	} {
		r := httptest.NewRequest(c.method, "/", nil)
		if c.header != "" {
			r.Header.Set("Accept-Encoding", c.header)
		}
		if got := negotiate(r); got != c.want {
			t.Errorf("%s Accept-Encoding %q: %q, want %q", c.method, c.header, got, c.want)
		}
	}
}

// decode undoes the content coding of a response body.
func decode(t *testing.T, coding string, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch coding {
	case "":
		return body
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("unknown coding %q", coding)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", coding, err)
	}
	return b
}

// TestCompressedAnswers: every GET answer of every mount (pages, records,
// listings, streams and exports, errors), with the page cache on and off
// and repeated so that the cache answers, is compressed in the coding
// negotiated when it is 1 KB or more and sent as it is otherwise, decodes
// to exactly the uncompressed answer (errors keep their dialect's shape),
// and says Vary: Accept-Encoding beside CORS's Origin.
func TestCompressedAnswers(t *testing.T) {
	for _, cache := range []int64{0, -1} {
		ts := corsServerCache(t, nil, cache)
		compressedSome, plainSome := false, false
		for _, c := range corsRequests {
			if c.method != "GET" {
				continue
			}
			_, identity := rawGet(t, "GET", ts.URL+c.path)
			for _, coding := range []string{"gzip", "zstd"} {
				for round := range 2 {
					resp, body := rawGet(t, "GET", ts.URL+c.path, "Accept-Encoding", coding+", identity;q=0.5", "Origin", "https://app.example.org")
					what := c.path + " " + coding
					got := resp.Header.Get("Content-Encoding")
					// A stream is compressed from its first flush, when
					// its size is not known yet.
					stream := strings.Contains(c.path, ".csv") || strings.HasPrefix(c.path, "/stream/")
					want := coding
					if len(identity) < minCompressed && !stream || c.path == "/healthz" {
						want = ""
					}
					if got != want {
						t.Errorf("%s (cache %d, round %d): %d bytes uncompressed, Content-Encoding %q, want %q", what, cache, round, len(identity), got, want)
						continue
					}
					compressedSome = compressedSome || got != ""
					plainSome = plainSome || got == ""
					if decoded := decode(t, got, body); !bytes.Equal(decoded, identity) {
						t.Errorf("%s (cache %d, round %d): decoded answer differs from the uncompressed one:\n%.300s\n%.300s", what, cache, round, decoded, identity)
					}
					if got != "" && len(body) >= len(identity)/2 {
						t.Errorf("%s: %d bytes compressed from %d", what, len(body), len(identity))
					}
					if c.path != "/healthz" && !varies(resp.Header, "Accept-Encoding") || !varies(resp.Header, "Origin") {
						t.Errorf("%s: Vary %q", what, resp.Header.Values("Vary"))
					}
					if cl := resp.Header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(body)) {
						t.Errorf("%s: Content-Length %s of %d bytes", what, cl, len(body))
					}
				}
			}
		}
		if !compressedSome || !plainSome {
			t.Errorf("cache %d: compressed answers %v, plain ones %v: want both", cache, compressedSome, plainSome)
		}
	}
}

// TestCacheKeepsEachCoding: the page cache keeps a page's body in each
// coding asked for, so a repeated request in that coding is answered with
// the kept bytes (the same bytes, no compression); a coding first asked
// for after the page was kept is compressed once from the kept page,
// without a query.
func TestCacheKeepsEachCoding(t *testing.T) {
	e := demodb.Shared(t, demodb.Rows).Engine
	counter := &queryCounter{Source: e.Source()}
	e2 := demodb.NewEngine(t, counter, config.Demo())
	pc := newPageCache(1 << 24)
	compress, err := compressResponses()
	if err != nil {
		t.Fatal(err)
	}
	salt, err := etagSalt(nil)
	if err != nil {
		t.Fatal(err)
	}
	h := compress(newAnswers(counter, pc, config.CacheControl{}, salt).handler(native.New(e2, native.Options{Path: "/v1", Logger: demodb.Quiet()})))
	get := func(coding string) []byte {
		rec := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/v1/entries?limit=100", nil)
		if coding != "" {
			r.Header.Set("Accept-Encoding", coding)
		}
		h.ServeHTTP(rec, r)
		if rec.Code != 200 || rec.Header().Get("Content-Encoding") != coding {
			t.Fatalf("%s: status %d, Content-Encoding %q", coding, rec.Code, rec.Header().Get("Content-Encoding"))
		}
		return rec.Body.Bytes()
	}
	first := get("gzip")
	n := counter.queries.Load()
	if again := get("gzip"); !bytes.Equal(again, first) {
		t.Error("a cached gzip answer differs from the first")
	}
	z := get("zstd")
	plain := get("")
	if counter.queries.Load() != n {
		t.Errorf("%d queries for pages the cache holds", counter.queries.Load()-n)
	}
	if !bytes.Equal(decode(t, "zstd", z), plain) || !bytes.Equal(decode(t, "gzip", first), plain) {
		t.Error("the kept codings do not decode to the page")
	}
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if len(pc.entries) != 1 {
		t.Fatalf("%d entries, want 1", len(pc.entries))
	}
	for _, el := range pc.entries {
		ce := el.Value.(*cached)
		if !bytes.Equal(ce.encoded["gzip"], first) || !bytes.Equal(ce.encoded["zstd"], z) || !bytes.Equal(ce.body, plain) {
			t.Errorf("the entry keeps %d identity bytes and codings %d gzip, %d zstd", len(ce.body), len(ce.encoded["gzip"]), len(ce.encoded["zstd"]))
		}
		if ce.size != ce.cost() || pc.size != ce.size {
			t.Errorf("cache size %d, entry %d, cost %d", pc.size, ce.size, ce.cost())
		}
	}
}

// gatedSource is the real source with its queries slowed: each row waits
// a millisecond, and row gateAt waits for release, so a query of more
// rows cannot end before the test says so.
const gateAt = 399 // of the 400 items

type gatedSource struct {
	engine.Source
	rows    atomic.Int64
	release chan struct{}
	ended   atomic.Bool
}

func (s *gatedSource) Query(ctx context.Context, plan *engine.Plan, emit func(engine.Row) error) error {
	err := s.Source.Query(ctx, plan, func(r engine.Row) error {
		n := s.rows.Add(1)
		select {
		case <-s.release:
		default:
			if n == gateAt {
				select {
				case <-s.release:
				case <-ctx.Done():
					return ctx.Err()
				}
			} else {
				time.Sleep(time.Millisecond)
			}
		}
		return emit(r)
	})
	s.ended.Store(true)
	return err
}

// TestCompressedExportStreams: a slow export reaches the client compressed
// as its rows come: the client decodes whole rows while the query is
// still running (it cannot end until the client has them), in each
// coding and each export format.
func TestCompressedExportStreams(t *testing.T) {
	db := newE2EDB(t)
	src := &gatedSource{}
	base, _ := db.serve(t, func(s engine.Source) engine.Source { src.Source = s; return src })
	for _, coding := range []string{"gzip", "zstd"} {
		for _, format := range []string{"ndjson", "csv", "json"} {
			src.rows.Store(0)
			src.ended.Store(false)
			src.release = make(chan struct{})
			req, _ := http.NewRequest("GET", base+"/v1/items."+format+"?sort=a", nil)
			req.Header.Set("Accept-Encoding", coding)
			// Rows that arrive only because the export was let end
			// prove nothing: after a while it is let end, and noted.
			var late atomic.Bool
			release := src.release
			timer := time.AfterFunc(10*time.Second, func() { late.Store(true); close(release) })
			resp, err := rawClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.Header.Get("Content-Encoding"); got != coding {
				t.Fatalf("%s %s: Content-Encoding %q", coding, format, got)
			}
			var zr io.Reader
			if coding == "gzip" {
				zr, err = gzip.NewReader(resp.Body)
			} else {
				var d *zstd.Decoder
				d, err = zstd.NewReader(resp.Body, zstd.WithDecoderConcurrency(1))
				if d != nil {
					defer d.Close()
				}
				zr = d
			}
			if err != nil {
				t.Fatalf("%s %s: %v", coding, format, err)
			}
			lines := bufio.NewReader(zr)
			for i := range 3 {
				line, err := lines.ReadString('\n')
				if err != nil {
					t.Fatalf("%s %s: line %d: %v", coding, format, i, err)
				}
				if format == "ndjson" && !strings.Contains(line, `"id"`) {
					t.Fatalf("%s %s: line %q", coding, format, line)
				}
			}
			if late.Load() || src.ended.Load() {
				t.Errorf("%s %s: the first rows arrived only when the export ended", coding, format)
			}
			if timer.Stop() {
				close(release)
			}
			rest, err := io.ReadAll(lines)
			resp.Body.Close()
			if err != nil || len(rest) == 0 {
				t.Errorf("%s %s: the rest: %d bytes, %v", coding, format, len(rest), err)
			}
		}
	}
}
