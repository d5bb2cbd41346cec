package native

import (
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// compositeHandler serves a WITHOUT ROWID join table keyed by (member,
// team), whose text parts hold '/', ',', '%' and spaces, as join tables
// keyed by DOIs or paths do.
func compositeHandler(t *testing.T) (*Handler, [][2]string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "composite.db")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE membership (member TEXT NOT NULL, team INTEGER NOT NULL, role TEXT,
		PRIMARY KEY (member, team)) WITHOUT ROWID`); err != nil {
		t.Fatal(err)
	}
	var keys [][2]string
	members := []string{"10.5/x", "a", "a b", "a,b", "b%2F", "é"}
	for i, m := range members {
		for team := range 1 + i%3 {
			role := []any{"lead", nil, "member"}[team%3]
			if _, err := db.Exec(`INSERT INTO membership VALUES (?, ?, ?)`, m, team, role); err != nil {
				t.Fatal(err)
			}
			keys = append(keys, [2]string{m, fmt.Sprint(team)})
		}
	}
	h := New(openEngine(t, path, nil), Options{Path: "/api/v2", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return h, keys
}

// TestCompositeKey: a table whose primary key has two columns is listed
// with both, paged by cursor in both directions with the key as the
// tie-breaker, and its records are addressed one path segment per key part.
func TestCompositeKey(t *testing.T) {
	h, keys := compositeHandler(t)

	list := decode[struct {
		Data []struct {
			Key         *string  `json:"key"`
			KeyFields   []string `json:"key_fields"`
			Paging      []string `json:"paging"`
			DefaultSort string   `json:"default_sort"`
		} `json:"data"`
	}](t, get(h, "/api/v2"))
	if len(list.Data) != 1 {
		t.Fatalf("%d collections listed", len(list.Data))
	}
	d := list.Data[0]
	if d.Key != nil || !slices.Equal(d.KeyFields, []string{"member", "team"}) || !slices.Contains(d.Paging, "cursor") || d.DefaultSort != "member,team" {
		t.Errorf("listing: key %v, key_fields %v, paging %v, default_sort %q", d.Key, d.KeyFields, d.Paging, d.DefaultSort)
	}

	// Forward by cursor, two rows a page: every key once, in key order.
	key := func(row map[string]any) [2]string {
		return [2]string{fmt.Sprint(row["member"]), fmt.Sprint(row["team"])}
	}
	var got [][2]string
	link := "/api/v2/membership?limit=2"
	for pages := 0; link != ""; pages++ {
		r := get(h, link)
		if r.status != http.StatusOK || pages > len(keys) {
			t.Fatalf("%s: %d %s", link, r.status, r.body)
		}
		e := decode[envelope](t, r)
		for _, row := range e.Data {
			got = append(got, key(row))
		}
		link = ""
		if e.Links["next"] != "" {
			link = path(t, e.Links["next"])
		}
	}
	want := slices.Clone(keys)
	slices.SortFunc(want, func(a, b [2]string) int { return strings.Compare(a[0]+"\x00"+a[1], b[0]+"\x00"+b[1]) })
	if !slices.Equal(got, want) {
		t.Errorf("forward harvest\n got %v\nwant %v", got, want)
	}

	// Sorted by a nullable column, descending, backward from the end: the
	// key breaks ties (both parts descending, as the last term).
	got = got[:0]
	link = path(t, decode[envelope](t, get(h, "/api/v2/membership?limit=3&sort=-role")).Links["last"])
	for pages := 0; link != ""; pages++ {
		r := get(h, link)
		if r.status != http.StatusOK || pages > len(keys) {
			t.Fatalf("%s: %d %s", link, r.status, r.body)
		}
		e := decode[envelope](t, r)
		var page [][2]string
		for _, row := range e.Data {
			page = append(page, key(row))
		}
		got = append(page, got...)
		link = ""
		if e.Links["prev"] != "" {
			link = path(t, e.Links["prev"])
		}
	}
	role := func(k [2]string) string { return []string{"lead", "\xff", "member"}[k[1][0]-'0'] } // NULL above all
	want = slices.Clone(keys)
	slices.SortFunc(want, func(a, b [2]string) int {
		return -strings.Compare(role(a)+"\x00"+a[0]+"\x00"+a[1], role(b)+"\x00"+b[0]+"\x00"+b[1])
	})
	if !slices.Equal(got, want) {
		t.Errorf("backward harvest by -role\n got %v\nwant %v", got, want)
	}

	// Records: one segment per key part, each percent-encoded.
	for _, k := range keys {
		target := "/api/v2/membership/" + url.PathEscape(k[0]) + "/" + url.PathEscape(k[1])
		r := get(h, target)
		if r.status != http.StatusOK {
			t.Errorf("%s: %d %s", target, r.status, r.body)
			continue
		}
		rec := decode[struct{ Data map[string]any }](t, r)
		if key(rec.Data) != k {
			t.Errorf("%s: record %v", target, rec.Data)
		}
	}
	for _, target := range []string{
		"/api/v2/membership/a",             // too few parts
		"/api/v2/membership/a/0/x",         // too many
		"/api/v2/membership/a/seven",       // not an integer
		"/api/v2/membership/a/2",           // no such record
		"/api/v2/membership/10.5/x/0",      // a '/' inside a part must be %2F
		"/api/v2/membership/b%252F/zero",   // decoded once: b%2F, then no integer
		"/api/v2/membership/a/0?sort=role", // a record takes only fields
	} {
		r := get(h, target)
		want := http.StatusNotFound
		if strings.Contains(target, "sort=") {
			want = http.StatusBadRequest
		}
		if r.status != want {
			t.Errorf("%s: %d %s, want %d", target, r.status, r.body, want)
		}
	}
	if r := get(h, "/api/v2/membership/a/0"); r.status != http.StatusOK || !strings.Contains(string(r.body), `"role":"lead"`) {
		t.Errorf("record a/0: %d %s", r.status, r.body)
	}
	// A projection keeps every part of the key, which names the record.
	e := decode[envelope](t, get(h, "/api/v2/membership?fields=role&limit=1"))
	if len(e.Data) != 1 || len(e.Data[0]) != 3 || e.Data[0]["member"] == nil || e.Data[0]["team"] == nil {
		t.Errorf("fields=role: %v", e.Data)
	}
	if r := get(h, "/api/v2/membership/a"); !strings.Contains(string(r.body), "2 parts (member, team)") {
		t.Errorf("a record path of one part: %s", r.body)
	}
}
