package sqlite

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"folio/engine"
)

// TestPipeline: a long query, read on a second goroutine, yields exactly
// the rows that short (unpipelined) queries yield page by page, publishes
// a mistyped value as stored, and stops at emit's error or the
// statement's without running on.
func TestPipeline(t *testing.T) {
	const n = pipelineMin + 3*batchRows*batches + 17 // more than a page; several rounds of every batch, and a partial one
	path := bigTable(t, n)
	s := openSource(t, path)
	c := collection(t, s, "big")
	order := []engine.OrderKey{{Field: field(t, c, "t"), Desc: true}, {Field: c.KeyField(), Desc: true}}
	plan := &engine.Plan{Collection: c, Columns: c.Fields, Order: order}

	all := run(t, s, plan)
	var paged []engine.Row
	for off := 0; off < n; off += pipelineMin {
		paged = append(paged, run(t, s, &engine.Plan{Collection: c, Columns: c.Fields, Order: order, Limit: pipelineMin, Offset: off})...)
	}
	if len(all) != n || !slices.EqualFunc(all, paged, func(a, b engine.Row) bool {
		return slices.EqualFunc(a, b, func(x, y engine.Value) bool { return engine.Compare(x, y) == 0 })
	}) {
		t.Fatalf("the pipelined query gave %d rows, the pages %d, and they differ", len(all), len(paged))
	}
	// Times repeat in runs of seven rows, which the decoder reuses: each
	// must still be its own row's.
	ti, id := slices.Index(c.Fields, field(t, c, "t")), slices.Index(c.Fields, c.KeyField())
	for _, r := range all {
		if want := time.Unix(1700000000+r[id].(int64)/7, 0).UTC(); !r[ti].(time.Time).Equal(want) {
			t.Fatalf("row %d: time %v, want %v", r[id], r[ti], want)
		}
	}
	if got := run(t, s, &engine.Plan{Collection: c, Columns: c.Fields, Order: order, Limit: pipelineMin + 1, Offset: 5}); len(got) != pipelineMin+1 {
		t.Errorf("limit %d: %d rows", pipelineMin+1, len(got))
	}

	stop := errors.New("stop")
	for _, at := range []int{1, batchRows, batchRows + 1, n - 1} {
		emitted := 0
		err := s.Query(context.Background(), plan, func(engine.Row) error {
			emitted++
			if emitted == at {
				return stop
			}
			return nil
		})
		if err != stop || emitted != at {
			t.Errorf("emit failing at row %d: %v after %d rows", at, err, emitted)
		}
	}

	// A value that is not of its column's type, far into the stream: the
	// row is published with the value as stored, and the rows after it.
	w := writer(t, path)
	if _, err := w.Exec(`UPDATE big SET v = 'not a number' WHERE id = 2000`); err != nil {
		t.Fatal(err)
	}
	keyOrder := []engine.OrderKey{{Field: c.KeyField()}}
	vi := slices.Index(c.Fields, field(t, c, "v"))
	got := run(t, s, &engine.Plan{Collection: c, Columns: c.Fields, Order: keyOrder})
	if len(got) != n || got[1999][vi] != "not a number" {
		t.Errorf("a mistyped value at row 2000: %d rows, row 2000 holds %#v", len(got), got[1999][vi])
	}

	// A statement that fails far into the stream (SQLite's integer
	// overflow, in a view's expression at row 2000): an error, not a
	// hang, and no row after it.
	if _, err := w.Exec(`CREATE VIEW failing AS SELECT id, CASE WHEN id = 2000 THEN abs(-9223372036854775807 - 1) ELSE id END AS v FROM big`); err != nil {
		t.Fatal(err)
	}
	fc := collection(t, s, "failing")
	emitted := 0
	err := s.Query(context.Background(), &engine.Plan{Collection: fc, Columns: fc.Fields, Order: []engine.OrderKey{{Field: field(t, fc, "id")}}}, func(engine.Row) error {
		emitted++
		return nil
	})
	if err == nil || emitted != 1999 {
		t.Errorf("a statement failing at row 2000: %v after %d rows", err, emitted)
	}
	// The pool survives: every statement was closed.
	if n2, err := s.Count(context.Background(), c, nil); err != nil || n2 != n {
		t.Errorf("count afterwards: %d, %v", n2, err)
	}
}
