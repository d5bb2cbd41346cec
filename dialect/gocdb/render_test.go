package gocdb

import (
	"encoding/json"
	"strings"
	"testing"

	"folio/engine"
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

// FuzzNested: whatever a JSON column holds, the XML written for it is
// well-formed.
func FuzzNested(f *testing.F) {
	for _, s := range []string{`[]`, `[{"ID":1,"NAME":"n"}]`, `{"a":[[1,[2]],{"b":null}]}`, `{"<>":"&","\u0000":"\u0001"}`, `"\ud800"`, `x`} {
		f.Add(s)
	}
	col := column{name: "A", item: "I", open: []byte("<A>"), close: []byte("</A>")}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendNested(nil, col, s)
		if err := wellFormed(append(append([]byte("<r>"), out...), "</r>"...)); err != nil {
			t.Fatalf("%q: %v\n%s", s, err, out)
		}
		if !strings.HasSuffix(string(out), "A>") && !strings.HasSuffix(string(out), ">\n") {
			t.Fatalf("%q: output ends %q", s, out)
		}
	})
}
