package wire

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"folio/engine"
)

func TestAppendString(t *testing.T) {
	tests := []string{"", "plain", "quote\" back\\slash", "\x00\x1f\t\n\r", "Ünïcødé ☃ 𝄞", "bad \xff utf8", "sep\u2028\u2029"}
	for _, s := range tests {
		b := AppendString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Errorf("%q encoded as invalid JSON %s: %v", s, b, err)
			continue
		}
		want := strings.ToValidUTF8(s, "\ufffd")
		if back != want {
			t.Errorf("%q round-trips as %q", s, back)
		}
	}
}

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		v    engine.Value
		want string
	}{
		{nil, "null"},
		{int64(-42), "-42"},
		{0.1, "0.1"},
		{1e21, "1e+21"},
		{math.Copysign(0, -1), "-0"},
		{true, "true"},
		{time.Date(2024, 1, 2, 3, 4, 5, 600, time.UTC), `"2024-01-02T03:04:05.0000006Z"`},
		{time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), `"2024-01-02T03:04:05Z"`},
		{[]byte{0xfb, 0xff}, `"-_8"`},
		{json.RawMessage(`["Ti"]`), `["Ti"]`},
		{json.RawMessage(`not json`), `"not json"`},
	}
	for _, tt := range tests {
		if got := string(AppendJSON(nil, tt.v)); got != tt.want {
			t.Errorf("AppendJSON(%#v) = %s, want %s", tt.v, got, tt.want)
		}
	}
}
