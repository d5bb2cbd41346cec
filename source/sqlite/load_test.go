package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"folio/dataset"
	"folio/engine"
)

// seqTable yields n generated rows: (id, code, v, at), code unique.
func seqTable(name string, n int) *dataset.Table {
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return &dataset.Table{
		Name: name, Key: []string{"id"}, Len: n,
		Columns: []dataset.Column{
			{Name: "id", Type: engine.TypeInt},
			{Name: "code", Type: engine.TypeText},
			{Name: "v", Type: engine.TypeFloat, Nullable: true},
			{Name: "at", Type: engine.TypeTime},
		},
		Indexes: []dataset.Index{{Name: name + "_code", Columns: []string{"code"}, Unique: true}, {Columns: []string{"-at", "id"}}},
		Rows: func(yield func([]engine.Value) bool) {
			row := make([]engine.Value, 4) // reused, as producers may
			for i := 1; i <= n; i++ {
				row[0], row[1], row[3] = int64(i), fmt.Sprintf("c%07d", i), base.Add(time.Duration(i)*time.Millisecond)
				row[2] = nil
				if i%3 != 0 {
					row[2] = float64(i) / 4
				}
				if !yield(row) {
					return
				}
			}
		},
	}
}

func TestLoad(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "load.db") // the directory is created too
	const n = 250_123                                    // several transactions and a partial last INSERT
	texts := &dataset.Table{
		Name: "codes", Key: []string{"code"},
		Columns: []dataset.Column{{Name: "code", Type: engine.TypeText}, {Name: "n", Type: engine.TypeInt, Nullable: true}},
		Rows: func(yield func([]engine.Value) bool) {
			for _, c := range []string{"b", "a", "c"} {
				if !yield([]engine.Value{c, nil}) {
					return
				}
			}
		},
	}
	type report struct{ done, total int }
	progress := map[string][]report{}
	err := Load(ctx, path, []*dataset.Table{seqTable("seq", n), texts}, func(table string, done, total int) {
		progress[table] = append(progress[table], report{done, total})
	})
	if err != nil {
		t.Fatal(err)
	}
	for table, rs := range progress {
		last := rs[len(rs)-1]
		for i := 1; i < len(rs); i++ {
			if rs[i].done < rs[i-1].done {
				t.Errorf("%s: progress went back from %d to %d", table, rs[i-1].done, rs[i].done)
			}
		}
		want := map[string]int{"seq": n, "codes": 3}[table]
		if last.done != want || last.total != want {
			t.Errorf("%s: last progress %+v, want %d of %d", table, last, want, want)
		}
	}
	if len(progress["seq"]) < n/progressEvery {
		t.Errorf("only %d progress reports for %d rows", len(progress["seq"]), n)
	}

	s := openSource(t, path)
	seq := collection(t, s, "seq")
	if !slices.Equal(seq.Key, []string{"id"}) {
		t.Errorf("seq key %q, want id", seq.Key)
	}
	wantTypes := map[string]engine.Type{"id": engine.TypeInt, "code": engine.TypeText, "v": engine.TypeFloat, "at": engine.TypeTime}
	for _, f := range seq.Fields {
		if f.Type != wantTypes[f.Name] || f.Nullable != (f.Name == "v") {
			t.Errorf("field %s: %v nullable=%v", f.Name, f.Type, f.Nullable)
		}
	}
	if got, err := s.Count(ctx, seq, nil); err != nil || got != n {
		t.Errorf("count %d, %v; want %d", got, err, n)
	}
	// The reused row slice did not leak between rows.
	last := run(t, s, &engine.Plan{Collection: seq, Columns: seq.Fields, Order: []engine.OrderKey{{Field: seq.KeyField(), Desc: true}}, Limit: 2})
	wantAt := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(n * time.Millisecond)
	if last[0][0] != int64(n) || last[0][1] != fmt.Sprintf("c%07d", n) || last[0][3] != wantAt || last[1][0] != int64(n-1) {
		t.Errorf("last rows %v", last)
	}
	codes := collection(t, s, "codes")
	if !slices.Equal(codes.Key, []string{"code"}) || codes.KeyField().Nullable {
		t.Errorf("codes key %q", codes.Key)
	}
	if got := ids2(run(t, s, allPlan(codes))); fmt.Sprint(got) != "[a b c]" {
		t.Errorf("codes %v", got)
	}

	// Indexes after the rows, and statistics.
	var idx, stats int
	db := writer(t, path)
	if err := db.QueryRow("SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'seq' AND sql IS NOT NULL").Scan(&idx); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'seq'").Scan(&stats); err != nil {
		t.Fatal(err)
	}
	if idx != 2 || stats == 0 {
		t.Errorf("%d indexes, %d stat1 rows", idx, stats)
	}
	if est, err := s.Estimate(ctx, seq, nil); err != nil || est != n {
		t.Errorf("estimate %d, %v; want %d", est, err, n)
	}
	var mode string
	if err := db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal mode %q, %v", mode, err)
	}
}

func ids2(rows []engine.Row) []any {
	out := make([]any, len(rows))
	for i, r := range rows {
		out[i] = r[0]
	}
	return out
}

func TestLoadReplaces(t *testing.T) {
	ctx := context.Background()
	path := newDB(t,
		`CREATE TABLE seq (x TEXT)`, `INSERT INTO seq VALUES ('old')`,
		`CREATE VIEW other AS SELECT 1 AS one`,
		`CREATE TABLE keep (a INTEGER)`,
	)
	if err := Load(ctx, path, []*dataset.Table{seqTable("seq", 10), seqTable("other", 5)}, nil); err != nil {
		t.Fatal(err)
	}
	s := openSource(t, path)
	for name, want := range map[string]int64{"seq": 10, "other": 5} {
		c := collection(t, s, name)
		if n, err := s.Count(ctx, c, nil); err != nil || n != want {
			t.Errorf("%s: %d rows, %v; want %d", name, n, err, want)
		}
	}
	collection(t, s, "keep") // other tables survive
}

func TestLoadCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	path := filepath.Join(t.TempDir(), "cancel.db")
	err := Load(ctx, path, []*dataset.Table{seqTable("seq", 500_000)}, func(_ string, done, _ int) {
		if done >= 50_000 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Load after cancel: %v, want context.Canceled", err)
	}
}

func TestLoadRejectsBadRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.db")
	tbl := tableOf("bad", "id", []dataset.Column{{Name: "id", Type: engine.TypeInt}, {Name: "x", Type: engine.TypeText}},
		[][]engine.Value{{int64(1), "a"}, {int64(2)}})
	if err := Load(context.Background(), path, []*dataset.Table{tbl}, nil); err == nil {
		t.Error("Load accepted a row with a missing value")
	}
	tbl = tableOf("bad", "id", []dataset.Column{{Name: "id", Type: engine.TypeInt}, {Name: "x", Type: engine.TypeText}},
		[][]engine.Value{{int64(1), struct{}{}}})
	if err := Load(context.Background(), path, []*dataset.Table{tbl}, nil); err == nil {
		t.Error("Load accepted a value of an unsupported type")
	}
}
