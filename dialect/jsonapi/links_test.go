package jsonapi

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestLinksEncoded: a request whose sort and filters hold commas and
// brackets, sent raw or percent-encoded, gets self and next links with
// every reserved character percent-encoded that name the same parameters,
// and both forms harvest the same records as one large page.
func TestLinksEncoded(t *testing.T) {
	fx := newFixture(t)
	const query = "provider-id=ill,caltech&sort=-created,title"
	all := ids(fx.page(t, "/dois?page[size]=1000&"+query))
	if len(all) < 3 {
		t.Fatalf("the filter leaves %d records; want several pages", len(all))
	}
	encoded := strings.NewReplacer(",", "%2C", "[", "%5B", "]", "%5D").Replace("page[cursor]=1&page[size]=2&" + query)
	for _, start := range []string{"/dois?page[cursor]=1&page[size]=2&" + query, "/dois?" + encoded} {
		d := fx.page(t, start)
		for rel, l := range d.Links {
			u, err := url.Parse(l)
			if err != nil {
				t.Fatalf("%s: %s link %q: %v", start, rel, l, err)
			}
			if strings.ContainsAny(u.EscapedPath()+"?"+u.RawQuery, ",;<>\"[] ") {
				t.Errorf("%s: %s link %q holds a reserved character unescaped", start, rel, l)
			}
			if q := u.Query(); q.Get("provider-id") != "ill,caltech" || q.Get("sort") != "-created,title" || q.Get("page[size]") != "2" {
				t.Errorf("%s: %s link %q reads back as %v", start, rel, l, q)
			}
		}
		if d.Links["next"] == "" {
			t.Fatalf("%s: no next link", start)
		}
		if got, _ := fx.harvest(t, start); !slices.Equal(got, all) {
			t.Errorf("%s: harvested %d records, want the %d of one page", start, len(got), len(all))
		}
	}
}
