package gocdb

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"folio/engine"
	"folio/wire"
)

// TestAppendNested pins how a JSON value is written as XML children: the
// shape GOCDB gives AFFECTED_ENDPOINTS, and what other JSON turns into.
func TestAppendNested(t *testing.T) {
	col := column{name: "AFFECTED_ENDPOINTS", item: "ENDPOINT"}
	tests := []struct {
		in   engine.Value
		want string
	}{
		{json.RawMessage(`[]`), "    <AFFECTED_ENDPOINTS/>\n"},
		{`[{"ID":7517,"NAME":"lhcbsrm-disk-kit","URL":"","INTERFACENAME":"SRM","ENDPOINT_MONITORED":"N"}]`,
			"    <AFFECTED_ENDPOINTS>\n      <ENDPOINT>\n        <ID>7517</ID>\n        <NAME>lhcbsrm-disk-kit</NAME>\n        <URL/>\n" +
				"        <INTERFACENAME>SRM</INTERFACENAME>\n        <ENDPOINT_MONITORED>N</ENDPOINT_MONITORED>\n      </ENDPOINT>\n    </AFFECTED_ENDPOINTS>\n"},
		{json.RawMessage(`["a<b",2.50,true,null,{}]`),
			"    <AFFECTED_ENDPOINTS>\n      <ENDPOINT>a&lt;b</ENDPOINT>\n      <ENDPOINT>2.50</ENDPOINT>\n      <ENDPOINT>true</ENDPOINT>\n" +
				"      <ENDPOINT/>\n      <ENDPOINT/>\n    </AFFECTED_ENDPOINTS>\n"},
		{json.RawMessage(`{"URLS":["x","y"],"1st":1,"a b":{"c":[]},"":"e","é":"f"}`),
			"    <AFFECTED_ENDPOINTS>\n      <URLS>x</URLS>\n      <URLS>y</URLS>\n      <_1st>1</_1st>\n      <a_b/>\n      <_>e</_>\n      <_>f</_>\n    </AFFECTED_ENDPOINTS>\n"},
		{json.RawMessage(`"text & more"`), "    <AFFECTED_ENDPOINTS>text &amp; more</AFFECTED_ENDPOINTS>\n"},
		{`not [json`, "<AFFECTED_ENDPOINTS>not [json</AFFECTED_ENDPOINTS>"},
	}
	col.open, col.close = []byte("<AFFECTED_ENDPOINTS>"), []byte("</AFFECTED_ENDPOINTS>")
	for _, tt := range tests {
		got := string(appendNested(nil, col, tt.in))
		if got != tt.want {
			t.Errorf("%v:\n got %q\nwant %q", tt.in, got, tt.want)
		}
		if err := wellFormed([]byte("<r>" + got + "</r>")); err != nil {
			t.Errorf("%v: not well-formed: %v", tt.in, err)
		}
	}
}

// byTokens converts valid JSON raw as appendNested does, token by token.
func byTokens(raw string, c column) string {
	d := json.NewDecoder(strings.NewReader(raw))
	d.UseNumber()
	tok, _ := d.Token()
	return string(tokensXML(nil, d, tok, 4, c.name, c.item))
}

// tokensXML is the straightforward conversion with encoding/json's token
// reader, the oracle the one-pass walker (jsonXML) is held to.
func tokensXML(b []byte, d *json.Decoder, tok json.Token, indent int, name, item string) []byte {
	b = appendIndent(b, indent)
	b = append(b, '<')
	b = append(b, name...)
	switch t := tok.(type) {
	case json.Delim: // '{' or '[': valid JSON opens nothing else here
		b = append(b, ">\n"...)
		start := len(b)
		for d.More() {
			if t == '[' {
				next, _ := d.Token()
				b = tokensXML(b, d, next, indent+2, item, item)
				continue
			}
			key, _ := d.Token()
			member := xmlName(key.(string))
			next, _ := d.Token()
			if next == json.Delim('[') {
				// An array member: one element per item, named by the member.
				for d.More() {
					it, _ := d.Token()
					b = tokensXML(b, d, it, indent+2, member, member)
				}
				d.Token() // ']'
				continue
			}
			b = tokensXML(b, d, next, indent+2, member, member)
		}
		d.Token() // the closing delimiter
		if len(b) == start {
			return append(b[:start-2], "/>\n"...)
		}
		b = appendIndent(b, indent)
	default:
		var text string
		switch x := t.(type) {
		case string:
			text = x
		case json.Number:
			text = x.String()
		case bool:
			text = strconv.FormatBool(x)
		}
		if text == "" {
			return append(b, "/>\n"...)
		}
		b = append(b, '>')
		b = wire.AppendXML(b, text)
	}
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, ">\n"...)
}

// FuzzNested: whatever a JSON column holds, the XML written for it is
// well-formed, and for valid JSON the same as the token reader's.
func FuzzNested(f *testing.F) {
	for _, s := range []string{`[]`, `[{"ID":1,"NAME":"n"}]`, `{"a":[[1,[2]],{"b":null}]}`, `{"<>":"&","\u0000":"\u0001"}`, `"\ud800"`, `x`,
		` { "a" : [ 1 , "x\"y" , -2.5e3 ] , "b" : { } , "c" : [ ] } `, `[[],[[]],{"k":[{}]}]`, `"\u00e9\n\\"`, `false`, `null`} {
		f.Add(s)
	}
	col := column{name: "A", item: "I", open: []byte("<A>"), close: []byte("</A>")}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendNested(nil, col, s)
		if json.Valid([]byte(s)) {
			if want := byTokens(s, col); string(out) != want {
				t.Fatalf("%q:\n got %q\nwant %q", s, out, want)
			}
		}
		if err := wellFormed(append(append([]byte("<r>"), out...), "</r>"...)); err != nil {
			t.Fatalf("%q: %v\n%s", s, err, out)
		}
		if !strings.HasSuffix(string(out), "A>") && !strings.HasSuffix(string(out), ">\n") {
			t.Fatalf("%q: output ends %q", s, out)
		}
	})
}
