package client

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestNextLink reads the next link out of Link headers that a regular
// expression or a split on commas gets wrong.
func TestNextLink(t *testing.T) {
	for _, tt := range []struct {
		name   string
		fields []string // one Link header line each
		want   string
	}{
		{"plain", []string{`<https://x/2>; rel="next"`}, "https://x/2"},
		{"token rel", []string{`<https://x/2>; rel=next`}, "https://x/2"},
		{"comma and semicolon in the URL", []string{`<https://x/?sort=-a,b;c&limit=2>; rel="next"`}, "https://x/?sort=-a,b;c&limit=2"},
		{"quoted comma and semicolon before rel", []string{`<https://x/2>; title="page, two; of many"; rel="next"`}, "https://x/2"},
		{"escaped quote in a title", []string{`<https://x/1>; title="say \"hi\", rel=next"; rel="prev", <https://x/3>; rel="next"`}, "https://x/3"},
		{"rel=next inside a title only", []string{`<https://x/1>; title="x; rel=next"`}, ""},
		{"several rel values", []string{`<https://x/1>; rel="first", <https://x/9>; rel="next last"`}, "https://x/9"},
		{"rel in upper case", []string{`<https://x/2>; REL="NEXT"`}, "https://x/2"},
		{"rel in mixed case", []string{`<https://x/2>; Rel=Next`}, "https://x/2"},
		{"a longer relation is not next", []string{`<https://x/2>; rel="nextpage next-archive"`}, ""},
		{"only the first rel counts", []string{`<https://x/1>; rel="prev"; rel="next", <https://x/2>; rel="next"; rel="prev"`}, "https://x/2"},
		{"several header lines", []string{`<https://x/1>; rel="prev"`, `<https://x/3>; rel="next"`}, "https://x/3"},
		{"whitespace everywhere", []string{" \t<https://x/2> \t;\t rel \t= \t\"next\" \t, "}, "https://x/2"},
		{"empty list elements", []string{`, ,<https://x/1>;rel=prev,,<https://x/2>;rel=next,`}, "https://x/2"},
		{"empty parameters", []string{`<https://x/2>;; rel=next;`}, "https://x/2"},
		{"a parameter without value", []string{`<https://x/2>; crossorigin; rel=next`}, "https://x/2"},
		{"relative", []string{`</items?cursor=abc%2Cd>; rel="next"`}, "/items?cursor=abc%2Cd"},
		{"empty target", []string{`<>; rel="next"`}, ""},
		{"malformed element skipped", []string{`garbage; rel=next, <https://x/2>; rel="next"`}, "https://x/2"},
		{"bad parameter skipped", []string{`<https://x/1>; =oops; rel=next, <https://x/2>; rel=next`}, "https://x/2"},
		{"text after the target skipped", []string{`<https://x/1> junk; rel=next, <https://x/2>; rel=next`}, "https://x/2"},
		{"unclosed quote swallows the rest", []string{`<https://x/1>; title="oops, <https://x/2>; rel=next`}, ""},
		{"unclosed bracket", []string{`<https://x/2; rel=next`}, ""},
		{"folio's own header", []string{`<http://h/v1/e?limit=2&sort=-n_elements%2Cformula>; rel="self", <http://h/v1/e?limit=2&sort=-n_elements%2Cformula>; rel="first", <http://h/v1/e?cursor=AQ&limit=2&sort=-n_elements%2Cformula>; rel="next"`}, "http://h/v1/e?cursor=AQ&limit=2&sort=-n_elements%2Cformula"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := Response{Header: http.Header{"Link": tt.fields}}
			if got := nextLink(resp, nil); got != tt.want {
				t.Errorf("next link %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseLinks(t *testing.T) {
	got := parseLinks(`<a>; rel="next last"; title="page, two"; title*=UTF-8'de'n%c3%a4chste, <b>;anchor="#x";REV=made`)
	want := []webLink{
		{"a", []linkParam{{"rel", "next last"}, {"title", "page, two"}, {"title*", "UTF-8'de'n%c3%a4chste"}}},
		{"b", []linkParam{{"anchor", "#x"}, {"rev", "made"}}},
	}
	if !slices.EqualFunc(got, want, func(a, b webLink) bool { return a.target == b.target && slices.Equal(a.params, b.params) }) {
		t.Errorf("parseLinks = %+v\nwant %+v", got, want)
	}
	if r := got[0].rels(); !slices.Equal(r, []string{"next", "last"}) {
		t.Errorf("rels %q", r)
	}
}

// formatLinks writes links as an RFC 8288 Link header: every value a
// quoted string with '"' and '\' escaped.
func formatLinks(ls []webLink) string {
	var b strings.Builder
	for i, l := range ls {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("<" + l.target + ">")
		for _, p := range l.params {
			b.WriteString("; " + p.name + `="`)
			b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p.value))
			b.WriteByte('"')
		}
	}
	return b.String()
}

// FuzzParseLinks: no input panics, and what is read from any header is
// read again, the same, from its formatted form.
func FuzzParseLinks(f *testing.F) {
	f.Add(`<https://x/2>; title="page, two"; rel="next"`)
	f.Fuzz(func(t *testing.T, h string) {
		ls := parseLinks(h)
		for _, l := range ls {
			if strings.Contains(l.target, ">") {
				t.Fatalf("%q: target %q holds '>'", h, l.target)
			}
			for _, p := range l.params {
				if p.name == "" || strings.ToLower(p.name) != p.name || strings.IndexFunc(p.name, func(r rune) bool { return r > 127 || !isTokenChar(byte(r)) }) >= 0 {
					t.Fatalf("%q: parameter name %q", h, p.name)
				}
			}
		}
		again := parseLinks(formatLinks(ls))
		if !slices.EqualFunc(again, ls, func(a, b webLink) bool { return a.target == b.target && slices.Equal(a.params, b.params) }) {
			t.Fatalf("%q read as %+v; its formatted form %q as %+v", h, ls, formatLinks(ls), again)
		}
	})
}

// FuzzLinkRoundTrip formats a next link with a title of any text between
// two other links, and must read back exactly its target, not another.
func FuzzLinkRoundTrip(f *testing.F) {
	f.Add("https://x/?sort=-a,b;c", "page, two; \"next\"", "next last")
	f.Fuzz(func(t *testing.T, target, title, rel string) {
		if strings.ContainsAny(target, "<>") || target != strings.TrimSpace(target) || target == "" {
			return // not a URI-Reference that a Link header can carry
		}
		rels := strings.Fields(rel)
		if !slices.ContainsFunc(rels, func(r string) bool { return strings.EqualFold(r, "next") }) {
			rels = append(rels, "next")
		}
		ls := []webLink{
			{"https://decoy/1", []linkParam{{"rel", "prev"}, {"title", title}}},
			{target, []linkParam{{"title", title}, {"rel", strings.Join(rels, " ")}}},
			{"https://decoy/2", []linkParam{{"rel", "next"}}},
		}
		h := formatLinks(ls)
		if got := nextLink(Response{Header: http.Header{"Link": {h}}}, nil); got != target {
			t.Fatalf("%s\nnext link %q, want %q", h, got, target)
		}
		got := parseLinks(h)
		if len(got) != 3 || got[1].target != target || !slices.Equal(got[1].params, []linkParam{{"title", title}, {"rel", strings.Join(rels, " ")}}) {
			t.Fatalf("%s\nread as %+v", h, got)
		}
	})
}
