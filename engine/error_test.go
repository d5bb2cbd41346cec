package engine

import (
	"errors"
	"fmt"
	"testing"
)

// TestNames: a dialect's table names the engine's parameters; a filter is
// named by the dialect's function; errors already named, and errors that
// are not the engine's, pass unchanged; the original is never modified.
func TestNames(t *testing.T) {
	n := Names{
		Params: map[Param]string{ParamLimit: "page[size]", ParamCursor: "page[cursor]"},
		Filter: func(field string) string { return "filter[" + field + "]" },
	}
	plain := errors.New("plain")
	named := Invalidf("page[number]", "must be 1 or more")
	tests := []struct {
		err  error
		want string // the Parameter after naming; "-" for an error passed as it is
	}{
		{invalid(ParamLimit, "too big"), "page[size]"},
		{fmt.Errorf("page: %w", invalidCursor("altered")), "page[cursor]"},
		{invalidFilter("created", "not a time"), "filter[created]"},
		{invalid(ParamSort, "unknown field"), ""}, // no name in the table
		{named, "-"},
		{NotFoundf("no record"), "-"},
		{plain, "-"},
	}
	for _, tt := range tests {
		got := n.Name(tt.err)
		if tt.want == "-" {
			if got != tt.err {
				t.Errorf("%v: named to %v, want it passed unchanged", tt.err, got)
			}
			continue
		}
		e, ok := AsError(got)
		if !ok || e.Parameter != tt.want {
			t.Errorf("%v: Parameter %q, want %q", tt.err, e.Parameter, tt.want)
		}
		if orig, _ := AsError(tt.err); orig.Parameter != "" {
			t.Errorf("%v: the original was modified", tt.err)
		}
	}
	if got, _ := AsError((Names{}).Name(invalidFilter("a", "x"))); got.Parameter != "a" {
		t.Errorf("without a filter function a filter is named %q, want its field", got.Parameter)
	}
	tooDeep := &Error{Code: CodeInvalid, Param: ParamOffset, Message: "m", Err: ErrOffsetTooDeep}
	if !errors.Is(n.Name(tooDeep), ErrOffsetTooDeep) {
		t.Error("naming lost the cause")
	}
}
