package client

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"folio/internal/demotest"
)

// TestCompression: a client asks folio for zstd or gzip and decodes what
// comes, the same records as a client that asks for plain answers, which
// gets them uncompressed; with an HTTPClient of the caller's too.
func TestCompression(t *testing.T) {
	ts, _ := demotest.Serve(t, demoRows)
	var mu sync.Mutex
	var asked, sent []string
	spy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked = append(asked, r.Header.Get("Accept-Encoding"))
		mu.Unlock()
		// Sent on with the spy's Host, so that folio's links lead back
		// through the spy.
		out := r.Clone(r.Context())
		out.URL.Scheme, out.URL.Host, out.RequestURI = "http", strings.TrimPrefix(ts.URL, "http://"), ""
		resp, err := http.DefaultTransport.RoundTrip(out)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		mu.Lock()
		sent = append(sent, resp.Header.Get("Content-Encoding"))
		mu.Unlock()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			w.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}))
	defer spy.Close()
	harvest := func(o Options) (records int64, accept, coding []string) {
		t.Helper()
		mu.Lock()
		asked, sent = nil, nil
		mu.Unlock()
		cp, err := Start(Request{URL: spy.URL + "/v1/entries?sort=entry_id"}, "native", 500)
		if err != nil {
			t.Fatal(err)
		}
		var n int64
		for p, err := range New(o).Pages(context.Background(), cp) {
			if err != nil {
				t.Fatal(err)
			}
			n += int64(len(p.Records))
			cp = p.After
		}
		mu.Lock()
		defer mu.Unlock()
		return n, asked, sent
	}
	for _, c := range []struct {
		name   string
		o      Options
		accept string
		coding string
	}{
		{"default", Options{}, "zstd,gzip", "zstd"},
		{"own HTTPClient", Options{HTTPClient: &http.Client{}}, "zstd,gzip", "zstd"},
		{"plain", Options{DisableCompression: true}, "", ""},
	} {
		n, accept, coding := harvest(c.o)
		if n != demoRows || len(accept) != demoRows/500 {
			t.Errorf("%s: %d records in %d requests, want %d in %d", c.name, n, len(accept), demoRows, demoRows/500)
		}
		for i := range accept {
			if accept[i] != c.accept || coding[i] != c.coding {
				t.Errorf("%s: request %d asked %q and got %q, want %q and %q", c.name, i, accept[i], coding[i], c.accept, c.coding)
				break
			}
		}
	}
}
