package server

import (
	"bufio"
	"database/sql"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// TestMistypedCellsOverHTTP: a SQLite file in which another writer stored
// values against their columns' types ('abc' in INTEGER, 'maybe' in
// BOOLEAN, 'not a time' in DATETIME, text that is not JSON in JSON) is
// served: every page of a harvest sorted by such a column answers 200
// with the values as stored, never 503 with Retry-After, the export
// streams every row, and /healthz says ok.
func TestMistypedCellsOverHTTP(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mistyped.sqlite")
	w, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		`CREATE TABLE m (id INTEGER PRIMARY KEY, n INTEGER, flag BOOLEAN, at DATETIME, tags JSON)`,
		`INSERT INTO m VALUES
			(1, 5, 1, '2024-01-01T00:00:00.000000Z', '["a"]'),
			(2, 'abc', 'maybe', 'not a time', 'not json'),
			(3, 2.5, 2, '2024-01-02T00:00:00.000000Z', '[]'),
			(4, -1, 0, '2023-12-31T00:00:00.000000Z', NULL)`,
	} {
		if _, err := w.Exec(s); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	base, _ := (&e2eDB{path: path, mistyped: true}).serve(t, nil)

	// sort=n: -1, 2.5, 5, then the text 'abc' (SQLite orders text after
	// every number), one row a page.
	var got []string
	link := base + "/v1/m?sort=n&limit=1&fields=n,flag,at,tags"
	for link != "" {
		resp, err := http.Get(link)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Retry-After") != "" {
			t.Fatalf("GET %s: %d (Retry-After %q) %s", link, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		p := getPage(t, link)
		for _, row := range p.Data {
			got = append(got, string(row["id"])+" "+string(row["n"])+" "+string(row["flag"])+" "+string(row["at"])+" "+string(row["tags"]))
		}
		link = p.Links["next"]
	}
	want := []string{
		`4 -1 false "2023-12-31T00:00:00Z" null`,
		`3 2.5 2 "2024-01-02T00:00:00Z" []`,
		`1 5 true "2024-01-01T00:00:00Z" ["a"]`,
		`2 "abc" "maybe" "not a time" "not json"`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("harvest by n:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// A filter on the JSON column over text that is not JSON.
	if p := getPage(t, base+"/v1/m?tags[none]=a&sort=id"); len(p.Data) != 3 {
		t.Errorf("tags[none]=a: %d rows, want 3", len(p.Data))
	}

	resp, err := http.Get(base + "/v1/m.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		lines++
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || lines != 4 {
		t.Errorf("export: %d, %d lines, want 200 and 4", resp.StatusCode, lines)
	}

	resp, err = http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz: %d", resp.StatusCode)
	}
}
