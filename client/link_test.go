package client

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

// TestLinkPager harvests APIs that are not folio's: one that links pages
// only by a relative RFC 8288 Link header around a bare JSON array, and one
// with a JSON "next" member, as many REST APIs have.
func TestLinkPager(t *testing.T) {
	const pages, per = 5, 3
	page := func(r *http.Request) int {
		n, _ := strconv.Atoi(r.URL.Query().Get("p"))
		return n
	}
	items := func(p int) string {
		s := "["
		for i := range per {
			if i > 0 {
				s += ","
			}
			s += fmt.Sprintf(`{"id":%d}`, p*per+i)
		}
		return s + "]"
	}
	for _, c := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"Link header", func(w http.ResponseWriter, r *http.Request) {
			p := page(r)
			if p+1 < pages {
				w.Header().Set("Link", fmt.Sprintf(`</x?p=0>; rel="first", </x?p=%d>; rel="next last"`, p+1))
			}
			fmt.Fprint(w, items(p))
		}},
		{"JSON next", func(w http.ResponseWriter, r *http.Request) {
			p := page(r)
			next := "null"
			if p+1 < pages {
				next = fmt.Sprintf(`"http://%s/x?p=%d"`, r.Host, p+1)
			}
			fmt.Fprintf(w, `{"count":%d,"next":%s,"results":%s}`, pages*per, next, items(p))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ts := httptest.NewServer(c.handler)
			defer ts.Close()
			cp, err := Start(Request{URL: ts.URL + "/x"}, "auto", 0)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var last Checkpoint
			for p, err := range New(Options{}).Pages(context.Background(), cp) {
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range p.Records {
					got = append(got, recordKey(t, r, "id"))
				}
				last = p.After
			}
			if last.Dialect != Link || last.Pages != pages || len(got) != pages*per {
				t.Fatalf("dialect %q, %d pages, %d records; want link, %d, %d", last.Dialect, last.Pages, len(got), pages, pages*per)
			}
			for i, k := range got {
				if k != strconv.Itoa(i) {
					t.Fatalf("record %d has id %s", i, k)
				}
			}
		})
	}
}
