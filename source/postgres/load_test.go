package postgres

import (
	"context"
	"testing"

	"folio/dataset"
	"folio/engine"
)

// TestLoad checks that Load reports progress, replaces a table of the same
// name, and creates text columns that order byte by byte.
func TestLoad(t *testing.T) {
	ctx := context.Background()
	url := newDB(t)
	for _, n := range []int{25000, 12000} {
		var last, calls int
		err := Load(ctx, url, []*dataset.Table{bigTable(n)}, func(table string, done, total int) {
			if table != "big" || total != n || done < last {
				t.Errorf("progress(%q, %d, %d) after %d", table, done, total, last)
			}
			last = done
			calls++
		})
		if err != nil {
			t.Fatal(err)
		}
		if last != n || calls < 2 {
			t.Errorf("load of %d rows: last progress %d after %d calls", n, last, calls)
		}
		s := openSource(t, url, Options{})
		if got, err := s.Count(ctx, collection(t, s, "big"), nil); err != nil || got != int64(n) {
			t.Fatalf("count %d, %v; want %d", got, err, n)
		}
	}

	// Byte order, not a language's: "B" < "a" < "é".
	tb := &dataset.Table{
		Name:    "words",
		Columns: []dataset.Column{{Name: "w", Type: engine.TypeText}},
		Key:     []string{"w"},
		Rows: func(yield func([]engine.Value) bool) {
			for _, w := range []string{"é", "a", "B", "a b", "ab"} {
				if !yield([]engine.Value{w}) {
					return
				}
			}
		},
	}
	if err := Load(ctx, url, []*dataset.Table{tb}, nil); err != nil {
		t.Fatal(err)
	}
	w := writer(t, url)
	rows, err := w.Query(ctx, "SELECT w FROM words ORDER BY w")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := []string{"B", "a", "a b", "ab", "é"}
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Fatalf("order %q, want %q", got, want)
		}
	}
}
