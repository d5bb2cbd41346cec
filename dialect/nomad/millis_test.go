package nomad

import (
	"cmp"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"folio/config"
	"folio/internal/demodb"
)

// sameMillis is a copy of the demo database whose entries are replaced by
// ones of a program of their own whose upload times crowd into a few
// milliseconds: within one
// millisecond the times differ by microseconds, some are equal, and the
// order of the times is unrelated to the order of the entry_ids, so that
// NOMAD's order (millisecond, entry_id) and the exact one disagree inside
// every millisecond. Two milliseconds lie before 1970.
type sameMillis struct {
	h       *Handler
	entries []msEntry
}

type msEntry struct {
	id string
	t  time.Time
}

const msProgram = "MillisecondTest"

func newSameMillis(t *testing.T) *sameMillis {
	t.Helper()
	path := newFixture(t).d.Copy(t)
	db, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(10, 20))
	base := []int64{-2, -1, 0, 1717097142713, 1717097142714, 1717097142716, 1764824576604}
	var entries []msEntry
	const alphabet = "-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
	for i := range 160 {
		ms := base[rng.IntN(len(base))]
		micro := rng.Int64N(1000)
		switch {
		case i%7 == 0:
			micro = 500 // equal times: entry_id alone orders them
		case i%11 == 0:
			micro = 0 // the first instant of a millisecond
		}
		id := make([]byte, 28)
		for j := range id {
			id[j] = alphabet[rng.IntN(len(alphabet))]
		}
		e := msEntry{id: string(id), t: time.UnixMicro(ms*1000 + micro).UTC()}
		entries = append(entries, e)
		_, err := db.Exec(`INSERT INTO entries (entry_id, upload_id, upload_create_time, entry_create_time, formula, elements, n_elements, n_atoms, band_gap, method, program_name, public)
			VALUES (?, 'ms-upload', ?, ?, 'O2Ti', '["O","Ti"]', 2, 3, NULL, 'DFT', ?, 1)`,
			e.id, e.t.Format("2006-01-02T15:04:05.000000Z"), e.t.Format("2006-01-02T15:04:05.000000Z"), msProgram)
		if err != nil {
			t.Fatal(err)
		}
	}
	// The other entries only slow the walks down: each page would scan
	// the demo's uploads between the test's milliseconds.
	if _, err := db.Exec(`DELETE FROM entries WHERE program_name <> ?`, msProgram); err != nil {
		t.Fatal(err)
	}
	h := demodb.Handler(t, New, demodb.Open(t, path, config.Demo()), demoMount(t)).(*Handler)
	return &sameMillis{h: h, entries: entries}
}

// want is NOMAD's order of the test entries: by the millisecond, then
// entry_id, both in the direction asked.
func (s *sameMillis) want(desc bool) []string {
	es := slices.Clone(s.entries)
	slices.SortFunc(es, func(a, b msEntry) int {
		c := cmp.Or(cmp.Compare(a.t.UnixMilli(), b.t.UnixMilli()), cmp.Compare(a.id, b.id))
		if desc {
			return -c
		}
		return c
	})
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.id
	}
	return out
}

// request posts one page request of the test entries.
func (s *sameMillis) request(t *testing.T, orderBy string, desc bool, size int, pagination map[string]any) envelope {
	t.Helper()
	order := "asc"
	if desc {
		order = "desc"
	}
	p := map[string]any{"page_size": size, "order_by": orderBy, "order": order}
	for k, v := range pagination {
		p[k] = v
	}
	return decodeEnvelope(t, post(s.h, body(t, map[string]any{
		"query":      map[string]any{"results.method.simulation.program_name": msProgram},
		"pagination": p,
		"required":   map[string]any{"include": []string{"entry_id"}},
	})))
}

// TestHarvestSameMillisecond: entries whose times share a millisecond are
// harvested through integer-millisecond cursors exactly once each, in
// NOMAD's order, in both directions and at every page size; page and
// page_offset give the same order, and a walk that starts with page and
// goes on with the cursors it returns too.
func TestHarvestSameMillisecond(t *testing.T) {
	s := newSameMillis(t)
	for _, orderBy := range []string{"upload_create_time"} {
		for _, desc := range []bool{false, true} {
			want := s.want(desc)
			for _, size := range []int{1, 2, 3, 7, 19, 50, 200} {
				name := fmt.Sprintf("%s desc=%v size=%d", orderBy, desc, size)
				// By cursor.
				var got []string
				var after any
				for pages := 0; ; pages++ {
					env := s.request(t, orderBy, desc, size, map[string]any{"page_after_value": after})
					got = append(got, ids(env)...)
					if *env.Pagination.Total != int64(len(want)) {
						t.Fatalf("%s: total %d, want %d", name, *env.Pagination.Total, len(want))
					}
					if env.Pagination.NextPageAfterValue == nil {
						break
					}
					c := *env.Pagination.NextPageAfterValue
					if _, err := fmt.Sscanf(c, "%d:", new(int64)); err != nil || pages > len(want) {
						t.Fatalf("%s: cursor %q is not <integer ms>:<entry_id>", name, c)
					}
					after = c
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s: cursor harvest of %d entries, want %d; first difference at %d", name, len(got), len(want), firstDiff(got, want))
				}
				// By page and by page_offset.
				var byPage, byOffset []string
				for page := 1; (page-1)*size < len(want); page++ {
					byPage = append(byPage, ids(s.request(t, orderBy, desc, size, map[string]any{"page": page}))...)
					byOffset = append(byOffset, ids(s.request(t, orderBy, desc, size, map[string]any{"page_offset": (page - 1) * size}))...)
				}
				if !slices.Equal(byPage, want) || !slices.Equal(byOffset, want) {
					t.Errorf("%s: page mode differs at %d, offset mode at %d", name, firstDiff(byPage, want), firstDiff(byOffset, want))
				}
				// page=2, then its cursors.
				if size < len(want) {
					env := s.request(t, orderBy, desc, size, map[string]any{"page": 2})
					mixed := append(slices.Clone(want[:size]), ids(env)...)
					for env.Pagination.NextPageAfterValue != nil {
						env = s.request(t, orderBy, desc, size, map[string]any{"page_after_value": *env.Pagination.NextPageAfterValue})
						mixed = append(mixed, ids(env)...)
					}
					if !slices.Equal(mixed, want) {
						t.Errorf("%s: page 2 then cursors differ at %d", name, firstDiff(mixed, want))
					}
				}
			}
		}
	}
}

// TestDateCursorOfAnotherMillisecond: a cursor of a millisecond no entry
// has, or of an entry that is gone, still divides the order exactly where
// its millisecond and entry_id fall.
func TestDateCursorOfAnotherMillisecond(t *testing.T) {
	s := newSameMillis(t)
	for _, desc := range []bool{false, true} {
		want := s.want(desc)
		for _, c := range []struct {
			ms int64
			id string
		}{{1717097142715, ""}, {1717097142714, "M"}, {-1, "zzz"}, {0, "0"}, {1717097142713, "~"}} {
			var rest []string
			for _, e := range want {
				ms := time.Time{}
				for _, x := range s.entries {
					if x.id == e {
						ms = x.t
					}
				}
				k := cmp.Or(cmp.Compare(ms.UnixMilli(), c.ms), cmp.Compare(e, c.id))
				if desc && k < 0 || !desc && k > 0 {
					rest = append(rest, e)
				}
			}
			after := fmt.Sprintf("%d:%s", c.ms, c.id)
			got := ids(s.request(t, "upload_create_time", desc, 1000, map[string]any{"page_after_value": after}))
			if !slices.Equal(got, rest) {
				t.Errorf("desc=%v after %q: %d entries, want %d; first difference at %d", desc, after, len(got), len(rest), firstDiff(got, rest))
			}
		}
	}
}
