package native

import (
	"strings"
	"testing"
)

// TestHugeInputEcho: an error repeats at most a bounded prefix of what the
// client sent, however large, and says that it cut it; whether the message
// is the dialect's own or the engine's.
func TestHugeInputEcho(t *testing.T) {
	h := newHandler(t)
	huge := strings.Repeat("x", 900<<10)
	for _, target := range []string{
		"/v1/items?" + huge + "=1",              // an unknown parameter
		"/v1/items?limit=" + huge,               // the dialect's value
		"/v1/items?sort=" + huge,                // the engine's unknown field
		"/v1/items?id=" + huge,                  // the engine's value parse
		"/v1/items?score[" + huge + "]=1",       // an unknown operator
		"/v1/items?" + huge + ";limit=2",        // a malformed query string
		"/v1?" + huge + "=1",                    // the collection list
		"/v1/items/1?" + huge + "=1",            // a record
		"/v1/items.csv?offset=1&" + huge + "=1", // an export
	} {
		r := get(h, target)
		if r.status != 400 || len(r.body) > 4096 {
			t.Errorf("%.40s…: status %d, %d bytes of body", target, r.status, len(r.body))
			continue
		}
		if e := decode[errorBody](t, r); !strings.Contains(e.Error.Message+e.Error.Parameter, "bytes in all)") {
			t.Errorf("%.40s…: %s: the echo is not marked as cut", target, r.body)
		}
	}
}
