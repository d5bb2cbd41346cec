package sqlite

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"folio/engine"
)

func TestModule(t *testing.T) {
	for create, want := range map[string]string{
		`CREATE VIRTUAL TABLE docs USING fts5(title, body)`:                   "fts5",
		`CREATE VIRTUAL TABLE main.docs USING FTS5 (title)`:                   "fts5",
		`CREATE VIRTUAL TABLE "a USING b" USING rtree(id, x0, x1)`:            "rtree",
		"CREATE VIRTUAL TABLE `x\"` USING \"fts5\"(a)":                        "fts5",
		`CREATE VIRTUAL TABLE [USING fts5] USING fts4(a)`:                     "fts4",
		`create virtual table if not exists t using fts5(a, tokenize=porter)`: "fts5",
		`CREATE TABLE using_fts5 (a TEXT)`:                                    "",
		`CREATE VIEW v AS SELECT 1 AS using`:                                  "",
	} {
		if got := module(create); got != want {
			t.Errorf("module(%s) = %q, want %q", create, got, want)
		}
	}
}

// docWords are the words the documents of TestFullTextSearch are made of:
// some that FTS5's query syntax would read as operators, some in upper
// case.
var docWords = []string{"band", "gap", "gaps", "oxide", "Iron", "AND", "NEAR", "titanium", "magnet", "spin", "OR"}

// doc is document i: a title of one word, a body of three.
func doc(i int) (title, body string) {
	w := func(k int) string { return docWords[(i*k+k/2)%len(docWords)] }
	return w(3), w(1) + " " + w(5) + " " + w(7)
}

// holds is the oracle of the match operator on the default tokenizer for
// these plain words: every word of query is a word of text, case folded,
// a word ending in * a prefix of one.
func holds(text, query string) bool {
	have := strings.Fields(strings.ToLower(text))
	for _, q := range strings.Fields(strings.ToLower(query)) {
		word, prefix := strings.CutSuffix(q, "*")
		if !slices.ContainsFunc(have, func(h string) bool { return h == word || prefix && strings.HasPrefix(h, word) }) {
			return false
		}
	}
	return true
}

// TestFullTextSearch: an FTS5 table is published with its text columns
// searchable with match (its shadow tables are not published), and
// pages of a match filter, alone or under or and not, walked by cursor,
// hold exactly the documents the oracle finds.
func TestFullTextSearch(t *testing.T) {
	const n = 60
	stmts := []string{
		`CREATE VIRTUAL TABLE docs USING fts5(title, body)`,
		`CREATE TABLE plain (id INTEGER PRIMARY KEY, body TEXT)`,
	}
	for i := 1; i <= n; i++ {
		title, body := doc(i)
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO docs (rowid, title, body) VALUES (%d, '%s', '%s')`, i, title, body))
	}
	s := openSource(t, newDB(t, stmts...))
	cols, names := discovered(t, s)
	if !slices.Equal(names, []string{"docs", "plain"}) {
		t.Fatalf("collections %v, want docs and plain without the FTS5 shadow tables", names)
	}
	signer, err := engine.NewSigner([]byte("fts-test-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(s, signer, cols)
	if err != nil {
		t.Fatal(err)
	}
	docs, _ := e.Collection("docs")
	for _, f := range docs.Fields {
		if want := f.Name == "title" || f.Name == "body"; f.FullText != want {
			t.Errorf("field %s full-text %v, want %v", f.Name, f.FullText, want)
		}
	}
	if !slices.Equal(docs.Key, []string{"rowid"}) {
		t.Errorf("key %q, want rowid", docs.Key)
	}

	match := func(field, words string) engine.Filter {
		return engine.Filter{Field: field, Op: engine.OpMatch, Values: []engine.Value{words}}
	}
	tests := []struct {
		name   string
		filter engine.Filter
		want   func(title, body string) bool
	}{
		{"word", match("body", "gap"), func(_, b string) bool { return holds(b, "gap") }},
		{"prefix", match("body", "gap*"), func(_, b string) bool { return holds(b, "gap*") }},
		{"every word", match("body", "band  oxide"), func(_, b string) bool { return holds(b, "band oxide") }},
		{"case folded", match("title", "TITANIUM"), func(tt, _ string) bool { return holds(tt, "titanium") }},
		{"operators are words", match("body", "AND"), func(_, b string) bool { return holds(b, "and") }},
		{"operators are words too", match("body", "NEAR OR*"), func(_, b string) bool { return holds(b, "near or*") }},
		{"quotes are text", match("body", `ga"p o"x`), func(string, string) bool { return false }},
		{"only its column", match("title", "spin"), func(tt, _ string) bool { return holds(tt, "spin") }},
		{"or", engine.Filter{Op: engine.OpOr, Sub: [][]engine.Filter{{match("title", "iron")}, {match("body", "magnet")}}},
			func(tt, b string) bool { return holds(tt, "iron") || holds(b, "magnet") }},
		{"not", engine.Filter{Op: engine.OpNot, Sub: [][]engine.Filter{{match("body", "gap*")}}}, func(_, b string) bool { return !holds(b, "gap*") }},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var want []int64
			for i := 1; i <= n; i++ {
				if tt.want(doc(i)) {
					want = append(want, int64(i))
				}
			}
			q := engine.Query{Filters: []engine.Filter{tt.filter}}
			var got []int64
			w := engine.Window{Limit: 4}
			for pages := 0; ; pages++ {
				p, err := e.Page(ctx, docs, q, w, engine.TotalExact)
				if err != nil {
					t.Fatal(err)
				}
				if p.Total.Count != int64(len(want)) {
					t.Fatalf("total %d, want %d", p.Total.Count, len(want))
				}
				for _, r := range p.Rows {
					got = append(got, p.Value(r, "rowid").(int64))
				}
				if !p.HasNext || pages > n {
					break
				}
				w.At = engine.Token(p.Next)
			}
			if !slices.Equal(got, want) {
				t.Errorf("documents %v, want %v", got, want)
			}
		})
	}

	plain, _ := e.Collection("plain")
	for _, c := range []struct {
		col    *engine.Collection
		filter engine.Filter
		want   string
	}{
		{plain, match("body", "gap"), "full-text fields"},
		{docs, match("body", " \t"), "at least one word"},
		{docs, match("rowid", "1"), "full-text fields"},
	} {
		_, err := e.Page(ctx, c.col, engine.Query{Filters: []engine.Filter{c.filter}}, engine.Window{}, engine.TotalNone)
		ee, ok := engine.AsError(err)
		if !ok || ee.Code != engine.CodeInvalid || ee.Param != engine.ParamFilter || !strings.Contains(ee.Message, c.want) {
			t.Errorf("%s %s: %v, want a 400 saying %q", c.col.Name, c.filter, err, c.want)
		}
	}
}
