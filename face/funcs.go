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
	}
}
