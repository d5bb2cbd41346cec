package native

import (
	"slices"
	"testing"

	"folio/engine"
)

// TestOperatorsMatch: /v1 offers match on full-text fields, and only there.
func TestOperatorsMatch(t *testing.T) {
	for _, tt := range []struct {
		f    engine.Field
		want bool
	}{
		{engine.Field{Type: engine.TypeText, FullText: true}, true},
		{engine.Field{Type: engine.TypeText}, false},
		{engine.Field{Type: engine.TypeInt, FullText: true}, false},
	} {
		if got := slices.Contains(operators(&tt.f), string(engine.OpMatch)); got != tt.want {
			t.Errorf("%v field, full-text %v: match offered %v, want %v", tt.f.Type, tt.f.FullText, got, tt.want)
		}
	}
}
