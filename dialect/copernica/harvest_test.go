package copernica

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
)

// harvestStart pages through target with start/limit until start+count
// reaches total, as Copernica's documentation says to.
func harvestStart(t *testing.T, h http.Handler, target string, limit int) []int64 {
	t.Helper()
	var out []int64
	for start := 0; ; {
		e := decode(t, get(h, fmt.Sprintf("%s&start=%d&limit=%d", target, start, limit)))
		if e.Error != nil {
			t.Fatalf("start=%d: %s", start, e.Error.Message)
		}
		out = append(out, ids(t, e)...)
		if e.Start+e.Count >= *e.Total {
			return out
		}
		start += e.Count
	}
}

// harvestNextID pages by ID: each next page asks for ID >= nextid, as the
// documentation recommends, until no nextid comes back.
func harvestNextID(t *testing.T, h http.Handler, target string, limit int) []int64 {
	t.Helper()
	var out []int64
	cond := ""
	for pages := 0; ; pages++ {
		e := decode(t, get(h, fmt.Sprintf("%s&total=false&limit=%d%s", target, limit, cond)))
		if e.Error != nil {
			t.Fatalf("page %d: %s", pages, e.Error.Message)
		}
		out = append(out, ids(t, e)...)
		if e.NextID == nil {
			return out
		}
		cond = "&fields[]=" + url.QueryEscape(fmt.Sprintf("ID>=%d", *e.NextID))
	}
}

// TestHarvest: every way of paging through the dialect returns exactly the
// oracle's rows, in order.
func TestHarvest(t *testing.T) {
	env := newFixture(t)
	db42 := engine.Filter{Field: "database_id", Op: engine.OpEq, Values: []engine.Value{int64(42)}}
	for _, tc := range []struct {
		name    string
		query   string
		filters []engine.Filter
		sort    engine.Sort
		how     func(*testing.T, http.Handler, string, int) []int64
		limit   int
	}{
		{"start", "", nil, engine.Sort{{Field: "id"}}, harvestStart, 97},
		{"nextid", "", nil, engine.Sort{{Field: "id"}}, harvestNextID, 97},
		{"nextid desc", "order=desc", nil, engine.Sort{{Field: "id", Desc: true}}, harvestNextIDDesc, 113},
		{"start modified desc", "orderby=modified&order=desc", nil, engine.Sort{{Field: "modified", Desc: true}}, harvestStart, 89},
		{"start city", "orderby=city", nil, engine.Sort{{Field: "city"}}, harvestStart, 250},
		{"start filtered", "fields[]=country%3D%3DNetherlands&fields[]=name%3D~%25an%25", []engine.Filter{
			{Field: "country", Op: engine.OpEq, Values: []engine.Value{"Netherlands"}},
			{Field: "name", Op: engine.OpContains, Values: []engine.Value{"an"}},
		}, engine.Sort{{Field: "id"}}, harvestStart, 31},
		{"nextid filtered", "fields[]=city%3D~A%25&fields[]=ID%3E300", []engine.Filter{
			{Field: "city", Op: engine.OpPrefix, Values: []engine.Value{"A"}},
			{Field: "id", Op: engine.OpGt, Values: []engine.Value{int64(300)}},
		}, engine.Sort{{Field: "id"}}, harvestNextID, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := env.oracle.Keys(env.oracle.Select(append([]engine.Filter{db42}, tc.filters...), tc.sort))
			got := tc.how(t, env.page, "/v2/database/42/profiles?"+tc.query, tc.limit)
			if err := sameIDs(got, want); err != nil {
				t.Error(err)
			}
			// The streaming host in one response.
			s := decode(t, get(env.stream, "/stream/v2/database/42/profiles?limit=5000&"+tc.query))
			if err := sameIDs(ids(t, s), want); err != nil {
				t.Errorf("stream: %v", err)
			}
		})
	}
}

// harvestNextIDDesc pages by ID downwards: sorted by ID descending, nextid
// is where the next page starts, continued with ID <= nextid.
func harvestNextIDDesc(t *testing.T, h http.Handler, target string, limit int) []int64 {
	t.Helper()
	var out []int64
	cond := ""
	for {
		e := decode(t, get(h, fmt.Sprintf("%s&limit=%d%s", target, limit, cond)))
		out = append(out, ids(t, e)...)
		if e.NextID == nil {
			return out
		}
		cond = "&fields[]=" + url.QueryEscape(fmt.Sprintf("ID<=%d", *e.NextID))
	}
}

// TestHarvestConcurrentInserts: while another connection inserts profiles
// into the same database, a harvest sees every profile that existed at the
// start exactly once — by nextid for any insert, and by start/limit too
// since new profiles get higher IDs, as in Copernica.
func TestHarvestConcurrentInserts(t *testing.T) {
	ctx := context.Background()
	env := newFixture(t)
	o := env.oracle
	path := env.d.Copy(t)
	h := demodb.Handler(t, New, demodb.Open(t, path, config.Demo()), demoMount(t))
	w, err := sql.Open("sqlite3", "file:"+path+"?_busy_timeout=5000")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()

	want := o.Keys(o.Select([]engine.Filter{{Field: "database_id", Op: engine.OpEq, Values: []engine.Value{int64(42)}}}, engine.Sort{{Field: "id"}}))
	existed := map[int64]bool{}
	for _, k := range want {
		existed[k.(int64)] = true
	}
	next := int64(len(o.Rows)) + 1
	for _, how := range []struct {
		name string
		fn   func(*testing.T, http.Handler, string, int) []int64
	}{{"nextid", harvestNextID}, {"start", harvestStart}} {
		t.Run(how.name, func(t *testing.T) {
			wctx, stop := context.WithCancel(ctx)
			var inserts atomic.Int64
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; wctx.Err() == nil; i++ {
					db := int64(42)
					if i%3 == 0 {
						db = 7
					}
					_, err := w.ExecContext(wctx, `INSERT INTO profiles (id, database_id, email, name, city, country, created, modified)
						SELECT ?, ?, email, name, city, country, created, modified FROM profiles WHERE id = 1`, next, db)
					if err != nil {
						if wctx.Err() == nil {
							t.Errorf("insert: %v", err)
						}
						return
					}
					next++
					inserts.Add(1)
					time.Sleep(100 * time.Microsecond)
				}
			}()
			got := how.fn(t, h, "/v2/database/42/profiles?", 37)
			stop()
			wg.Wait()
			if inserts.Load() == 0 {
				t.Fatal("no insert ran during the harvest")
			}
			seen := map[int64]int{}
			var old []int64
			for _, id := range got {
				seen[id]++
				if existed[id] {
					old = append(old, id)
				}
			}
			for id, n := range seen {
				if n != 1 {
					t.Errorf("ID %d seen %d times", id, n)
				}
			}
			if err := sameIDs(old, want); err != nil {
				t.Errorf("profiles that existed at the start: %v (after %d inserts)", err, inserts.Load())
			}
			t.Logf("%d inserts during the harvest; %d new profiles seen", inserts.Load(), len(got)-len(old))
		})
	}
}
