package native

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"folio/dataset"
	"folio/engine"
	"folio/source/sqlite"
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

// TestOddCollectionName serves a table whose name holds reserved
// characters: the collection list's URL and the page links escape them,
// and each link leads back to the collection.
func TestOddCollectionName(t *testing.T) {
	const name = "odd,name&x=1+y:z;w"
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "odd.sqlite")
	tbl := &dataset.Table{
		Name:    name,
		Columns: []dataset.Column{{Name: "id", Type: engine.TypeInt}},
		Key:     []string{"id"},
		Len:     3,
		Rows: func(yield func([]engine.Value) bool) {
			for i := range 3 {
				if !yield([]engine.Value{int64(i)}) {
					return
				}
			}
		},
	}
	if err := sqlite.Load(ctx, file, []*dataset.Table{tbl}, nil); err != nil {
		t.Fatal(err)
	}
	e := openEngine(t, file, nil)
	h := New(e, Options{Path: "/v1", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})

	var list struct {
		Data []struct {
			Name, URL string
		} `json:"data"`
	}
	if err := json.Unmarshal(get(h, "/v1").body, &list); err != nil || len(list.Data) != 1 {
		t.Fatalf("collection list %+v: %v", list, err)
	}
	if u := list.Data[0].URL; strings.ContainsAny(u, ",&=+;") || strings.Count(u, ":") != 1 {
		t.Errorf("collection URL %q holds a reserved character raw", u)
	}
	// From the list's URL, and from the name sent raw.
	for _, start := range []string{list.Data[0].URL, "http://example.com/v1/" + name} {
		walkOdd(t, h, start+"?limit=1")
	}
}

// walkOdd follows next links from link with a naive Link parser, checking
// that the links hold no reserved character raw in their path.
func walkOdd(t *testing.T, h *Handler, link string) {
	t.Helper()
	rows := 0
	for pages := 0; link != ""; pages++ {
		if pages > 3 {
			t.Fatal("the walk does not end")
		}
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		if pages > 0 && strings.ContainsAny(u.EscapedPath(), ",&=+:;") {
			t.Errorf("link %q holds a reserved character in its path", link)
		}
		r := get(h, u.RequestURI())
		if r.status != 200 {
			t.Fatalf("%s: %d %s", link, r.status, r.body)
		}
		rows += len(decode[envelope](t, r).Data)
		ls, err := naiveLinks(r.header.Get("Link"))
		if err != nil {
			t.Fatalf("%s: %v", link, err)
		}
		link = ls["next"]
	}
	if rows != 3 {
		t.Errorf("walked %d rows, want 3", rows)
	}
}
