package face

import (
	"encoding/json"
	"slices"
	"testing"
)

// TestJSONList holds the fast path for arrays of plain strings to
// encoding/json's reading of the same text.
func TestJSONList(t *testing.T) {
	for _, raw := range []string{
		`[]`, ` [ ] `, `["Ti","O"]`, `[ "a" , "b" ]`, `["é","日本"]`, `["a\"b","c"]`, `["a\\b"]`, `["\u00e9"]`,
		`[1,"a",null,{"x":1}]`, `["a",]`, `["a"`, `[`, `["a"]x`, `[[1],[2]]`, `["tab	x"]`,
	} {
		got, ok := jsonList(json.RawMessage(raw))
		var items []json.RawMessage
		wantOK := json.Unmarshal([]byte(raw), &items) == nil
		if ok != wantOK {
			t.Errorf("%s: ok %v, want %v", raw, ok, wantOK)
			continue
		}
		want := make([]string, len(items))
		for i, it := range items {
			if it[0] != '"' || json.Unmarshal(it, &want[i]) != nil {
				want[i] = string(it)
			}
		}
		if ok && !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", raw, got, want)
		}
	}
}
