package jsonapi

import (
	"strings"
	"testing"
)

// TestHugeInputEcho: an error repeats at most a bounded prefix of what the
// client sent, however large, in its detail and in source.parameter, and
// says that it cut it.
func TestHugeInputEcho(t *testing.T) {
	fx := newFixture(t)
	huge := strings.Repeat("x", 900<<10)
	for _, target := range []string{
		"/dois?" + huge + "=1",
		"/dois?page[" + huge + "]=1",
		"/dois?page[size]=" + huge,
		"/dois?page[number]=" + huge,
		"/dois?sort=" + huge,
		"/dois?created=" + huge,
		"/dois?published=" + huge,
		"/dois?fields[dois]=" + huge,
		"/dois?publisher=" + huge,
		"/dois?page[cursor]=" + huge,
		"/dois/10.5281/" + huge,
		"/dois/10.5281/x?" + huge + "=1",
	} {
		r := fx.get(target)
		e := decode[errorDoc](t, r)
		if r.status < 400 || len(e.Errors) != 1 {
			t.Errorf("%.40s…: status %d", target, r.status)
			continue
		}
		got := e.Errors[0]
		param := ""
		if got.Source != nil {
			param = got.Source.Parameter
		}
		echoed := strings.Contains(got.Detail+param, strings.Repeat("x", 100))
		if len(r.body) > 4096 || echoed && !strings.Contains(got.Detail+param, "bytes in all)") || len(param) > 300 {
			t.Errorf("%.40s…: %d bytes: %.400s", target, len(r.body), r.body)
		}
	}
}
