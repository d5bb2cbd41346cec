package client

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// FuzzScanPage holds the one-pass page scanner against encoding/json on
// any input: valid exactly when json.Valid says so, and then the same
// array elements, the same object members (the last of a repeated key
// winning) and the same elements of member arrays, byte for byte.
func FuzzScanPage(f *testing.F) {
	for _, s := range []string{
		`[]`, ` [ ] `, `[1]`, `[1,2,3]`, `[ "a" , "b,c" ]`, `["\"]", "\\"]`,
		`[{"a":[1,{"b":"]}"}]},{"c":null}]`, "[\n  {\"x\": \"y\"},\n  [true, false]\n]",
		`[[],{},"",0,-1.5e3]`, `["é\u00e9", "\ud83d\ude00"]`, `{"a":1}`, `[1,`, `"x"`, `0`, `-0.0E+1`,
		`{"data":[1,2],"page":{"next":"a\"b"},"k\u00e9y" : [ ] }`, `{"a":1,"a":2,"data":[]}`,
		`01`, `1.`, `.5`, `-`, `1e`, `tru`, `nul`, `[1,]`, `{"a":}`, `{"a" 1}`, `{,}`, `["\x"]`, `["\u12G4"]`,
		"[\"\x01\"]", "\"\xff\xfe\"", `{"\u00e9":[{"x":1}]}`, `[1 2]`, `{}{}`, ` `, ``,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
		`{"a":` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `}`,
		`{"a":` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		elems, members, ok := scanPage(b)
		if ok != json.Valid(b) {
			t.Fatalf("%q: scanPage says valid=%v, json.Valid %v", b, ok, !ok)
		}
		if !ok {
			return
		}
		sameElems := func(what string, got []Record, raw []byte) {
			var want []json.RawMessage
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatalf("%q: %v", raw, err)
			}
			if len(got) != len(want) {
				t.Fatalf("%q: %s has %d elements, want %d", b, what, len(got), len(want))
			}
			for i := range want {
				if !bytes.Equal(got[i], want[i]) {
					t.Fatalf("%q: %s element %d is %q, want %q", b, what, i, got[i], want[i])
				}
			}
		}
		switch bytes.TrimSpace(b)[0] {
		case '[':
			sameElems("the array", elems, b)
		case '{':
			var want map[string]json.RawMessage
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			got := map[string]member{}
			for _, m := range members {
				k, err := memberKey(m.key)
				if err != nil {
					t.Fatalf("%q: key %q: %v", b, m.key, err)
				}
				got[k] = m
			}
			if len(got) != len(want) {
				t.Fatalf("%q: %d members, want %d", b, len(got), len(want))
			}
			for k, v := range want {
				if !bytes.Equal(got[k].value, v) {
					t.Fatalf("%q: member %q is %q, want %q", b, k, got[k].value, v)
				}
				if v[0] == '[' {
					sameElems(fmt.Sprintf("member %q", k), got[k].elems, v)
				}
			}
		}
	})
}

// TestJSONRecordsRejectsInvalid: a page that is not JSON is an error, never
// a partial list of records.
func TestJSONRecordsRejectsInvalid(t *testing.T) {
	for _, body := range []string{`[1,`, `[1 2]`, `{"data":[1,}`, `{"data":[{"a":1}]`, `[{"a":1}]]`, ``, `"data"`} {
		if recs, _, err := jsonRecords([]byte(body)); err == nil {
			t.Errorf("%s: no error, records %q", body, recs)
		}
	}
}

// BenchmarkJSONRecords reads a page of 1000 records shaped like the demo's
// entries: the one-pass scanner against encoding/json's validate-then-
// decode, in the same run.
func BenchmarkJSONRecords(b *testing.B) {
	var page bytes.Buffer
	page.WriteString(`{"data":[`)
	for i := range 1000 {
		if i > 0 {
			page.WriteByte(',')
		}
		fmt.Fprintf(&page, `{"entry_id":"e%027d","upload_id":"u%027d","upload_create_time":"2025-12-31T17:32:14.715865Z","entry_create_time":"2025-12-31T19:39:57.749398Z","formula":"Mn4OSbSi3","elements":["Mn","O","Sb","Si"],"n_elements":4,"n_atoms":9,"band_gap":1.3072,"method":"DFT","program_name":"Quantum Espresso","public":true}`, i, i%97)
	}
	page.WriteString(`],"page":{"limit":1000,"count":1000,"next_cursor":"AQARunT2Vi5JggW8-KqVDaj3rNUCAxx6dGVpQmtLcE45ZGwwcElOb0JEbjhMQjFMRUpofP"},"links":{"next":"http://127.0.0.1:8080/v1/entries?cursor=x&limit=1000"}}`)
	body := page.Bytes()
	b.Run("scan", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if recs, _, err := jsonRecords(body); err != nil || len(recs) != 1000 {
				b.Fatal(err, len(recs))
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			var top struct {
				Data []json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(body, &top); err != nil || len(top.Data) != 1000 {
				b.Fatal(err)
			}
		}
	})
}
