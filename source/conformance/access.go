package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"folio/dataset"
	"folio/engine"
)

// Access rules are held to the oracle here: random rules, grants and
// principals over random tables, every way the engine reads (keyset pages
// both ways, offset pages, records by key, exact and estimated totals,
// streams, cursors carried from one principal to another) compared with
// the rows the rule allows, evaluated in plain Go on the table's rows.

// Subjects and roles are drawn from the tables' own value pools, so that
// rules that compare a field with the principal match some rows.
var (
	subjectPool = []string{"a", "z", "é", "x", "Ti", "ab"}
	rolePool    = []string{"x", "y", "O", "admin", "a"}
)

// RandomPrincipal returns the anonymous principal one time in four, else a
// subject with up to three roles.
func RandomPrincipal(rng *rand.Rand) engine.Principal {
	if rng.IntN(4) == 0 {
		return engine.Principal{}
	}
	p := engine.Principal{Subject: subjectPool[rng.IntN(len(subjectPool))]}
	for _, i := range rng.Perm(len(rolePool))[:rng.IntN(4)] {
		p.Roles = append(p.Roles, rolePool[i])
	}
	return p
}

// RuleExpr is a random row rule: its text, as a configuration holds it,
// and its meaning, evaluated on a row for a principal by Match.
type RuleExpr struct {
	Text  string
	match func(row []engine.Value, col func(string) int, p engine.Principal) bool
}

// Match reports whether the rule lets p see row of table t.
func (r RuleExpr) Match(t *dataset.Table, row []engine.Value, p engine.Principal) bool {
	return r.match(row, func(name string) int {
		return slices.IndexFunc(t.Columns, func(c dataset.Column) bool { return c.Name == name })
	}, p)
}

// RandomRule returns a rule over RandomTable's columns up to depth deep.
func RandomRule(rng *rand.Rand, depth int) RuleExpr {
	if depth > 0 && rng.IntN(3) > 0 {
		switch rng.IntN(3) {
		case 0:
			k := RandomRule(rng, depth-1)
			return RuleExpr{"NOT (" + k.Text + ")", func(r []engine.Value, col func(string) int, p engine.Principal) bool {
				return !k.match(r, col, p)
			}}
		case 1:
			a, b := RandomRule(rng, depth-1), RandomRule(rng, depth-1)
			return RuleExpr{"(" + a.Text + ") AND (" + b.Text + ")", func(r []engine.Value, col func(string) int, p engine.Principal) bool {
				return a.match(r, col, p) && b.match(r, col, p)
			}}
		}
		a, b := RandomRule(rng, depth-1), RandomRule(rng, depth-1)
		return RuleExpr{"(" + a.Text + ") or (" + b.Text + ")", func(r []engine.Value, col func(string) int, p engine.Principal) bool {
			return a.match(r, col, p) || b.match(r, col, p)
		}}
	}
	return randomTest(rng)
}

// randomTest is one test of a rule, with its meaning: comparisons never
// match NULL, and the anonymous principal has no subject and no roles.
func randomTest(rng *rand.Rand) RuleExpr {
	type row = []engine.Value
	type P = engine.Principal
	value := func(r row, col func(string) int, name string) engine.Value { return r[col(name)] }
	arrayOf := func(v engine.Value) []string {
		var arr []string
		if s, ok := v.(string); ok {
			if err := json.Unmarshal([]byte(s), &arr); err != nil {
				panic("conformance: bad JSON array " + s)
			}
		}
		return arr
	}
	switch rng.IntN(11) {
	case 0:
		return RuleExpr{"s = $subject", func(r row, col func(string) int, p P) bool {
			v := value(r, col, "s")
			return !p.Anonymous() && v != nil && v.(string) == p.Subject
		}}
	case 1:
		return RuleExpr{"$subject IN tags", func(r row, col func(string) int, p P) bool {
			return !p.Anonymous() && slices.Contains(arrayOf(value(r, col, "tags")), p.Subject)
		}}
	case 2:
		return RuleExpr{"$roles in tags", func(r row, col func(string) int, p P) bool {
			if p.Anonymous() {
				return false
			}
			return slices.ContainsFunc(p.Roles, func(role string) bool { return slices.Contains(arrayOf(value(r, col, "tags")), role) })
		}}
	case 3:
		return RuleExpr{"s IN $roles", func(r row, col func(string) int, p P) bool {
			v := value(r, col, "s")
			return !p.Anonymous() && v != nil && slices.Contains(p.Roles, v.(string))
		}}
	case 4:
		role := rolePool[rng.IntN(len(rolePool))]
		return RuleExpr{"'" + role + "' IN $roles", func(_ row, _ func(string) int, p P) bool {
			return !p.Anonymous() && slices.Contains(p.Roles, role)
		}}
	case 5:
		if rng.IntN(2) == 0 {
			return RuleExpr{"$subject IS NULL", func(_ row, _ func(string) int, p P) bool { return p.Anonymous() }}
		}
		return RuleExpr{"$subject is not null", func(_ row, _ func(string) int, p P) bool { return !p.Anonymous() }}
	case 6:
		want := rng.IntN(2) == 0
		return RuleExpr{"b = " + strconv.FormatBool(want), func(r row, col func(string) int, _ P) bool {
			v := value(r, col, "b")
			return v != nil && v.(bool) == want
		}}
	case 7:
		ops := []string{"=", "!=", "<", "<=", ">", ">="}
		op := ops[rng.IntN(len(ops))]
		n := intPool[rng.IntN(len(intPool))]
		return RuleExpr{fmt.Sprintf("a %s %d", op, n), func(r row, col func(string) int, _ P) bool {
			v := value(r, col, "a")
			if v == nil {
				return false
			}
			c := engine.Compare(v, n)
			return map[string]bool{"=": c == 0, "!=": c != 0, "<": c < 0, "<=": c <= 0, ">": c > 0, ">=": c >= 0}[op]
		}}
	case 8:
		name := []string{"s", "f", "tags", "b"}[rng.IntN(4)]
		null := rng.IntN(2) == 0
		text := name + " IS NOT NULL"
		if null {
			text = name + " IS NULL"
		}
		return RuleExpr{text, func(r row, col func(string) int, _ P) bool { return (value(r, col, name) == nil) == null }}
	case 9:
		tag := tagPool[rng.IntN(len(tagPool))]
		return RuleExpr{"'" + tag + "' IN tags", func(r row, col func(string) int, _ P) bool {
			return slices.Contains(arrayOf(value(r, col, "tags")), tag)
		}}
	}
	a, b := textPool[rng.IntN(len(textPool))], textPool[rng.IntN(len(textPool))]
	return RuleExpr{"s IN (" + quote(a) + ", " + quote(b) + ")", func(r row, col func(string) int, _ P) bool {
		v := value(r, col, "s")
		return v != nil && (v.(string) == a || v.(string) == b)
	}}
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// AccessCase is one random access configuration: a rule, grants, and the
// principal who asks.
type AccessCase struct {
	Rule      RuleExpr
	Read      []string            // nil: everyone
	Fields    map[string][]string // field grants
	Principal engine.Principal
}

// RandomAccess returns a random access configuration for a RandomTable.
func RandomAccess(rng *rand.Rand) AccessCase {
	a := AccessCase{Rule: RandomRule(rng, 3), Principal: RandomPrincipal(rng)}
	switch rng.IntN(8) {
	case 0:
		a.Read = []string{engine.GrantAuthenticated}
	case 1:
		a.Read = []string{rolePool[rng.IntN(len(rolePool))]}
	}
	if rng.IntN(2) == 0 {
		// f and s may be hidden from some: f is no rule's field, s is.
		a.Fields = map[string][]string{"f": {rolePool[rng.IntN(len(rolePool))]}}
		if rng.IntN(2) == 0 {
			a.Fields["s"] = []string{engine.GrantAuthenticated}
		}
	}
	return a
}

// Bind parses the case's rule over c into an Access.
func (a AccessCase) Bind(c *engine.Collection) (*engine.Access, error) {
	rule, err := engine.ParseRule(c, a.Rule.Text)
	if err != nil {
		return nil, fmt.Errorf("rule %q: %w", a.Rule.Text, err)
	}
	return &engine.Access{Read: a.Read, Fields: a.Fields, Rule: rule}, nil
}

// Visible reports whether the case's principal may see field name.
func (a AccessCase) Visible(name string) bool {
	who, ok := a.Fields[name]
	return !ok || engine.Granted(who, a.Principal)
}

// Readable reports whether the case's principal may read the collection.
func (a AccessCase) Readable() bool { return len(a.Read) == 0 || engine.Granted(a.Read, a.Principal) }

// testAccess holds access rules to the oracle (see above) over the paging
// tables, in h.AccessCases random cases (2,000 unless set).
func testAccess(t *testing.T, h Harness) {
	rng := rand.New(rand.NewPCG(13, 17))
	var tables []*dataset.Table
	for i := range pagingTables / 2 {
		tables = append(tables, RandomTable(rng, fmt.Sprintf("ac%02d", i), tableSize(rng, i), KeyKind(i%3)))
	}
	src, _ := h.Load(t, tables)
	cols, err := src.Collections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := engine.NewSigner([]byte("conformance-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	oracles := make([]*Oracle, len(tables))
	for i, tb := range tables {
		oracles[i] = NewOracle(tb)
	}
	cases := h.AccessCases
	if cases == 0 {
		cases = 2000
	}
	var done, rows, hidden atomic.Int64
	var wg sync.WaitGroup
	workers := 4
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 23))
			for i := w; i < cases && !t.Failed(); i += workers {
				ti := rng.IntN(len(tables))
				ac := RandomAccess(rng)
				other := RandomPrincipal(rng)
				q := RandomQuery(rng, tables[ti])
				limit := 1 + rng.IntN(12)
				st, err := checkAccess(src, signer, cols, tables[ti], oracles[ti], ac, other, q, limit, rng)
				if err != nil {
					t.Errorf("table %s, rule %q, read %v, fields %v, principal %+v, sort %v, filters %v, limit %d: %v",
						tables[ti].Name, ac.Rule.Text, ac.Read, ac.Fields, ac.Principal, q.Sort, q.Filters, limit, err)
					return
				}
				done.Add(1)
				rows.Add(int64(st.visible))
				hidden.Add(int64(st.hidden))
			}
		}()
	}
	wg.Wait()
	t.Logf("%d random access cases: %d rows seen where the rule allows, %d hidden rows never seen", done.Load(), rows.Load(), hidden.Load())
	if done.Load() >= int64(cases) && (rows.Load() == 0 || hidden.Load() == 0) {
		t.Errorf("the cases saw %d rows and hid %d: the test proves little", rows.Load(), hidden.Load())
	}
}

type accessStats struct{ visible, hidden int }

// errLeak marks a failure that showed a principal what its rule hides.
var errLeak = errors.New("leak")

func checkAccess(src engine.Source, signer *engine.Signer, cols []*engine.Collection, tb *dataset.Table, o *Oracle, ac AccessCase, other engine.Principal, q engine.Query, limit int, rng *rand.Rand) (accessStats, error) {
	var st accessStats
	// An engine of its own, whose collection carries the case's access.
	var c *engine.Collection
	published := make([]*engine.Collection, len(cols))
	for i, col := range cols {
		d := *col
		published[i] = &d
		if col.Name == tb.Name {
			c = &d
		}
	}
	if c == nil {
		return st, fmt.Errorf("no collection %s", tb.Name)
	}
	acc, err := ac.Bind(c)
	if err != nil {
		return st, err
	}
	c.Access = acc
	e, err := engine.New(src, signer, published)
	if err != nil {
		return st, err
	}
	ctx := engine.WithPrincipal(context.Background(), ac.Principal)

	if !ac.Readable() {
		for what, err := range map[string]error{
			"page":   pageErr(e.Page(ctx, c, q, engine.Window{Limit: limit}, engine.TotalExact)),
			"total":  totalErr(e.Total(ctx, c, q, engine.TotalEstimate)),
			"record": pageErr(e.Get(ctx, c, []string{"1"}, nil)),
			"stream": e.Stream(ctx, c, q, engine.Span{}, func([]*engine.Field, []int) error { return nil }, func(engine.Row) error { return errLeak }),
			"check":  e.Check(ctx, c, q),
		} {
			ee, ok := engine.AsError(err)
			if !ok || ee.Code != engine.CodeNotFound || ee.Message != fmt.Sprintf("no collection named %q", c.Name) {
				return st, fmt.Errorf("%w: %s of a collection the principal may not read: %v", errLeak, what, err)
			}
		}
		st.hidden = len(o.Rows)
		return st, nil
	}

	// A query naming a field hidden from the principal is refused as one
	// naming a field that does not exist.
	if name, ok := hiddenNamed(q, ac, len(c.Key) > 1); ok {
		_, err := e.Page(ctx, c, q, engine.Window{Limit: limit}, engine.TotalNone)
		ee, isEngine := engine.AsError(err)
		if !isEngine || ee.Code != engine.CodeInvalid || !strings.Contains(ee.Message, fmt.Sprintf("unknown field %q", name)) {
			return st, fmt.Errorf("%w: a query on hidden field %q: %v", errLeak, name, err)
		}
		return st, nil
	}

	allowed := func(r []engine.Value) bool { return ac.Rule.Match(tb, r, ac.Principal) }
	var want [][]engine.Value
	for _, r := range o.Select(q.Filters, q.Sort) {
		if allowed(r) {
			want = append(want, r)
		}
	}
	wantKeys := o.Keys(want)
	for _, r := range o.Rows {
		if allowed(r) {
			st.visible++
		} else {
			st.hidden++
		}
	}

	// Keyset pages forward, checking each row's fields.
	var got []engine.Value
	w := engine.Window{Limit: limit}
	var firstNext string
	for pages := 0; ; pages++ {
		p, err := e.Page(ctx, c, q, w, engine.TotalNone)
		if err != nil {
			return st, fmt.Errorf("forward page %d: %w", pages, err)
		}
		if err := checkColumns(p.Columns, p.Fields, p.Rows, ac); err != nil {
			return st, err
		}
		got = append(got, PageKeys(p)...)
		if pages == 0 {
			firstNext = p.Next
		}
		if !p.HasNext {
			break
		}
		if pages > len(wantKeys)+1 {
			return st, fmt.Errorf("forward harvest does not end")
		}
		w = engine.Window{Limit: limit, At: engine.Token(p.Next)}
	}
	if err := sameKeys(got, wantKeys); err != nil {
		return st, fmt.Errorf("%w: forward: %w", errLeak, err)
	}

	// Backward from the end.
	got = got[:0]
	w = engine.Window{Limit: limit, At: engine.Last{}}
	for pages := 0; ; pages++ {
		p, err := e.Page(ctx, c, q, w, engine.TotalNone)
		if err != nil {
			return st, fmt.Errorf("backward page %d: %w", pages, err)
		}
		got = append(PageKeys(p), got...)
		if !p.HasPrev {
			break
		}
		if pages > len(wantKeys)+1 {
			return st, fmt.Errorf("backward harvest does not end")
		}
		w = engine.Window{Limit: limit, At: engine.Token(p.Prev)}
	}
	if err := sameKeys(got, wantKeys); err != nil {
		return st, fmt.Errorf("%w: backward: %w", errLeak, err)
	}

	// An offset page with the exact total, and the estimate, which under
	// a rule is the exact count of what the principal may see.
	off := rng.IntN(len(wantKeys) + 2)
	p, err := e.Page(ctx, c, q, engine.Window{Limit: limit, At: engine.Offset(off)}, engine.TotalExact)
	if err != nil {
		return st, fmt.Errorf("offset %d: %w", off, err)
	}
	if p.Total == nil || p.Total.Count != int64(len(wantKeys)) {
		return st, fmt.Errorf("%w: exact total %+v, want %d", errLeak, p.Total, len(wantKeys))
	}
	lo, hi := min(off, len(wantKeys)), min(off+limit, len(wantKeys))
	if err := sameKeys(PageKeys(p), wantKeys[lo:hi]); err != nil {
		return st, fmt.Errorf("%w: offset %d: %w", errLeak, off, err)
	}
	est, err := e.Total(ctx, c, q, engine.TotalEstimate)
	if err != nil {
		return st, fmt.Errorf("estimate: %w", err)
	}
	if _, ruled := acc.Rule.Bind(ac.Principal); ruled && (est.Estimate || est.Count != int64(len(wantKeys))) {
		return st, fmt.Errorf("%w: estimate under a rule %+v, want the exact %d", errLeak, est, len(wantKeys))
	}

	// The stream (every export) holds the same rows.
	got = got[:0]
	var keyIdx []int
	var columns []*engine.Field
	var out []int
	err = e.Stream(ctx, c, q, engine.Span{}, func(cs []*engine.Field, o []int) error {
		columns, out = cs, o
		for _, kf := range c.KeyFields() {
			keyIdx = append(keyIdx, slices.Index(cs, kf))
		}
		return nil
	}, func(r engine.Row) error {
		if err := checkColumns(columns, out, []engine.Row{r}, ac); err != nil {
			return err
		}
		got = append(got, KeyOf(r, keyIdx))
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("stream: %w", err)
	}
	if err := sameKeys(got, wantKeys); err != nil {
		return st, fmt.Errorf("%w: stream: %w", errLeak, err)
	}

	// Records by key: a few rows of the table, visible or not; one the
	// rule hides reads exactly as a key that names no record.
	if len(c.Key) == 1 && len(o.Rows) > 0 {
		for range 3 {
			r := o.Rows[rng.IntN(len(o.Rows))]
			key := engine.FormatValue(r[o.col(c.Key[0])])
			p, err := e.Get(ctx, c, []string{key}, nil)
			if allowed(r) {
				if err != nil {
					return st, fmt.Errorf("record %s: %w", key, err)
				}
				if err := checkColumns(p.Columns, p.Fields, p.Rows, ac); err != nil {
					return st, err
				}
				continue
			}
			ee, ok := engine.AsError(err)
			if !ok || ee.Code != engine.CodeNotFound || ee.Message != fmt.Sprintf("no %s record with key %q", c.Name, key) {
				return st, fmt.Errorf("%w: record %s outside the rule: %v", errLeak, key, err)
			}
		}
	}

	// A cursor issued to this principal is refused to one whose rule
	// binds otherwise; one whose rule binds alike may continue it and
	// sees the same rows.
	if firstNext != "" {
		octx := engine.WithPrincipal(context.Background(), other)
		_, err := e.Page(octx, c, q, engine.Window{Limit: limit, At: engine.Token(firstNext)}, engine.TotalNone)
		oc := ac
		oc.Principal = other
		mine, _ := acc.Rule.Bind(ac.Principal)
		theirs, _ := acc.Rule.Bind(other)
		same := fmt.Sprint(mine) == fmt.Sprint(theirs)
		ee, _ := engine.AsError(err)
		switch {
		case !oc.Readable():
			if ee == nil || ee.Code != engine.CodeNotFound {
				return st, fmt.Errorf("%w: another principal's cursor on a collection it may not read: %v", errLeak, err)
			}
		case !same:
			if _, hid := hiddenNamed(q, oc, len(c.Key) > 1); !hid && (ee == nil || ee.Code != engine.CodeInvalidCursor) {
				return st, fmt.Errorf("%w: a cursor of %+v used by %+v: %v", errLeak, ac.Principal, other, err)
			}
		}
	}
	return st, nil
}

func pageErr(_ *engine.Page, err error) error  { return err }
func totalErr(_ engine.Total, err error) error { return err }

// hiddenNamed returns a field q filters or sorts on that a's principal may
// not see.
func hiddenNamed(q engine.Query, a AccessCase, key2 bool) (string, bool) {
	var names []string
	var walk func([]engine.Filter)
	walk = func(fs []engine.Filter) {
		for _, f := range fs {
			if f.Field != "" {
				names = append(names, f.Field)
			}
			for _, g := range f.Sub {
				walk(g)
			}
		}
	}
	walk(q.Filters)
	// Sort terms after the whole key are never read (they could not matter).
	missing := map[string]bool{"id": true, "k2": key2}
	for _, k := range q.Sort {
		if !missing["id"] && !missing["k2"] {
			break
		}
		names = append(names, k.Field)
		delete(missing, k.Field)
	}
	for _, n := range names {
		if !a.Visible(n) {
			return n, true
		}
	}
	return "", false
}

// checkColumns checks that rows show no field hidden from a's principal:
// none is projected, and any column the engine needed reads as null.
func checkColumns(columns []*engine.Field, out []int, rows []engine.Row, a AccessCase) error {
	for _, i := range out {
		if !a.Visible(columns[i].Name) {
			return fmt.Errorf("%w: hidden field %q is projected", errLeak, columns[i].Name)
		}
	}
	for i, f := range columns {
		if a.Visible(f.Name) {
			continue
		}
		for _, r := range rows {
			if r[i] != nil {
				return fmt.Errorf("%w: hidden field %q reads %v", errLeak, f.Name, r[i])
			}
		}
	}
	return nil
}
