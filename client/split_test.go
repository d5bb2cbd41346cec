package client

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzSplitTop holds the one-pass splitter of a page's records against
// encoding/json on every valid array and object: the same elements and
// members, byte for byte once surrounding space is trimmed.
func FuzzSplitTop(f *testing.F) {
	for _, s := range []string{
		`[]`, ` [ ] `, `[1]`, `[1,2,3]`, `[ "a" , "b,c" ]`, `["\"]", "\\"]`,
		`[{"a":[1,{"b":"]}"}]},{"c":null}]`, "[\n  {\"x\": \"y\"},\n  [true, false]\n]",
		`[[],{},"",0,-1.5e3]`, `["é\u00e9", "\ud83d\ude00"]`, `{"a":1}`, `[1,`, `"x"`,
		`{"data":[1,2],"page":{"next":"a\\"b"},"k\u00e9y" : [ ] }`, `{"a":1,"a":2,"data":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var members map[string]json.RawMessage
		if json.Unmarshal(b, &members) == nil && members != nil {
			got, err := splitObject(bytes.TrimSpace(b))
			if err != nil {
				t.Fatalf("%q: %v", b, err)
			}
			if len(got) != len(members) {
				t.Fatalf("%q: %d members, want %d", b, len(got), len(members))
			}
			for k, v := range members {
				if !bytes.Equal(got[k], v) {
					t.Fatalf("%q: member %q is %q, want %q", b, k, got[k], v)
				}
			}
			return
		}
		var want []json.RawMessage
		if err := json.Unmarshal(b, &want); err != nil {
			return // splitTop is only ever given validated JSON
		}
		got := splitTop(bytes.TrimSpace(b))
		if len(got) != len(want) {
			t.Fatalf("%q: %d elements, want %d", b, len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], bytes.TrimSpace(want[i])) {
				t.Fatalf("%q: element %d is %q, want %q", b, i, got[i], want[i])
			}
		}
	})
}

// TestJSONRecordsRejectsInvalid: a page that is not JSON is an error, never
// a partial list of records.
func TestJSONRecordsRejectsInvalid(t *testing.T) {
	for _, body := range []string{`[1,`, `[1 2]`, `{"data":[1,}`, `{"data":[{"a":1}]`, `[{"a":1}]]`} {
		if recs, _, err := jsonRecords([]byte(body)); err == nil {
			t.Errorf("%s: no error, records %q", body, recs)
		}
	}
}
