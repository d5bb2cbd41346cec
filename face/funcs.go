package face

import (
	"html/template"
	"net/url"
	"strings"
)

// funcs returns the templates' helpers.
func funcs() template.FuncMap {
	return template.FuncMap{
		"join":       strings.Join,
		"pathEscape": url.PathEscape,
		"add":        func(a, b, c int) int { return a + b + c },
		"deref":      func(p *int64) int64 { return *p },
		"anchor":     func(s string) string { return strings.NewReplacer(" ", "-", "/", "_").Replace(s) },
		"rowOf": func(i int, f any, fields []fieldChoice, ops []string) filterRowView {
			v := filterRowView{I: i, Fields: fields, Ops: ops, Op: "eq"}
			if r, ok := f.(filterRow); ok {
				v.Field, v.Op, v.Value = r.Field, r.Op, r.Value
			}
			return v
		},
	}
}

// filterRowView is one row of the filter builder.
type filterRowView struct {
	I                int
	Field, Op, Value string
	Fields           []fieldChoice
	Ops              []string
}
