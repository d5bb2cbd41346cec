package nomad

import (
	"context"
	"fmt"
	"slices"
	"time"

	"folio/engine"
)

// NOMAD orders by a date as Elasticsearch stores it, in whole milliseconds,
// and writes it so in page_after_value ("1717097142713:<entry_id>"):
// entries whose times share a millisecond tie, and entry_id breaks the tie.
// folio's times may be finer (the demo's have microseconds), and the engine
// orders by the exact time. So that the cursor NOMAD's clients hold is
// exact, a date order is served in NOMAD's order, (millisecond, entry_id),
// which the cursor states completely; the engine's order, (time, entry_id),
// differs from it only inside a millisecond, so a page is assembled from
// engine pages:
//
//   - the rest of the cursor's millisecond, as the engine orders it by
//     entry_id alone within that millisecond;
//   - then the entries beyond that millisecond, in the engine's order,
//     starting from a boundary in that millisecond (the engine's transparent
//     After) with the millisecond itself filtered out;
//   - the entries of each millisecond on the page put in entry_id order, and
//     a millisecond the page's end cuts in two read again by entry_id, so
//     that the page holds its first entries in NOMAD's order.
//
// A page by page or page_offset starts at its offset in the same order: the
// entry at that offset in the engine's order gives the millisecond, and
// how many of that millisecond's entries precede it gives the position in
// it. Entries without a date (NULL) come last, ordered by entry_id alone
// in either order, so they need none of this.

// millisPage returns the page req asks for, of a date order, in NOMAD's
// order, with the exact total.
func (h *Handler) millisPage(ctx context.Context, req *request) (*engine.Page, error) {
	total, err := h.e.Total(ctx, h.c, req.query, engine.TotalExact)
	if err != nil {
		return nil, err
	}
	m := &millis{h: h, ctx: ctx, req: req, t: req.orderBy.f, id: h.s.id.f}
	p, err := m.page()
	if err != nil {
		return nil, err
	}
	p.Total = &total
	return p, nil
}

// millis assembles one page of a date order.
type millis struct {
	h     *Handler
	ctx   context.Context
	req   *request
	t, id *engine.Field
	// cols are the columns of the first engine page read; the rows of
	// every other are put in the same layout.
	cols   []*engine.Field
	fields []int
}

func (m *millis) page() (*engine.Page, error) {
	n := m.req.size
	var (
		ms     int64 // the millisecond the page starts in, when start is set
		start  bool
		within engine.Position // where in that millisecond, by entry_id
		edge   engine.Value    // an entry_id for the boundary after it
		rest   engine.Position // where the engine's order continues otherwise
	)
	switch at := m.req.window.At.(type) {
	case nil:
	case engine.After:
		if at[0] == nil {
			rest = at // among the entries without a date, ordered by entry_id
			break
		}
		ms, start, within, edge = at[0].(time.Time).UnixMilli(), true, engine.After{at[1]}, at[1]
	case engine.Offset:
		first, err := m.read(m.req.query, m.req.query.Sort, engine.Window{Limit: 1, At: at})
		if err != nil || len(first.Rows) == 0 {
			return m.result(nil, false), err
		}
		r0 := first.SortValues(first.Rows[0])
		t0, ok := r0[0].(time.Time)
		if !ok {
			// No date (NULL), or a value stored in the column that is no
			// time (published as stored, after every time): no millisecond.
			rest = at
			break
		}
		ms, start, edge = t0.UnixMilli(), true, r0[1]
		// The entries of this millisecond that the engine's order puts
		// before the one at the offset precede it in NOMAD's order too.
		q := m.with(m.bucket(ms), m.before(r0))
		j, err := m.h.e.Total(m.ctx, m.h.c, q, engine.TotalExact)
		if err != nil {
			return nil, err
		}
		within = engine.Offset(j.Count)
	default:
		return nil, fmt.Errorf("nomad: a date order cannot start at %T", at)
	}

	var rows []engine.Row
	if start {
		a, err := m.read(m.with(m.bucket(ms)), m.byID(), engine.Window{Limit: n, At: within})
		if err != nil {
			return nil, err
		}
		rows = a.Rows
		if a.HasNext {
			return m.result(rows, true), nil
		}
		// Beyond the millisecond: after a boundary inside it, without it.
		rest = engine.After{time.UnixMilli(ms).UTC(), edge}
	}
	q := m.req.query
	if start {
		q = m.with([]engine.Filter{{Op: engine.OpNot, Sub: [][]engine.Filter{m.bucket(ms)}}})
	}
	if len(rows) == n {
		// The page is full; one more entry says whether another follows.
		b, err := m.read(q, m.req.query.Sort, engine.Window{Limit: 1, At: rest})
		if err != nil {
			return nil, err
		}
		return m.result(rows, len(b.Rows) > 0), nil
	}
	b, err := m.read(q, m.req.query.Sort, engine.Window{Limit: n - len(rows), At: rest})
	if err != nil {
		return nil, err
	}
	tail, err := m.nomadOrder(b)
	if err != nil {
		return nil, err
	}
	return m.result(append(rows, tail...), b.HasNext), nil
}

// nomadOrder puts the rows of an engine page in NOMAD's order: the entries
// of each millisecond by entry_id. A millisecond that continues on the
// next page is read again, its first entries by entry_id, so that the next
// page's cursor, (millisecond, last entry_id), leaves none of it out.
func (m *millis) nomadOrder(p *engine.Page) ([]engine.Row, error) {
	rows := p.Rows
	ti, ii := slices.Index(m.cols, m.t), slices.Index(m.cols, m.id)
	bucket := func(r engine.Row) (int64, bool) {
		t, ok := r[ti].(time.Time)
		return t.UnixMilli(), ok
	}
	last := len(rows)
	if p.HasNext && len(rows) > 0 && p.Lookahead != nil {
		lm, lok := bucket(rows[len(rows)-1])
		am, aok := bucket(m.remap(p, p.Lookahead))
		if lok && aok && lm == am {
			// Cut: read the first entries of this millisecond by entry_id.
			first := len(rows) - 1
			for first > 0 {
				if fm, ok := bucket(rows[first-1]); !ok || fm != lm {
					break
				}
				first--
			}
			c, err := m.read(m.with(m.bucket(lm)), m.byID(), engine.Window{Limit: len(rows) - first})
			if err != nil {
				return nil, err
			}
			rows = append(rows[:first:first], c.Rows...)
			last = first
		}
	}
	desc := m.req.desc
	for i := 0; i < last; {
		bm, ok := bucket(rows[i])
		j := i + 1
		for ok && j < last {
			if nm, nok := bucket(rows[j]); !nok || nm != bm {
				break
			}
			j++
		}
		if j-i > 1 {
			slices.SortStableFunc(rows[i:j], func(a, b engine.Row) int {
				c := engine.Compare(a[ii], b[ii])
				if desc {
					return -c
				}
				return c
			})
		}
		i = j
	}
	return rows, nil
}

// read runs one engine page (no total) and puts its rows in the layout of
// the first page read.
func (m *millis) read(q engine.Query, sort engine.Sort, w engine.Window) (*engine.Page, error) {
	q.Sort = sort
	p, err := m.h.e.Page(m.ctx, m.h.c, q, w, engine.TotalNone)
	if err != nil {
		return nil, err
	}
	if m.cols == nil {
		m.cols, m.fields = p.Columns, p.Fields
	}
	for i, r := range p.Rows {
		p.Rows[i] = m.remap(p, r)
	}
	return p, nil
}

// remap returns row, a row of page p, in the layout of the first page
// read. The pages of one request project the same fields and all hold the
// order's two, so the layouts agree; this keeps them right if they did not.
func (m *millis) remap(p *engine.Page, row engine.Row) engine.Row {
	if slices.Equal(p.Columns, m.cols) {
		return row
	}
	out := make(engine.Row, len(m.cols))
	for i, f := range m.cols {
		if j := slices.Index(p.Columns, f); j >= 0 {
			out[i] = row[j]
		}
	}
	return out
}

// result is the assembled page.
func (m *millis) result(rows []engine.Row, next bool) *engine.Page {
	return &engine.Page{
		Collection: m.h.c, Columns: m.cols, Fields: m.fields, Rows: rows, Limit: m.req.size, HasNext: next,
		// What the cursor is written from (p.SortValues, appendAfter).
		Order: []engine.OrderKey{{Field: m.t, Desc: m.req.desc}, {Field: m.id, Desc: m.req.desc}},
	}
}

// with returns the request's query with more filters.
func (m *millis) with(fs ...[]engine.Filter) engine.Query {
	q := m.req.query
	q.Filters = slices.Clone(q.Filters)
	for _, f := range fs {
		q.Filters = append(q.Filters, f...)
	}
	return q
}

// bucket selects the entries whose time falls in millisecond ms.
func (m *millis) bucket(ms int64) []engine.Filter {
	return []engine.Filter{
		{Field: m.t.Name, Op: engine.OpGte, Values: []engine.Value{time.UnixMilli(ms).UTC()}},
		{Field: m.t.Name, Op: engine.OpLt, Values: []engine.Value{time.UnixMilli(ms + 1).UTC()}},
	}
}

// before selects the entries the engine's order puts before the one whose
// sort values are r (a time and an entry_id).
func (m *millis) before(r []engine.Value) []engine.Filter {
	lt := engine.OpLt
	if m.req.desc {
		lt = engine.OpGt
	}
	return []engine.Filter{{Op: engine.OpOr, Sub: [][]engine.Filter{
		{{Field: m.t.Name, Op: lt, Values: []engine.Value{r[0]}}},
		{{Field: m.t.Name, Op: engine.OpEq, Values: []engine.Value{r[0]}}, {Field: m.id.Name, Op: lt, Values: []engine.Value{r[1]}}},
	}}}
}

// byID is the order inside one millisecond: entry_id, in the request's
// direction.
func (m *millis) byID() engine.Sort {
	return engine.Sort{{Field: m.id.Name, Desc: m.req.desc}}
}
