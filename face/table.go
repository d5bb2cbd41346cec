package face

import (
	"bytes"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
	Arrow      string // ▲ or ▼ on the column the page is sorted by
}

type cell struct {
	Null, Empty bool
	Text        string
	Short       string // when the text is truncated: its start
	List        []string
	IsList      bool
	Link        string // the record's page (key cells)
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
	Head              template.HTML // the header cells (headHTML)
	Rows              int
	Body              template.HTML // the rows, built by appendCell
	Nav               []navLink
	Count, Limit      int
	Total             *engine.Total
	CountExact        string // URLs that ask for the total
	CountEstimate     string
	Exports           []navLink
	JSON              string
	Filters           []builderRow
	Fields            []fieldChoice
	Ops               []string
	Limits            template.HTML
	Chooser           template.HTML // the field chooser's checkboxes
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
	v.Head = headHTML(v.Columns)
	bp := f.bufs.Get()
	defer f.bufs.Put(bp)
	*bp = appendRows((*bp)[:0], base+path, c, p)
	v.Rows, v.Body = len(p.Rows), template.HTML(*bp)
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
	rows := currentFilters(q)
	rows = append(rows, filterRow{Op: string(engine.OpEq)}) // a blank one to add
	for i, fr := range rows {
		v.Filters = append(v.Filters, builderRow{N: i, Label: i + 1, Value: fr.Value,
			Fields: optionsHTML(fieldOptions(v.Fields, fr.Field)), Ops: optionsHTML(options(v.Ops, fr.Op))})
	}
	var sizes []int
	for _, n := range []int{10, 25, 50, 100, 250, 500, 1000} {
		if n <= c.MaxLimit {
			sizes = append(sizes, n)
		}
	}
	if !slices.Contains(sizes, p.Limit) {
		sizes = append(sizes, p.Limit)
		slices.Sort(sizes)
	}
	var limits []option
	for _, n := range sizes {
		s := strconv.Itoa(n)
		limits = append(limits, option{Value: s, Label: s, Selected: n == p.Limit})
	}
	v.Limits = optionsHTML(limits)
	v.Chooser = chooserHTML(v.Fields)
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
					col.AriaSort, col.Arrow = "descending", "▼"
				} else {
					col.AriaSort, col.Arrow = "ascending", "▲"
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

// option is one choice of a select, chosen or not.
type option struct {
	Value, Label string
	Selected     bool
}

// builderRow is one condition of the filter builder.
type builderRow struct {
	N, Label int // its index, and its number for people
	Value    string
	Fields   template.HTML // the options of its selects (optionsHTML)
	Ops      template.HTML
}

// optionsHTML writes the options of a select. The face writes its
// repeated markup (options, checkboxes, rows) itself, with every value
// escaped: html/template calls its escapers through reflection for each
// action, which on a page of a thousand cells costs more than the query.
func optionsHTML(opts []option) template.HTML {
	var b []byte
	for _, o := range opts {
		b = append(b, `<option value="`...)
		b = appendEscaped(b, o.Value)
		b = append(b, '"')
		if o.Selected {
			b = append(b, " selected"...)
		}
		b = append(b, '>')
		b = appendEscaped(b, o.Label)
		b = append(b, "</option>"...)
	}
	return template.HTML(b)
}

// chooserHTML writes the field chooser's checkboxes, each in its label.
func chooserHTML(fields []fieldChoice) template.HTML {
	var b []byte
	for _, f := range fields {
		b = append(b, `<label class="check"><input type="checkbox" name="fc" value="`...)
		b = appendEscaped(b, f.Name)
		b = append(b, '"')
		if f.Chosen {
			b = append(b, " checked"...)
		}
		b = append(b, "> "...)
		b = appendEscaped(b, f.Name)
		b = append(b, "</label> "...)
	}
	return template.HTML(b)
}

// appendEscaped appends s escaped for HTML text and quoted attribute
// values (as html.EscapeString, without its allocation).
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); i++ {
		var r string
		switch s[i] {
		case '&':
			r = "&amp;"
		case '<':
			r = "&lt;"
		case '>':
			r = "&gt;"
		case '"':
			r = "&#34;"
		case '\'':
			r = "&#39;"
		case 0:
			r = "\uFFFD" // NUL, which HTML parsers drop or replace
		default:
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, r...)
		last = i + 1
	}
	return append(b, s[last:]...)
}

func options(values []string, chosen string) []option {
	out := make([]option, len(values))
	for i, v := range values {
		out[i] = option{Value: v, Label: v, Selected: v == chosen}
	}
	return out
}

// fieldOptions are the filterable fields, each labelled with its type and
// operators.
func fieldOptions(fields []fieldChoice, chosen string) []option {
	out := []option{{Value: "", Label: "(field)"}}
	for _, f := range fields {
		if f.Filterable {
			out = append(out, option{Value: f.Name, Label: f.Name + " (" + f.Type + ": " + f.Ops + ")", Selected: f.Name == chosen})
		}
	}
	return out
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

// appendRows writes the page's rows as table rows. A page has up to a
// thousand rows of a dozen cells: written here with html.EscapeString
// rather than a template per cell, which costs several times the query.
func appendRows(b []byte, path string, c *engine.Collection, p *engine.Page) []byte {
	keyIdx := keyIndexes(c, p)
	isKey := make([]bool, len(p.Columns))
	for _, j := range p.Fields {
		isKey[j] = slices.Contains(c.Key, p.Columns[j].Name)
	}
	for _, rw := range p.Rows {
		link := recordURL(path, c, rw, keyIdx)
		b = append(b, "<tr>"...)
		for _, j := range p.Fields {
			cl := render(rw[j], p.Columns[j])
			if isKey[j] {
				cl.Link = link
			}
			b = append(b, "<td>"...)
			b = appendCell(b, cl)
			b = append(b, "</td>"...)
		}
		b = append(b, "</tr>\n"...)
	}
	return b
}

// headHTML writes the header cells: each sortable one a link, the one the
// page is sorted by marked with aria-sort.
func headHTML(cols []column) template.HTML {
	var b []byte
	for _, c := range cols {
		b = append(b, `<th scope="col" aria-sort="`...)
		b = append(b, c.AriaSort...)
		b = append(b, `" data-field="`...)
		b = appendEscaped(b, c.Name)
		b = append(b, '"')
		if c.Key {
			b = append(b, ` class="key"`...)
		}
		b = append(b, '>')
		if c.SortURL != "" {
			b = append(b, `<a href="`...)
			b = appendEscaped(b, c.SortURL)
			b = append(b, `" aria-label="`...)
			b = appendEscaped(b, c.Name+": "+c.SortLabel)
			b = append(b, `">`...)
			b = appendEscaped(b, c.Name)
			if c.Arrow != "" {
				b = append(b, ` <span aria-hidden="true">`...)
				b = append(b, c.Arrow...)
				b = append(b, `</span>`...)
			}
			b = append(b, "</a>"...)
		} else {
			b = appendEscaped(b, c.Name)
		}
		b = append(b, ` <span class="type">`...)
		b = append(b, c.Type...)
		b = append(b, "</span></th>"...)
	}
	return template.HTML(b)
}

// appendCell writes a value as the "value" template of layout.html does.
func appendCell(b []byte, c cell) []byte {
	switch {
	case c.Null:
		return append(b, `<span class="null" title="NULL: no value">NULL</span>`...)
	case c.Empty:
		return append(b, `<span class="empty" title="an empty string">""</span>`...)
	case c.IsList && len(c.List) == 0:
		return append(b, `<span class="empty" title="an empty list">[ ]</span>`...)
	case c.IsList:
		b = append(b, `<ul class="list">`...)
		for _, it := range c.List {
			b = append(b, "<li>"...)
			b = appendEscaped(b, it)
			b = append(b, "</li>"...)
		}
		return append(b, "</ul>"...)
	case c.Short != "":
		b = append(b, `<details class="long"><summary>`...)
		b = appendEscaped(b, c.Short)
		b = append(b, `… <span class="more">show all</span></summary><span class="full">`...)
		b = appendEscaped(b, c.Text)
		return append(b, "</span></details>"...)
	case c.Link != "":
		b = append(b, `<a href="`...)
		b = appendEscaped(b, c.Link)
		b = append(b, `">`...)
		b = appendEscaped(b, c.Text)
		return append(b, "</a>"...)
	}
	return appendEscaped(b, c.Text)
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
		if l, ok := jsonList(x); ok {
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

// jsonList returns the items of a JSON array as text: strings as
// themselves, other values as their JSON.
func jsonList(raw json.RawMessage) ([]string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '[' {
		return nil, false
	}
	if l, ok := plainStrings(raw); ok {
		return l, true
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil, false
	}
	l := make([]string, len(items))
	for i, it := range items {
		if it[0] != '"' || json.Unmarshal(it, &l[i]) != nil {
			l[i] = string(it)
		}
	}
	return l, true
}

// plainStrings reads the commonest array, of strings without escapes
// (["Ti","O"]), without encoding/json's reflection; ok is false for
// anything else, which jsonList decodes in full.
func plainStrings(raw []byte) (l []string, ok bool) {
	i := 1
	space := func() {
		for i < len(raw) && (raw[i] == ' ' || raw[i] == '\n' || raw[i] == '\t' || raw[i] == '\r') {
			i++
		}
	}
	space()
	if i < len(raw) && raw[i] == ']' {
		i++
		space()
		return []string{}, i == len(raw)
	}
	for i < len(raw) {
		if raw[i] != '"' {
			return nil, false
		}
		end := bytes.IndexByte(raw[i+1:], '"')
		if end < 0 {
			return nil, false
		}
		item := raw[i+1 : i+1+end]
		if bytes.IndexByte(item, '\\') >= 0 || !utf8.Valid(item) {
			return nil, false
		}
		for _, c := range item {
			if c < 0x20 {
				return nil, false
			}
		}
		l = append(l, string(item))
		i += end + 2
		space()
		if i < len(raw) && raw[i] == ',' {
			i++
			space()
			continue
		}
		if i < len(raw) && raw[i] == ']' {
			i++
			space()
			return l, i == len(raw)
		}
		return nil, false
	}
	return nil, false
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
