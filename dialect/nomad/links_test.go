package nomad

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestURLsEncoded: a GET whose parameters hold commas, brackets, braces and
// quotes (a json_query), sent raw or percent-encoded, gets page_url,
// next_page_url, prev_page_url and first_page_url with every reserved
// character percent-encoded that name the request's parameters, and both
// forms harvest the same entries by next_page_url.
func TestURLsEncoded(t *testing.T) {
	h := newFixture(t).h
	const query = `json_query={"results.material.n_elements":{"gte":3,"lte":4}}&order_by=results.material.n_elements&include=entry_id`
	want := ids(decodeEnvelope(t, get(h, "/api/v1/entries?page_size=10000&"+url.PathEscape(query))))
	if len(want) < 6 {
		t.Fatalf("the query leaves %d entries; want several pages", len(want))
	}
	size := len(want)/3 + 1
	raw := "/api/v1/entries?page=2&page_size=" + strconv.Itoa(size) + "&" + query
	encoded := "/api/v1/entries?page=2&page_size=" + strconv.Itoa(size) + "&" + strings.NewReplacer(",", "%2C", "{", "%7B", "}", "%7D", `"`, "%22", ":", "%3A").Replace(query)
	for _, start := range []string{raw, encoded} {
		env := decodeEnvelope(t, get(h, start))
		p := env.Pagination
		links := map[string]string{"page_url": p.PageURL, "next_page_url": p.NextPageURL, "prev_page_url": p.PrevPageURL, "first_page_url": p.FirstPageURL}
		for name, l := range links {
			if l == "" {
				t.Fatalf("%s: no %s in %+v", start, name, p)
			}
			u, err := url.Parse(l)
			if err != nil {
				t.Fatalf("%s: %s %q: %v", start, name, l, err)
			}
			if strings.ContainsAny(u.EscapedPath()+"?"+u.RawQuery, ",;<>\"[]{} ") {
				t.Errorf("%s: %s %q holds a reserved character unescaped", start, name, l)
			}
			if q := u.Query(); q.Get("json_query") != `{"results.material.n_elements":{"gte":3,"lte":4}}` || q.Get("include") != "entry_id" {
				t.Errorf("%s: %s %q reads back as %v", start, name, l, q)
			}
		}
		// Harvest from page 1 by next_page_url.
		first, err := url.Parse(p.FirstPageURL)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for target, n := first.RequestURI(), 0; target != ""; n++ {
			if n > len(want) {
				t.Fatalf("%s: the harvest does not end", start)
			}
			env := decodeEnvelope(t, get(h, target))
			got = append(got, ids(env)...)
			target = ""
			if next := env.Pagination.NextPageURL; next != "" {
				u, err := url.Parse(next)
				if err != nil {
					t.Fatal(err)
				}
				target = u.RequestURI()
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: harvested %d entries, want the %d of one page", start, len(got), len(want))
		}
	}
}
