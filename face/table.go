package face

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"folio/baseurl"
	"folio/dialect/native"
	"folio/engine"
	"folio/export"
)

// Form parameters of the filter builder and field chooser. A submitted
// form is redirected to the URL the API takes for the same query (field[op]=value,
// fields=a,b), so every page is a permalink and the form needs no script.
const (
	formMarker = "form"
	formField  = "ff"
	formOp     = "fo"
	formValue  = "fv"
	formChosen = "fc"
)

// truncateAt is the length of text shown in a cell before "show all".
const truncateAt = 160

type column struct {
	Name, Type string
	Key        bool
	SortURL    string // empty: the field cannot be sorted on
	AriaSort   string // ascending, descending or none
	SortLabel  string // what following SortURL does
}

type cell struct {
	Null, Empty bool
	Text        string
	Short       string // when the text is truncated: its start
	List        []string
	IsList      bool
	Link        string // the record's page (key cells)
}

type row struct {
	Cells []cell
}

type filterRow struct {
	Field, Op, Value string
}

type fieldChoice struct {
	Name, Type string
	Ops        string
	Chosen     bool
	Filterable bool
}

type navLink struct {
	Rel, Label, URL string
}

type tableView struct {
	Mount, Name, Path string
	Columns           []column
	Rows              []row
	Nav               []navLink
	Count, Limit      int
	Total             *engine.Total
	CountExact        string // URLs that ask for the total
	CountEstimate     string
	Exports           []navLink
	JSON              string
	Filters           []filterRow
	Fields            []fieldChoice
	Ops               []string
	Limits            []int
	Sort              string
	TotalMode         string
	Key               string
	Offset            bool // offset paging
	From              int
}

// serveTable answers a browser's GET {path}/{collection}: the page the
// API returns for the same URL, as a table with its controls.
func (f *Face) serveTable(w http.ResponseWriter, r *http.Request, path string, c *engine.Collection) {
	q, ok := f.query(w, r)
	if !ok {
		return
	}
	if q.Has(formMarker) {
		f.redirectForm(w, r, q, c)
		return
	}
	l, err := native.ParseList(c, q)
	if err != nil {
		f.errs.Error(w, r, err)
		return
	}
	p, err := f.e.Page(r.Context(), c, l.Query, l.Window, l.Total)
	if err != nil {
		f.errs.Error(w, r, l.Name(err))
		return
	}
	base := baseurl.Of(r)
	here := base + r.URL.EscapedPath()
	linkQ := cloneValues(q)
	if fm := formatParam(r); fm != "" {
		linkQ.Set(paramFormat, fm)
	}
	v := &tableView{
		Mount: base + path, Name: c.Name, Path: here,
		Count: len(p.Rows), Limit: p.Limit, Total: p.Total,
		Ops: opNames(), Sort: q.Get("sort"), TotalMode: q.Get("total"),
		Key: strings.Join(c.Key, ", "), Offset: !p.Keyset, From: p.Offset + 1,
	}
	labels := map[string]string{"first": "First", "prev": "Previous", "next": "Next", "last": "Last"}
	for _, ln := range native.PageLinks(r, base, linkQ, p) {
		if ln.Rel != "self" {
			v.Nav = append(v.Nav, navLink{ln.Rel, labels[ln.Rel], ln.URL})
		}
	}
	v.CountExact = here + "?" + with(linkQ, "total", "exact").Encode()
	v.CountEstimate = here + "?" + with(linkQ, "total", "estimate").Encode()
	v.JSON = here + "?" + with(q, paramFormat, "json").Encode()
	exportQ := cloneValues(q)
	for _, k := range []string{"limit", "cursor", "offset", "total"} {
		exportQ.Del(k)
	}
	for _, fm := range export.Formats {
		u := base + path + "/" + url.PathEscape(c.Name) + "." + string(fm)
		if s := exportQ.Encode(); s != "" {
			u += "?" + s
		}
		v.Exports = append(v.Exports, navLink{string(fm), strings.ToUpper(string(fm)), u})
	}
	v.Columns = f.columns(here, c, p, linkQ)
	keyIdx := keyIndexes(c, p)
	for _, rw := range p.Rows {
		var out row
		link := recordURL(base+path, c, rw, keyIdx)
		for _, j := range p.Fields {
			cl := render(rw[j], p.Columns[j])
			if slices.Contains(c.Key, p.Columns[j].Name) {
				cl.Link = link
			}
			out.Cells = append(out.Cells, cl)
		}
		v.Rows = append(v.Rows, out)
	}
	v.Filters = currentFilters(q)
	chosen := map[string]bool{}
	for _, name := range l.Query.Fields {
		chosen[name] = true
	}
	for _, fd := range c.Visible() {
		ops := make([]string, 0, 8)
		for _, op := range fd.Ops() {
			ops = append(ops, string(op))
		}
		v.Fields = append(v.Fields, fieldChoice{Name: fd.Name, Type: fd.Type.String(), Ops: strings.Join(ops, " "),
			Chosen: len(chosen) == 0 || chosen[fd.Name], Filterable: fd.Filterable})
	}
	for _, n := range []int{10, 25, 50, 100, 250, 500, 1000} {
		if n <= c.MaxLimit {
			v.Limits = append(v.Limits, n)
		}
	}
	if !slices.Contains(v.Limits, p.Limit) {
		v.Limits = append(v.Limits, p.Limit)
		slices.Sort(v.Limits)
	}
	f.render(w, r, http.StatusOK, "table.html", c.Name, v)
}

// columns are the table's headers: each sortable one a link that sorts by
// it ascending, or descending when it already sorts ascending.
func (f *Face) columns(here string, c *engine.Collection, p *engine.Page, q url.Values) []column {
	var first *engine.OrderKey
	if len(p.Order) > 0 {
		first = &p.Order[0]
	}
	base := cloneValues(q)
	base.Del("cursor")
	base.Del("offset")
	var cols []column
	for _, j := range p.Fields {
		fd := p.Columns[j]
		col := column{Name: fd.Name, Type: fd.Type.String(), Key: slices.Contains(c.Key, fd.Name), AriaSort: "none"}
		if fd.Sortable && fd.Type.Scalar() {
			term, label := fd.Name, "sort by "+fd.Name+" ascending"
			if first != nil && first.Field == fd {
				if first.Desc {
					col.AriaSort = "descending"
				} else {
					col.AriaSort = "ascending"
					term, label = "-"+fd.Name, "sort by "+fd.Name+" descending"
				}
			}
			col.SortURL = here + "?" + with(base, "sort", term).Encode()
			col.SortLabel = label
		}
		cols = append(cols, col)
	}
	return cols
}

// redirectForm turns a submitted filter form into the API's query string
// and redirects to it.
func (f *Face) redirectForm(w http.ResponseWriter, r *http.Request, q url.Values, c *engine.Collection) {
	out := url.Values{}
	fields, ops, values := q[formField], q[formOp], q[formValue]
	for i, name := range fields {
		if name == "" || i >= len(ops) || i >= len(values) {
			continue
		}
		op := engine.Op(ops[i])
		val := values[i]
		if val == "" && op != engine.OpNull {
			continue // an empty row of the builder
		}
		if op == engine.OpNull && val == "" {
			val = "true"
		}
		out.Add(native.FilterParam(name, op), val)
	}
	if chosen := q[formChosen]; len(chosen) > 0 && len(chosen) < len(c.Visible()) {
		out.Set("fields", strings.Join(chosen, ","))
	}
	for _, k := range []string{"sort", "limit", "total"} {
		if s := q.Get(k); s != "" {
			out.Set(k, s)
		}
	}
	if out.Get("total") == "none" {
		out.Del("total")
	}
	if fm := formatParam(r); fm != "" {
		out.Set(paramFormat, fm)
	}
	target := baseurl.Of(r) + r.URL.EscapedPath()
	if s := out.Encode(); s != "" {
		target += "?" + s
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// currentFilters lists the filter parameters of q as builder rows.
func currentFilters(q url.Values) []filterRow {
	reserved := native.ReservedParams()
	var out []filterRow
	for _, name := range sortedKeys(q) {
		if slices.Contains(reserved, name) || name == paramFormat {
			continue
		}
		field, op := name, string(engine.OpEq)
		if i := strings.IndexByte(name, '['); i >= 0 && strings.HasSuffix(name, "]") {
			field, op = name[:i], name[i+1:len(name)-1]
		}
		for _, v := range q[name] {
			out = append(out, filterRow{field, op, v})
		}
	}
	return out
}

// keyIndexes are the columns of p holding c's key, in key order; nil when
// the page does not hold them all.
func keyIndexes(c *engine.Collection, p *engine.Page) []int {
	if !c.Keyed() {
		return nil
	}
	var idx []int
	for _, k := range c.KeyFields() {
		j := slices.Index(p.Columns, k)
		if j < 0 {
			return nil
		}
		idx = append(idx, j)
	}
	return idx
}

// recordURL is the record page of a row: one path segment per key part.
func recordURL(path string, c *engine.Collection, rw engine.Row, idx []int) string {
	if len(idx) == 0 {
		return ""
	}
	u := path + "/" + url.PathEscape(c.Name)
	for _, j := range idx {
		u += "/" + url.PathEscape(engine.FormatValue(rw[j]))
	}
	return u
}

// render is how a value shows in a cell: NULL apart from an empty string,
// a JSON array as a list, long text cut with the whole behind a toggle.
func render(v engine.Value, f *engine.Field) cell {
	switch x := v.(type) {
	case nil:
		return cell{Null: true}
	case string:
		if x == "" {
			return cell{Empty: true}
		}
	case json.RawMessage:
		var items []any
		if json.Unmarshal(x, &items) == nil {
			l := make([]string, len(items))
			for i, it := range items {
				if s, ok := it.(string); ok {
					l[i] = s
				} else {
					b, _ := json.Marshal(it)
					l[i] = string(b)
				}
			}
			return cell{IsList: true, List: l}
		}
	}
	s := engine.FormatValue(v)
	c := cell{Text: s}
	if utf8.RuneCountInString(s) > truncateAt {
		n := 0
		for i := range s {
			if n == truncateAt {
				c.Short = s[:i]
				break
			}
			n++
		}
	}
	return c
}

func opNames() []string {
	out := make([]string, len(engine.Ops))
	for i, op := range engine.Ops {
		out[i] = string(op)
	}
	return out
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, vs := range q {
		out[k] = slices.Clone(vs)
	}
	return out
}

// with returns a copy of q with k set to v.
func with(q url.Values, k, v string) url.Values {
	out := cloneValues(q)
	out.Set(k, v)
	if k == "sort" {
		out.Del("cursor") // a cursor is bound to its query's sort
	}
	return out
}

func sortedKeys(q url.Values) []string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
