package conformance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"folio/dataset"
	"folio/engine"
)

// Writer runs one write statement, with ? placeholders, on a connection of
// its own against the database a Harness loaded.
type Writer func(ctx context.Context, query string, args ...any) error

// Harness adapts a Source to the suite.
type Harness struct {
	// Load creates the tables in a fresh database and returns a Source over
	// it and a Writer for concurrent changes.
	Load func(t testing.TB, tables []*dataset.Table) (engine.Source, Writer)
	// Cases is the number of random queries to harvest; 0 means 10,000.
	Cases int
	// Stored, for a source that keeps whatever a writer stores in a
	// column (SQLite), says how it stores a value of each type; the suite
	// then also harvests Cases random queries over tables with mistyped
	// cells (MistypedTable). nil: the source enforces its column types.
	Stored Store
	// AccessCases is the number of random access rules, grants and
	// principals to check (testAccess); 0 means 2,000.
	AccessCases int
}

// Run runs every conformance test against the harness's source.
func Run(t *testing.T, h Harness) {
	t.Run("Paging", func(t *testing.T) { testPaging(t, h) })
	t.Run("ConcurrentWrites", func(t *testing.T) { testConcurrentWrites(t, h) })
	t.Run("Access", func(t *testing.T) { testAccess(t, h) })
	if h.Stored != nil {
		t.Run("Mistyped", func(t *testing.T) { testMistyped(t, h) })
	}
}

// NewEngine returns an engine over src publishing every discovered collection.
func NewEngine(t testing.TB, src engine.Source) *engine.Engine {
	t.Helper()
	cols, err := src.Collections(context.Background())
	if err != nil {
		t.Fatalf("discover collections: %v", err)
	}
	signer, err := engine.NewSigner([]byte("conformance-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(src, signer, cols)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// pagingTables is the number of random tables the paging tests load.
const pagingTables = 40

// tableSize is the number of rows of the i-th random table: mostly small,
// so that ends, ties and empty results are common, every tenth a few
// hundred rows.
func tableSize(rng *rand.Rand, i int) int {
	n := rng.IntN(60)
	if i%10 == 0 {
		n = 200 + rng.IntN(100)
	}
	return n
}

// oracle answers a query by brute force: *Oracle, or storedOracle for
// tables with mistyped cells.
type oracle interface {
	Select(filters []engine.Filter, sort engine.Sort) [][]engine.Value
	Keys(rows [][]engine.Value) []engine.Value
}

// testPaging holds invariants 1-3 against the oracle: forward, backward from
// the end and random next/prev walks over random tables, sorts, filters and
// limits, plus offset pages and exact totals.
func testPaging(t *testing.T, h Harness) {
	rng := rand.New(rand.NewPCG(7, 11))
	var tables []*dataset.Table
	var oracles []oracle
	for i := range pagingTables {
		tb := RandomTable(rng, fmt.Sprintf("rt%02d", i), tableSize(rng, i), KeyKind(i%3))
		tables = append(tables, tb)
		oracles = append(oracles, NewOracle(tb))
	}
	harvestRandom(t, h, tables, oracles, 99)
}

// harvestRandom loads tables and checks h.Cases random queries over them
// (checkQuery), on four workers whose random streams depend on seed.
func harvestRandom(t *testing.T, h Harness, tables []*dataset.Table, oracles []oracle, seed uint64) {
	cases := h.Cases
	if cases == 0 {
		cases = 10000
	}
	src, _ := h.Load(t, tables)
	e := NewEngine(t, src)

	var done atomic.Int64
	workers := 4
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), seed))
			for i := w; i < cases && !t.Failed(); i += workers {
				ti := rng.IntN(len(tables))
				q := RandomQuery(rng, tables[ti])
				limit := 1 + rng.IntN(12)
				if err := checkQuery(e, tables[ti].Name, oracles[ti], q, limit, rng); err != nil {
					t.Errorf("table %s, sort %v, filters %v, limit %d: %v", tables[ti].Name, q.Sort, q.Filters, limit, err)
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	t.Logf("%d random queries harvested forward, backward, in random walks and by offset", done.Load())
}

func checkQuery(e *engine.Engine, name string, o oracle, q engine.Query, limit int, rng *rand.Rand) error {
	ctx := context.Background()
	c, err := e.Collection(name)
	if err != nil {
		return err
	}
	want := o.Keys(o.Select(q.Filters, q.Sort))

	// Invariant 1: forward.
	var got []engine.Value
	w := engine.Window{Limit: limit}
	for pages := 0; ; pages++ {
		p, err := e.Page(ctx, c, q, w, engine.TotalNone)
		if err != nil {
			return fmt.Errorf("forward page %d: %w", pages, err)
		}
		got = append(got, PageKeys(p)...)
		if !p.HasNext {
			break
		}
		if len(p.Rows) != limit {
			return fmt.Errorf("forward page %d has %d rows and a next page", pages, len(p.Rows))
		}
		if pages > len(want)+1 {
			return fmt.Errorf("forward harvest does not end")
		}
		w = engine.Window{Limit: limit, At: engine.Token(p.Next)}
	}
	if err := sameKeys(got, want); err != nil {
		return fmt.Errorf("forward: %w", err)
	}

	// Invariant 2: backward from the end.
	got = got[:0]
	w = engine.Window{Limit: limit, At: engine.Last{}}
	for pages := 0; ; pages++ {
		p, err := e.Page(ctx, c, q, w, engine.TotalNone)
		if err != nil {
			return fmt.Errorf("backward page %d: %w", pages, err)
		}
		keys := PageKeys(p)
		got = append(keys, got...)
		if !p.HasPrev {
			break
		}
		if pages > len(want)+1 {
			return fmt.Errorf("backward harvest does not end")
		}
		w = engine.Window{Limit: limit, At: engine.Token(p.Prev)}
	}
	if err := sameKeys(got, want); err != nil {
		return fmt.Errorf("backward: %w", err)
	}

	// Invariant 2: a random walk of next and prev steps stays on the oracle.
	pos := 0 // oracle index of the page's first row
	p, err := e.Page(ctx, c, q, engine.Window{Limit: limit}, engine.TotalNone)
	if err != nil {
		return err
	}
	for step := 0; step < 8; step++ {
		end := min(pos+len(p.Rows), len(want))
		if err := sameKeys(PageKeys(p), want[pos:end]); err != nil {
			return fmt.Errorf("walk step %d at %d: %w", step, pos, err)
		}
		if p.HasNext != (pos+len(p.Rows) < len(want)) {
			return fmt.Errorf("walk step %d: has_next %v at %d of %d", step, p.HasNext, pos+len(p.Rows), len(want))
		}
		switch {
		case p.HasNext && (rng.IntN(2) == 0 || !p.HasPrev):
			pos += len(p.Rows)
			p, err = e.Page(ctx, c, q, engine.Window{Limit: limit, At: engine.Token(p.Next)}, engine.TotalNone)
		case p.HasPrev:
			pos = max(pos-limit, 0)
			p, err = e.Page(ctx, c, q, engine.Window{Limit: limit, At: engine.Token(p.Prev)}, engine.TotalNone)
		default:
			step = 8
		}
		if err != nil {
			return fmt.Errorf("walk step %d: %w", step, err)
		}
	}

	// Offset pages and the exact total.
	off := rng.IntN(len(want) + 2)
	p, err = e.Page(ctx, c, q, engine.Window{Limit: limit, At: engine.Offset(off)}, engine.TotalExact)
	if err != nil {
		return fmt.Errorf("offset %d: %w", off, err)
	}
	if p.Total == nil || p.Total.Count != int64(len(want)) || p.Total.Estimate {
		return fmt.Errorf("exact total %+v, want %d", p.Total, len(want))
	}
	lo, hi := min(off, len(want)), min(off+limit, len(want))
	if err := sameKeys(PageKeys(p), want[lo:hi]); err != nil {
		return fmt.Errorf("offset %d: %w", off, err)
	}
	if p.HasNext != (hi < len(want)) {
		return fmt.Errorf("offset %d: has_next %v with %d rows", off, p.HasNext, len(want))
	}
	return nil
}

// PageKeys returns the key of each row of p, as Oracle.Keys does.
func PageKeys(p *engine.Page) []engine.Value {
	var idx []int
	for _, kf := range p.Collection.KeyFields() {
		idx = append(idx, slices.Index(p.Columns, kf))
	}
	out := make([]engine.Value, len(p.Rows))
	for i, r := range p.Rows {
		out[i] = KeyOf(r, idx)
	}
	return out
}

func sameKeys(got, want []engine.Value) error {
	for i := range min(len(got), len(want)) {
		if engine.Compare(got[i], want[i]) != 0 {
			return fmt.Errorf("row %d: key %v, want %v (got %d rows, want %d)", i, got[i], want[i], len(got), len(want))
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("got %d rows, want %d", len(got), len(want))
	}
	return nil
}

// testConcurrentWrites holds invariant 4: a forward harvest while another
// connection inserts, updates and deletes other rows sees every stable row
// exactly once, in order.
func testConcurrentWrites(t *testing.T, h Harness) {
	rng := rand.New(rand.NewPCG(3, 5))
	const n = 3000
	tb := RandomTable(rng, "churn", n, IntKey)
	o := NewOracle(tb)
	src, write := h.Load(t, []*dataset.Table{tb})
	e := NewEngine(t, src)
	c, err := e.Collection("churn")
	if err != nil {
		t.Fatal(err)
	}
	// Even ids are stable; odd ids are fair game for the writer.
	stable := map[int64]bool{}
	var volatile []int64
	var anyStable int64
	for _, r := range o.Rows {
		if id := r[0].(int64); id%2 == 0 {
			stable[id] = true
			anyStable = id
		} else {
			volatile = append(volatile, id)
		}
	}

	next := int64(1_000_001) // new odd ids, never reused across queries
	for _, q := range []engine.Query{
		{Sort: engine.Sort{{Field: "a"}}},
		{Sort: engine.Sort{{Field: "t", Desc: true}, {Field: "s"}}},
		{Sort: engine.Sort{{Field: "f", Desc: true}}, Filters: []engine.Filter{{Field: "b", Op: engine.OpNull, Values: []engine.Value{false}}}},
		{Sort: engine.Sort{{Field: "f", Desc: true, Nulls: engine.NullsLast}, {Field: "a", Nulls: engine.NullsFirst}}},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		var writes atomic.Int64
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			wrng := rand.New(rand.NewPCG(1, uint64(len(q.Sort))))
			for ctx.Err() == nil {
				var err error
				id := volatile[wrng.IntN(len(volatile))]
				switch wrng.IntN(3) {
				case 0:
					// t is copied from a stable row so that the writer needs no
					// knowledge of how the source stores times.
					err = write(ctx, `INSERT INTO churn (id, a, f, s, t, b) SELECT ?, ?, ?, ?, t, b FROM churn WHERE id = ?`,
						next, intPool[wrng.IntN(len(intPool))], floatPool[wrng.IntN(len(floatPool))], textPool[wrng.IntN(len(textPool))],
						anyStable)
					next += 2
				case 1:
					err = write(ctx, `UPDATE churn SET a = ?, f = ?, s = ? WHERE id = ?`,
						intPool[wrng.IntN(len(intPool))], floatPool[wrng.IntN(len(floatPool))], textPool[wrng.IntN(len(textPool))], id)
				case 2:
					err = write(ctx, `DELETE FROM churn WHERE id = ?`, id)
				}
				if err != nil && ctx.Err() == nil {
					t.Errorf("write: %v", err)
					return
				}
				writes.Add(1)
				time.Sleep(50 * time.Microsecond)
			}
		}()

		want := o.Select(q.Filters, q.Sort)
		var wantStable []engine.Value
		for _, k := range o.Keys(want) {
			if stable[k.(int64)] {
				wantStable = append(wantStable, k)
			}
		}
		var gotStable []engine.Value
		seen := map[int64]int{}
		w := engine.Window{Limit: 17}
		pages := 0
		for {
			p, err := e.Page(ctx, c, q, w, engine.TotalNone)
			if err != nil {
				t.Fatalf("page %d: %v", pages, err)
			}
			pages++
			for _, k := range PageKeys(p) {
				id := k.(int64)
				seen[id]++
				if stable[id] {
					gotStable = append(gotStable, k)
				}
			}
			if !p.HasNext {
				break
			}
			w = engine.Window{Limit: 17, At: engine.Token(p.Next)}
			time.Sleep(200 * time.Microsecond) // let the writer interleave
		}
		cancel()
		wg.Wait()
		if err := sameKeys(gotStable, wantStable); err != nil {
			t.Errorf("sort %v: stable rows: %v", q.Sort, err)
		}
		for id, k := range seen {
			if stable[id] && k != 1 {
				t.Errorf("sort %v: stable row %d seen %d times", q.Sort, id, k)
			}
		}
		if writes.Load() < 50 {
			t.Errorf("only %d concurrent writes during %d pages; the test proves little", writes.Load(), pages)
		}
		t.Logf("sort %v: %d pages, %d stable rows, %d concurrent writes", q.Sort, pages, len(gotStable), writes.Load())
	}
}

// Collection returns the collection src discovers under name, failing the
// test when there is none.
func Collection(t testing.TB, src engine.Source, name string) *engine.Collection {
	t.Helper()
	cols, err := src.Collections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no collection %q", name)
	return nil
}
