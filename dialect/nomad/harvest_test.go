package nomad

import (
	"context"
	"database/sql"
	"math/rand/v2"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
)

// harvestCase is one query harvested through page_after_value.
type harvestCase struct {
	query   map[string]any
	orderBy string // NOMAD name
	desc    bool
	filters []engine.Filter // the same query for the oracle
	sortCol string          // the same order for the oracle
}

var harvestCases = []harvestCase{
	{tiO, "upload_create_time", true, []engine.Filter{{Field: "elements", Op: engine.OpAll, Values: []engine.Value{"Ti", "O"}}}, "upload_create_time"},
	{tiO, "entry_id", false, []engine.Filter{{Field: "elements", Op: engine.OpAll, Values: []engine.Value{"Ti", "O"}}}, "entry_id"},
	{map[string]any{"results.material.elements:any": []string{"Ti", "Fe"}}, "results.properties.electronic.band_gap.value", false,
		[]engine.Filter{{Field: "elements", Op: engine.OpAny, Values: []engine.Value{"Ti", "Fe"}}}, "band_gap"},
	{map[string]any{"results.material.elements:any": []string{"Ti", "Fe"}}, "results.properties.electronic.band_gap.value", true,
		[]engine.Filter{{Field: "elements", Op: engine.OpAny, Values: []engine.Value{"Ti", "Fe"}}}, "band_gap"},
	{map[string]any{"results.material.n_elements": map[string]any{"gte": 4, "lt": 6}}, "results.material.chemical_formula_hill", true,
		[]engine.Filter{{Field: "n_elements", Op: engine.OpGte, Values: []engine.Value{int64(4)}}, {Field: "n_elements", Op: engine.OpLt, Values: []engine.Value{int64(6)}}}, "formula"},
	{map[string]any{"results.method.simulation.program_name": "VASP"}, "results.properties.structures.structure_original.nsites", false,
		[]engine.Filter{{Field: "program_name", Op: engine.OpEq, Values: []engine.Value{"VASP"}}}, "n_atoms"},
	{map[string]any{"results.material.elements": "Ti"}, "entry_create_time", false,
		[]engine.Filter{{Field: "elements", Op: engine.OpAll, Values: []engine.Value{"Ti"}}}, "entry_create_time"},
}

// harvestPOST pages through hc with POST requests of size rows, following
// next_page_after_value; pause runs between pages.
func harvestPOST(t testing.TB, h http.Handler, hc harvestCase, size int, pause func()) []string {
	t.Helper()
	order := "asc"
	if hc.desc {
		order = "desc"
	}
	var after any
	var out []string
	seen := map[string]bool{}
	for pages := 0; ; pages++ {
		env := decodeEnvelope(t, post(h, body(t, map[string]any{
			"query":      hc.query,
			"pagination": map[string]any{"page_size": size, "order_by": hc.orderBy, "order": order, "page_after_value": after},
			"required":   map[string]any{"include": []string{"entry_id"}},
		})))
		for _, id := range ids(env) {
			if seen[id] {
				t.Fatalf("%s %s: entry %s twice (page %d)", hc.orderBy, order, id, pages)
			}
			seen[id] = true
			out = append(out, id)
		}
		if env.Pagination.NextPageAfterValue == nil {
			if len(env.Data) == 0 && pages > 0 {
				t.Errorf("%s %s: an empty last page: folio sends no cursor to it", hc.orderBy, order)
			}
			return out
		}
		after = *env.Pagination.NextPageAfterValue
		if pause != nil {
			pause()
		}
	}
}

// TestHarvest harvests each query through page_after_value and compares
// it with the brute-force oracle: no duplicate, no miss, same order. The
// sorts have ties (uploads share a time), NULLs (band gaps) and sub-
// millisecond dates.
func TestHarvest(t *testing.T) {
	fx := newFixture(t)
	for _, hc := range harvestCases {
		// Entries with no value last in both directions, as NOMAD
		// (Elasticsearch) orders them.
		sort := engine.Sort{{Field: hc.sortCol, Desc: hc.desc, Nulls: engine.NullsLast}}
		if hc.sortCol != "entry_id" {
			sort = append(sort, engine.SortKey{Field: "entry_id", Desc: hc.desc})
		}
		want := oracleIDs(t, hc.filters, sort)
		for _, size := range []int{1000, 37} {
			got := harvestPOST(t, fx.h, hc, size, nil)
			if !slices.Equal(got, want) {
				t.Errorf("%s desc=%v size %d: %d entries, want %d; first difference at %d", hc.orderBy, hc.desc, size, len(got), len(want), firstDiff(got, want))
			}
		}
	}
}

// TestPageModes checks page and page_offset against the cursor harvest:
// the same rows, within the first 10000.
func TestPageModes(t *testing.T) {
	fx := newFixture(t)
	hc := harvestCases[0]
	want := harvestPOST(t, fx.h, hc, 1000, nil)
	var byPage, byOffset []string
	for page := 1; ; page++ {
		env := decodeEnvelope(t, post(fx.h, body(t, map[string]any{
			"query":      hc.query,
			"pagination": map[string]any{"page_size": 40, "order_by": hc.orderBy, "order": "desc", "page": page},
		})))
		byPage = append(byPage, ids(env)...)
		env2 := decodeEnvelope(t, post(fx.h, body(t, map[string]any{
			"query":      hc.query,
			"pagination": map[string]any{"page_size": 40, "order_by": hc.orderBy, "order": "desc", "page_offset": (page - 1) * 40},
		})))
		byOffset = append(byOffset, ids(env2)...)
		if env.Pagination.NextPageAfterValue == nil {
			break
		}
	}
	if !slices.Equal(byPage, want) || !slices.Equal(byOffset, want) {
		t.Errorf("page mode %d / offset mode %d entries differ from the cursor harvest of %d", len(byPage), len(byOffset), len(want))
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestHarvestConcurrentInserts harvests while another connection inserts
// entries that match the query, some sharing the sort values of existing
// ones: every entry that existed at the start appears exactly once, in the
// oracle's order.
func TestHarvestConcurrentInserts(t *testing.T) {
	ctx := context.Background()
	path := newFixture(t).d.Copy(t)
	h := demodb.Handler(t, New, demodb.Open(t, path, config.Demo()), demoMount(t))
	db, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)

	for _, hc := range harvestCases[:3] {
		// Entries with no value last in both directions, as NOMAD
		// (Elasticsearch) orders them.
		sort := engine.Sort{{Field: hc.sortCol, Desc: hc.desc, Nulls: engine.NullsLast}}
		if hc.sortCol != "entry_id" {
			sort = append(sort, engine.SortKey{Field: "entry_id", Desc: hc.desc})
		}
		want := oracleIDs(t, hc.filters, sort)
		templates := want[:min(len(want), 50)]

		wctx, cancel := context.WithCancel(ctx)
		var writes atomic.Int64
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(7, uint64(len(hc.orderBy))))
			const alphabet = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
			for wctx.Err() == nil {
				id := make([]byte, 28)
				for i := range id {
					id[i] = alphabet[rng.IntN(len(alphabet))]
				}
				// A copy of a matching entry under a new random id: the same
				// sort value, so it lands among the ties, before or after the
				// harvest's position.
				_, err := db.ExecContext(wctx, `INSERT INTO entries (entry_id, upload_id, upload_create_time, entry_create_time, formula, elements, n_elements, n_atoms, band_gap, method, program_name, public)
					SELECT ?, upload_id, upload_create_time, entry_create_time, formula, elements, n_elements, n_atoms, band_gap, method, program_name, public FROM entries WHERE entry_id = ?`,
					string(id), templates[rng.IntN(len(templates))])
				if err != nil && wctx.Err() == nil {
					t.Errorf("insert: %v", err)
					return
				}
				writes.Add(1)
				time.Sleep(100 * time.Microsecond)
			}
		}()
		size := max(13, len(want)/40) // about 40 pages, each a chance to interleave
		got := harvestPOST(t, h, hc, size, func() { time.Sleep(time.Millisecond) })
		cancel()
		wg.Wait()

		original := map[string]bool{}
		for _, id := range want {
			original[id] = true
		}
		var gotOriginal []string
		for _, id := range got {
			if original[id] {
				gotOriginal = append(gotOriginal, id)
			}
		}
		if !slices.Equal(gotOriginal, want) {
			t.Errorf("%s: %d of %d original entries, in order: first difference at %d", hc.orderBy, len(gotOriginal), len(want), firstDiff(gotOriginal, want))
		}
		if writes.Load() < 20 {
			t.Errorf("only %d concurrent inserts: the test proves little", writes.Load())
		}
		t.Logf("%s: %d entries harvested, %d original, %d concurrent inserts", hc.orderBy, len(got), len(want), writes.Load())
	}
}
