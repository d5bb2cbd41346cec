package native

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// naiveLinks reads a Link header the way many widely used clients do: split
// on every comma, each part on every semicolon, the URL between '<' and
// '>', the relation from rel="…". Where such a client would throw, this
// returns an error: on any part that is not exactly <url>; rel="name".
func naiveLinks(header string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(header, ",") {
		sections := strings.Split(part, ";")
		if len(sections) != 2 {
			return nil, fmt.Errorf("part %q has %d sections", part, len(sections))
		}
		u := strings.TrimSpace(sections[0])
		rel := strings.TrimSpace(sections[1])
		if !strings.HasPrefix(u, "<") || !strings.HasSuffix(u, ">") {
			return nil, fmt.Errorf("part %q: no <url>", part)
		}
		name, ok := strings.CutPrefix(rel, `rel="`)
		if name, ok = strings.CutSuffix(name, `"`); !ok {
			return nil, fmt.Errorf("part %q: no rel", part)
		}
		out[name] = u[1 : len(u)-1]
	}
	return out, nil
}

// TestLinkHeaderSplitOnCommas harvests with nothing but a naive Link
// parser, requests whose sort and filters hold commas, sent raw and
// percent-encoded: every part of every header must parse, and the next
// links must walk the whole result, page by page.
func TestLinkHeaderSplitOnCommas(t *testing.T) {
	h := newHandler(t)
	const (
		filter = "name[in]=alpha,beta,gamma,delta,epsilon&tags[any]=Ti,Fe"
		sort   = "sort=-score,name"
	)
	all := decode[envelope](t, get(h, "/v1/items?limit=100&"+sort+"&"+filter))
	want := ids(t, all)
	if len(want) < 4 {
		t.Fatalf("the filter leaves %v; want enough rows for several pages", want)
	}
	encoded := func(q string) string { return strings.NewReplacer(",", "%2C", "[", "%5B", "]", "%5D").Replace(q) }
	for _, start := range []string{
		"/v1/items?limit=2&" + sort + "&" + filter,
		"/v1/items?limit=2&" + encoded(sort+"&"+filter),
		"/v1/items?offset=0&limit=2&" + sort + "&" + filter,
		"/v1/items?offset=0&limit=2&" + encoded(sort+"&"+filter),
	} {
		var got []int64
		link := start
		for pages := 0; link != ""; pages++ {
			if pages > len(want) {
				t.Fatalf("%s: the harvest does not end", start)
			}
			r := get(h, link)
			if r.status != 200 {
				t.Fatalf("%s: %d %s", link, r.status, r.body)
			}
			got = append(got, ids(t, decode[envelope](t, r))...)
			ls, err := naiveLinks(r.header.Get("Link"))
			if err != nil {
				t.Fatalf("%s: a client that splits on commas fails on the Link header: %v\n%s", link, err, r.header.Get("Link"))
			}
			if _, ok := ls["self"]; !ok {
				t.Fatalf("%s: no self link in %v", link, ls)
			}
			link = ""
			if n, ok := ls["next"]; ok {
				link = path(t, n)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: harvested %v, want %v", start, got, want)
		}
	}
}

// TestLinksEncoded checks every link of a page whose request holds raw
// reserved characters: the path and query carry only unreserved bytes,
// escapes and the query's own delimiters, and each link, requested again,
// names the same parameters as the page's own.
func TestLinksEncoded(t *testing.T) {
	h := newHandler(t)
	r := get(h, "/v1/items?limit=2&sort=-score,name&name[in]=alpha,beta,gamma,delta&fields=id,name,score")
	if r.status != 200 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	env := decode[envelope](t, r)
	if len(env.Links) < 4 {
		t.Fatalf("links %v", env.Links)
	}
	for rel, l := range env.Links {
		u, err := url.Parse(l)
		if err != nil {
			t.Fatalf("%s link %q: %v", rel, l, err)
		}
		if strings.ContainsAny(u.EscapedPath()+"?"+u.RawQuery, ",;<>\"[] ") {
			t.Errorf("%s link %q holds a reserved character unescaped", rel, l)
		}
		q := u.Query()
		if q.Get("sort") != "-score,name" || q.Get("name[in]") != "alpha,beta,gamma,delta" || q.Get("fields") != "id,name,score" {
			t.Errorf("%s link %q reads back as %v", rel, l, q)
		}
	}
}
