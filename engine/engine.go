// Package engine is folio's domain: collections, queries, windows, cursors
// and pages, and the planner that turns a query and a window into a Plan that
// any Source can run. It imports no dialect and no database driver.
package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Source is a database behind the engine.
type Source interface {
	// Collections discovers the tables and views the source can publish.
	Collections(ctx context.Context) ([]*Collection, error)
	// Query runs plan and calls emit for each row, in order, as rows arrive.
	// It stops at the first error emit returns and returns that error.
	// Rows passed to emit may be reused after emit returns.
	Query(ctx context.Context, plan *Plan, emit func(Row) error) error
	// Count counts the rows of c that match every filter.
	Count(ctx context.Context, c *Collection, filters []Cond) (int64, error)
	// Estimate estimates that count from the database's statistics.
	Estimate(ctx context.Context, c *Collection, filters []Cond) (int64, error)
	// Version returns a value that changes whenever the data may have
	// changed; equal versions mean unchanged data.
	Version(ctx context.Context) (uint64, error)
}

// TotalMode says whether and how to count the rows a query matches.
type TotalMode int

const (
	TotalNone     TotalMode = iota // skip the count
	TotalExact                     // COUNT, cached until the data changes
	TotalEstimate                  // the database's statistics
)

// ParseTotalMode parses "exact", "estimate" or "none".
func ParseTotalMode(s string) (TotalMode, error) {
	switch s {
	case "exact":
		return TotalExact, nil
	case "estimate":
		return TotalEstimate, nil
	case "none":
		return TotalNone, nil
	}
	return 0, invalid(ParamTotal, "must be exact, estimate or none, got %q", s)
}

// Total is a row count, exact or estimated.
type Total struct {
	Count    int64
	Estimate bool // from statistics, not a COUNT
}

// Relation is "eq" for an exact total and "estimate" otherwise.
func (t Total) Relation() string {
	if t.Estimate {
		return "estimate"
	}
	return "eq"
}

// Page is one page of a result. Rows are in the query's order whichever way
// the page was fetched.
type Page struct {
	Collection *Collection
	Columns    []*Field // the columns of each Row
	Fields     []int    // indexes into Columns of the projected fields, in output order
	Rows       []Row
	Order      []OrderKey
	Limit      int
	Offset     int  // offset paging only
	Keyset     bool // cursor paging (else offset paging)
	HasNext    bool
	HasPrev    bool
	Next, Prev string // signed cursors (keyset) when HasNext / HasPrev
	Last       string // signed cursor for the last page (keyset)
	Total      *Total
	// Lookahead is the row after the last one, fetched to learn that there
	// is a next page, when there is one and the page was read forward
	// (Copernica's nextid names it).
	Lookahead Row

	fp     [8]byte
	masked []int // columns hidden from the principal, read as null
}

// SortValues returns row's values for the page's order: what a transparent
// cursor (NOMAD's page_after_value, GOCDB's id) encodes.
func (p *Page) SortValues(row Row) []Value {
	out := make([]Value, len(p.Order))
	for i, o := range p.Order {
		out[i] = row[slices.Index(p.Columns, o.Field)]
	}
	return out
}

// Value returns the row's value of the named column, or nil.
func (p *Page) Value(row Row, field string) Value {
	for i, c := range p.Columns {
		if c.Name == field {
			return row[i]
		}
	}
	return nil
}

// Engine answers queries for a set of collections over one Source.
type Engine struct {
	src    Source
	signer *Signer
	cols   map[string]*Collection
	names  []string
	totals *totalCache
	limits Limits
	costly chan struct{} // a token per costly operation running; nil: no bound
	// observer, when set, is told of every read of src.
	observer Observer
}

// New returns an Engine that publishes cols from src and signs cursors with
// signer, configured by opts.
func New(src Source, signer *Signer, cols []*Collection, opts ...Option) (*Engine, error) {
	e := &Engine{src: src, signer: signer, cols: map[string]*Collection{}, totals: newTotalCache(4096)}
	for _, o := range opts {
		o(e)
	}
	for _, c := range cols {
		if _, dup := e.cols[c.Name]; dup {
			return nil, fmt.Errorf("collection %q is defined twice", c.Name)
		}
		c.Normalize()
		e.cols[c.Name] = c
		e.names = append(e.names, c.Name)
	}
	slices.Sort(e.names)
	return e, nil
}

// Collection returns the named collection or a not-found Error.
func (e *Engine) Collection(name string) (*Collection, error) {
	c, ok := e.cols[name]
	if !ok {
		return nil, NotFoundf("no collection named %q", name)
	}
	return c, nil
}

// CollectionFor returns the named collection if the principal of ctx may
// read it, else the not-found Error of a name that names none: what a
// route that finds a collection by a client's name asks, so that a
// collection's existence shows only to those who may read it.
func (e *Engine) CollectionFor(ctx context.Context, name string) (*Collection, error) {
	c, err := e.Collection(name)
	if err != nil {
		return nil, err
	}
	if _, err := bindAccess(c, PrincipalOf(ctx)); err != nil {
		return nil, err
	}
	return c, nil
}

// Collections returns every collection, by name.
func (e *Engine) Collections() []*Collection {
	out := make([]*Collection, len(e.names))
	for i, n := range e.names {
		out[i] = e.cols[n]
	}
	return out
}

// Source returns the engine's source.
func (e *Engine) Source() Source { return e.src }

// Page returns one page of q over c: w.Limit rows (0: the collection's
// default) from w.At, and the total mode asks for.
func (e *Engine) Page(ctx context.Context, c *Collection, q Query, w Window, mode TotalMode) (*Page, error) {
	r, err := resolve(c, q, PrincipalOf(ctx))
	if err != nil {
		return nil, err
	}
	ctx, cancel := e.bound(ctx)
	defer cancel()
	limit := w.Limit
	if limit == 0 {
		limit = c.DefaultLimit
	}
	if limit < 0 || limit > c.MaxLimit {
		return nil, invalid(ParamLimit, "must be between 1 and %d, got %d", c.MaxLimit, limit)
	}
	off, offset := w.At.(Offset)
	keyset := !offset && len(r.order) > 0 && c.Keyed()
	if !keyset && !offset && w.At != nil {
		return nil, invalid(ParamCursor, "collection %q has no unique key, so it is paged by offset only", c.Name)
	}
	p := &Page{Collection: c, Columns: r.columns, Order: r.order, Limit: limit, Keyset: keyset, fp: r.fp, masked: r.masked}
	for _, f := range r.out {
		p.Fields = append(p.Fields, slices.Index(r.columns, f))
	}
	plan := &Plan{Collection: c, Columns: r.columns, Filters: r.filters, Order: r.order, Limit: limit + 1}
	admitted := false
	if heavy(r.filters) || offset && off >= HeavyOffset {
		release, err := e.admit(ctx)
		if err != nil {
			return nil, sourceError(ctx, err)
		}
		defer release()
		admitted = true
	}
	if keyset {
		err = e.keysetPage(ctx, r, w.At, plan, p)
	} else {
		err = e.offsetPage(ctx, int(off), plan, p)
	}
	if err != nil {
		return nil, err
	}
	if mode != TotalNone {
		t, err := e.total(ctx, r, mode, admitted)
		if err != nil {
			return nil, err
		}
		p.Total = &t
	}
	return p, nil
}

// Total counts the rows q selects in c, exactly (cached until the data
// changes) or from the database's statistics: what a client that asks for
// no rows (JSON:API's page[size]=0, NOMAD's page_size 0) is answered with.
func (e *Engine) Total(ctx context.Context, c *Collection, q Query, mode TotalMode) (Total, error) {
	if mode == TotalNone {
		return Total{}, invalid(ParamTotal, "a count must be exact or an estimate")
	}
	r, err := resolve(c, q, PrincipalOf(ctx))
	if err != nil {
		return Total{}, err
	}
	ctx, cancel := e.bound(ctx)
	defer cancel()
	return e.total(ctx, r, mode, false)
}

// CountPage is the answer to a client that asks for no rows (JSON:API's
// page[size]=0, NOMAD's page_size 0): a page without rows, with the total.
func (e *Engine) CountPage(ctx context.Context, c *Collection, q Query, mode TotalMode) (*Page, error) {
	t, err := e.Total(ctx, c, q, mode)
	if err != nil {
		return nil, err
	}
	return &Page{Collection: c, Total: &t}, nil
}

// Check validates q against c, for the principal of ctx, without running
// it: the errors Page and Stream would report for the query itself, for a
// dialect that answers a request without reading rows or counting them.
func (e *Engine) Check(ctx context.Context, c *Collection, q Query) error {
	_, err := resolve(c, q, PrincipalOf(ctx))
	return err
}

func (e *Engine) offsetPage(ctx context.Context, offset int, plan *Plan, p *Page) error {
	if offset < 0 {
		return invalid(ParamOffset, "must be 0 or more, got %d", offset)
	}
	// Offset > MaxOffset-Limit, not Offset+Limit > MaxOffset: a client's
	// offset may be near MaxInt, and the sum would wrap to a negative number.
	if offset > p.Collection.MaxOffset-p.Limit && offset > 0 {
		err := invalid(ParamOffset, "offset paging reaches only the first %d rows (offset %d + limit %d)", p.Collection.MaxOffset, offset, p.Limit)
		err.Err = ErrOffsetTooDeep
		return err
	}
	plan.Offset = offset
	p.Offset = offset
	if err := e.fetch(ctx, plan, p); err != nil {
		return err
	}
	if len(p.Rows) > p.Limit {
		p.Lookahead = p.Rows[p.Limit]
		p.Rows = p.Rows[:p.Limit]
		p.HasNext = true
	}
	p.HasPrev = offset > 0
	return nil
}

func (e *Engine) keysetPage(ctx context.Context, r *resolved, at Position, plan *Plan, p *Page) error {
	var cur Cursor
	switch at := at.(type) {
	case Token:
		// Decode checks the values: a signed cursor may also carry a
		// boundary value as stored (see Cursor).
		var err error
		if cur, err = e.signer.Decode(string(at), r.fp, r.order); err != nil {
			return err
		}
	case After:
		cur = Cursor{Values: at}
	case Before:
		cur = Cursor{Values: at, Before: true}
	case Last:
		cur = Cursor{FromEnd: true}
	}
	if _, signed := at.(Token); !signed && !cur.FromEnd && cur.Values != nil {
		if err := checkBoundary(r.order, cur.Values); err != nil {
			return err
		}
	}
	backward := cur.Before || cur.FromEnd
	if backward {
		plan.Order = reverse(r.order)
	}
	if cur.Values != nil {
		plan.Seek = SeekAfter(plan.Order, cur.Values)
		plan.Filters = withoutImplied(plan.Filters, plan.Order, cur.Values)
	}
	if err := e.fetch(ctx, plan, p); err != nil {
		return err
	}
	more := len(p.Rows) > p.Limit
	if more {
		if !backward {
			p.Lookahead = p.Rows[p.Limit]
		}
		p.Rows = p.Rows[:p.Limit]
	}
	if backward {
		slices.Reverse(p.Rows)
		p.HasPrev = more
		p.HasNext = cur.Values != nil && len(p.Rows) > 0
	} else {
		p.HasNext = more
		p.HasPrev = cur.Values != nil && len(p.Rows) > 0
	}
	if p.HasNext {
		p.Next = e.signer.Encode(r.fp, Cursor{Values: p.SortValues(p.Rows[len(p.Rows)-1])})
	}
	if p.HasPrev {
		p.Prev = e.signer.Encode(r.fp, Cursor{Before: true, Values: p.SortValues(p.Rows[0])})
	}
	p.Last = e.signer.Encode(r.fp, Cursor{FromEnd: true})
	return nil
}

// fetch runs plan, keeping at most plan.Limit rows: the page being written,
// plus the one row that tells whether there is more.
func (e *Engine) fetch(ctx context.Context, plan *Plan, p *Page) error {
	done := e.observe(ctx, ReadPage, plan.Collection)
	p.Rows = make([]Row, 0, plan.Limit)
	err := sourceError(ctx, e.src.Query(ctx, plan, func(row Row) error {
		row = slices.Clone(row)
		for _, i := range p.masked {
			row[i] = nil
		}
		p.Rows = append(p.Rows, row)
		return nil
	}))
	// The row read ahead to learn of a next page is not the caller's.
	done(int64(min(len(p.Rows), p.Limit)), err)
	return err
}

// Stream runs q over c and calls emit for every row of span, as rows
// arrive, in constant memory: any limit is allowed, since nothing is
// buffered. start is called once, before the first row, with the columns
// of each Row and the indexes of the projected fields, as in Page.
func (e *Engine) Stream(ctx context.Context, c *Collection, q Query, span Span, start func(columns []*Field, out []int) error, emit func(Row) error) error {
	r, err := resolve(c, q, PrincipalOf(ctx))
	if err != nil {
		return err
	}
	if span.Limit < 0 {
		return invalid(ParamLimit, "must be 0 or more, got %d", span.Limit)
	}
	plan := &Plan{Collection: c, Columns: r.columns, Filters: r.filters, Order: r.order, Limit: span.Limit}
	switch from := span.From.(type) {
	case Offset:
		if from < 0 {
			return invalid(ParamOffset, "must be 0 or more, got %d", from)
		}
		plan.Offset = int(from)
	case After:
		if err := checkBoundary(r.order, from); err != nil {
			return err
		}
		plan.Seek = SeekAfter(r.order, from)
		plan.Filters = withoutImplied(plan.Filters, r.order, from)
	}
	out := make([]int, len(r.out))
	for i, f := range r.out {
		out[i] = slices.Index(r.columns, f)
	}
	if err := start(r.columns, out); err != nil {
		return err
	}
	// The time limit holds until the first row: an export that is sending
	// takes as long as its client reads.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	limit := func() {}
	if d := e.limits.QueryTime; d > 0 {
		t := time.AfterFunc(d, func() { cancel(&overTime{d}) })
		defer t.Stop()
		limit = func() {
			t.Stop()
			limit = func() {}
		}
	}
	release, err := e.admit(ctx)
	if err != nil {
		return sourceError(ctx, err)
	}
	defer release()
	// A failure of the caller's own emit (its output is full, its client
	// went away) is the caller's to report as it is: passed through the
	// source, it would come back as the database's fault.
	var emitErr error
	var n int64
	done := e.observe(ctx, ReadStream, c)
	var masked Row
	if len(r.masked) > 0 {
		masked = make(Row, 0, len(r.columns))
	}
	err = e.src.Query(ctx, plan, func(row Row) error {
		limit()
		if masked != nil {
			// The source may reuse row: the copy is the one nulled.
			masked = append(masked[:0], row...)
			for _, i := range r.masked {
				masked[i] = nil
			}
			row = masked
		}
		if err := emit(row); err != nil {
			emitErr = err
			return err
		}
		n++
		return nil
	})
	if emitErr != nil {
		err = emitErr
	} else {
		err = sourceError(ctx, err)
	}
	done(n, err)
	return err
}

// sourceError passes engine errors through, reports cancellation as such,
// and turns every other source failure into a retryable Unavailable error.
// Only the caller's context says that the caller gave up: a source's own
// deadline (a driver's connect timeout, a replica's) ends in
// context.DeadlineExceeded too, and is the database not answering.
func sourceError(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if _, ok := AsError(err); ok {
		return err
	}
	if limit, ok := overLimit(ctx); ok {
		return timeout(limit)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("query cancelled: %w", errors.Join(ctx.Err(), err))
	}
	return Unavailable(err)
}

// Get returns the record of c whose key is key: the text form of each of
// the key's fields, in order. A key of the wrong number of parts, or a part
// that is no value of its field's type, names no record: a not-found Error.
func (e *Engine) Get(ctx context.Context, c *Collection, key []string, fields []string) (*Page, error) {
	// Nothing about the key is said to a principal that may not read c.
	if _, err := bindAccess(c, PrincipalOf(ctx)); err != nil {
		return nil, err
	}
	kfs := c.KeyFields()
	if len(kfs) == 0 {
		return nil, NotFoundf("collection %q has no key, so its records cannot be addressed one by one", c.Name)
	}
	notFound := func() error { return NotFoundf("no %s record with key %s", c.Name, keyText(key)) }
	if len(key) != len(kfs) {
		if len(kfs) > 1 {
			return nil, NotFoundf("no %s record with key %s: its key has %d parts (%s)", c.Name, keyText(key), len(kfs), strings.Join(c.Key, ", "))
		}
		return nil, notFound()
	}
	q := Query{Fields: fields}
	for i, kf := range kfs {
		v, err := ParseValue(kf.Type, key[i])
		if err != nil {
			return nil, notFound()
		}
		q.Filters = append(q.Filters, Filter{Field: kf.Name, Op: OpEq, Values: []Value{v}})
	}
	p, err := e.Page(ctx, c, q, Window{Limit: 1, At: Offset(0)}, TotalNone)
	if err != nil {
		return nil, err
	}
	if len(p.Rows) == 0 {
		return nil, notFound()
	}
	return p, nil
}

// keyText quotes a key's parts for a message.
func keyText(key []string) string {
	parts := make([]string, len(key))
	for i, k := range key {
		parts[i] = strconv.Quote(k)
	}
	return strings.Join(parts, "/")
}

// checkBoundary checks transparent boundary values against the order they
// continue, so that a dialect's decoding slip is a 400, not a database error.
func checkBoundary(order []OrderKey, values []Value) error {
	if len(values) != len(order) {
		return invalidCursor("cursor holds %d values for a sort of %d fields", len(values), len(order))
	}
	for i, o := range order {
		if !checkType(o.Field.Type, values[i]) || values[i] == nil && !o.Field.Nullable {
			return invalidCursor("cursor value for %q is not a %v", o.Field.Name, o.Field.Type)
		}
	}
	return nil
}
