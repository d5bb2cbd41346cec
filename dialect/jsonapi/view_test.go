package jsonapi

import (
	"context"
	"encoding/json"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
)

// TestSparseFieldsets: fields[dois] renders only the attributes and
// relationships it lists, with their values as in the full document; id
// and type always; links.next keeps the list, so that every page is alike.
func TestSparseFieldsets(t *testing.T) {
	fx := newFixture(t)
	const base = "/dois?provider-id=caltech&page[size]=7&sort=name"
	full := fx.page(t, base)
	for _, tt := range []struct {
		fields      string
		attrs, rels []string
	}{
		{"doi,client", []string{"doi"}, []string{"client"}},
		{"publication-year,TITLES,types", []string{"titles", "publicationYear", "types"}, nil},
		{"provider,prefix,prefix", []string{"prefix"}, []string{"provider"}},
		{"", nil, nil},
		{"id,type", nil, nil},
	} {
		target := base + "&fields[dois]=" + url.QueryEscape(tt.fields)
		d := fx.page(t, target)
		if !slices.Equal(ids(d), ids(full)) {
			t.Fatalf("%s: other records than without fields", target)
		}
		for i, res := range d.Data {
			if got := slices.Sorted(maps.Keys(res.Attributes)); !slices.Equal(got, slices.Sorted(slices.Values(tt.attrs))) {
				t.Errorf("%s: attributes %v, want %v", target, got, tt.attrs)
			}
			if got := slices.Sorted(maps.Keys(res.Relationships)); !slices.Equal(got, slices.Sorted(slices.Values(tt.rels))) {
				t.Errorf("%s: relationships %v, want %v", target, got, tt.rels)
			}
			want := full.Data[i]
			for k, v := range res.Attributes {
				if !equalJSON(t, v, want.Attributes[k]) {
					t.Errorf("%s: %s %v, the full document has %v", target, k, v, want.Attributes[k])
				}
			}
			for k, v := range res.Relationships {
				if *v.Data != *want.Relationships[k].Data {
					t.Errorf("%s: relationship %s differs", target, k)
				}
			}
			if res.ID != want.ID || res.Type != "dois" {
				t.Errorf("%s: id %q type %q", target, res.ID, res.Type)
			}
		}
		if next := d.Links["next"]; next == "" || !strings.Contains(next, "fields%5Bdois%5D=") {
			t.Errorf("%s: next %q does not keep fields[dois]", target, next)
		} else if d2 := fx.page(t, requestURI(t, next)); len(d2.Data) > 0 && len(d2.Data[0].Attributes) != len(tt.attrs) {
			t.Errorf("%s: the next page is not sparse: %v", target, d2.Data[0].Attributes)
		}
	}
	// A list for another type leaves the resources as they are: the
	// document holds dois only.
	if other := fx.page(t, base+"&fields[clients]=name"); !equalJSON(t, other.Data, full.Data) {
		t.Errorf("fields[clients] changed the dois")
	}
	// One resource, too.
	rec := fx.page1(t, "/dois/"+full.Data[0].ID+"?fields[dois]=titles")
	if len(rec.Attributes) != 1 || rec.Attributes["titles"] == nil || rec.Relationships != nil {
		t.Errorf("record with fields[dois]=titles: %+v", rec)
	}
}

// page1 fetches a single resource.
func (fx fixture) page1(t *testing.T, target string) resource {
	t.Helper()
	return decode[struct{ Data resource }](t, fx.get(target)).Data
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}

// columnsSource records the columns of every plan it runs.
type columnsSource struct {
	engine.Source
	mu      sync.Mutex
	columns [][]string
}

func (s *columnsSource) Query(ctx context.Context, plan *engine.Plan, emit func(engine.Row) error) error {
	var names []string
	for _, f := range plan.Columns {
		names = append(names, f.Name)
	}
	s.mu.Lock()
	s.columns = append(s.columns, names)
	s.mu.Unlock()
	return s.Source.Query(ctx, plan, emit)
}

// TestSparseFieldsetsReachTheEngine: the database is asked for the columns
// the view shows, the key and the sort, and no others.
func TestSparseFieldsetsReachTheEngine(t *testing.T) {
	src := &columnsSource{Source: newFixture(t).e.Source()}
	h := demodb.Handler(t, New, demodb.NewEngine(t, src, config.Demo()), demoMount(t))
	for _, tt := range []struct {
		target string
		want   []string
	}{
		{"/dois?fields[dois]=titles&sort=name&page[size]=2", []string{"id", "title"}},
		{"/dois?fields[dois]=prefix,client&sort=-created&page[size]=2", []string{"id", "client_id", "created"}},
		{"/dois?fields[dois]=&page[cursor]=1&page[size]=2", []string{"id", "created"}},
		{"/dois/10.7907/nothing?fields[dois]=publisher", []string{"id", "publisher", "created"}}, // the collection's default sort
	} {
		src.columns = nil
		do(h, "GET", tt.target, nil)
		if len(src.columns) != 1 || !slices.Equal(slices.Sorted(slices.Values(src.columns[0])), slices.Sorted(slices.Values(tt.want))) {
			t.Errorf("%s: the database was asked for %v, want %v", tt.target, src.columns, tt.want)
		}
	}
}

// TestDisplaySwitches: publisher=true renders the publisher as DataCite's
// object, and affiliation=true is accepted; neither filters, and links.next
// keeps both.
func TestDisplaySwitches(t *testing.T) {
	fx := newFixture(t)
	const base = "/dois?provider-id=cern&page[size]=5&sort=name"
	plain := fx.page(t, base)
	for _, q := range []string{"&publisher=true", "&publisher=true&affiliation=true", "&affiliation=true", "&publisher=false", "&Publisher=true"} {
		d := fx.page(t, base+q)
		if *d.Meta.Total != *plain.Meta.Total || !slices.Equal(ids(d), ids(plain)) {
			t.Errorf("%s: total %d, want %d: a display switch filtered", q, *d.Meta.Total, *plain.Meta.Total)
			continue
		}
		object := strings.Contains(strings.ToLower(q), "publisher=true")
		for i, res := range d.Data {
			want := plain.Data[i].Attributes["publisher"]
			got := res.Attributes["publisher"]
			if object {
				if m, ok := got.(map[string]any); !ok || len(m) != 1 || m["name"] != want {
					t.Errorf("%s: publisher %v, want {\"name\": %v}", q, got, want)
				}
			} else if got != want {
				t.Errorf("%s: publisher %v, want %v", q, got, want)
			}
		}
		next, _ := url.Parse(d.Links["next"])
		for _, kv := range strings.Split(q[1:], "&") {
			k, v, _ := strings.Cut(kv, "=")
			if next.Query().Get(k) != v {
				t.Errorf("%s: next %s lacks %s", q, d.Links["next"], kv)
			}
		}
	}
	// A record with no publisher keeps null.
	if r := fx.page1(t, "/dois/"+plain.Data[0].ID+"?publisher=true"); r.Attributes["publisher"] == nil {
		t.Errorf("record: publisher %v", r.Attributes["publisher"])
	}
}

// TestRelevance: DataCite's sort=relevance names no order folio has; it is
// the mode's default order, and drops out of a list.
func TestRelevance(t *testing.T) {
	fx := newFixture(t)
	for _, tt := range []struct{ a, b string }{
		{"/dois?page[size]=50&sort=relevance", "/dois?page[size]=50"},
		{"/dois?page[size]=50&sort=-relevance&query=data", "/dois?page[size]=50&query=data"},
		{"/dois?page[size]=50&sort=relevance,-created", "/dois?page[size]=50&sort=-created"},
		{"/dois?page[cursor]=1&page[size]=50&sort=-relevance", "/dois?page[cursor]=1&page[size]=50"},
	} {
		a, b := fx.page(t, tt.a), fx.page(t, tt.b)
		if !slices.Equal(ids(a), ids(b)) || len(ids(a)) == 0 {
			t.Errorf("%s and %s differ", tt.a, tt.b)
		}
		// The cursor of a relevance harvest continues it.
		if next := a.Links["next"]; strings.Contains(tt.a, "cursor") {
			if r := fx.get(requestURI(t, next)); r.status != 200 {
				t.Errorf("%s: next: status %d: %s", tt.a, r.status, r.body)
			}
		}
	}
}
