package httperr

import (
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"folio/engine"
)

func TestEcho(t *testing.T) {
	short := strings.Repeat("a", MaxEcho)
	if Echo(short) != short || Quote(short) != strconv.Quote(short) {
		t.Errorf("an input of %d bytes was cut", MaxEcho)
	}
	long := strings.Repeat("é", 500) // two bytes each: a cut may fall inside one
	for name, got := range map[string]string{"Echo": Echo(long), "Quote": Quote(long)} {
		if len(got) > MaxEcho+40 {
			t.Errorf("%s: %d bytes for an input of %d", name, len(got), len(long))
		}
		if !utf8.ValidString(got) {
			t.Errorf("%s cut a character in two: %q", name, got)
		}
		if !strings.HasSuffix(got, "(cut; 1000 bytes in all)") {
			t.Errorf("%s does not say it cut: %q", name, got)
		}
	}
	q := Quote(long)
	if unq, err := strconv.Unquote(q[:strings.LastIndexByte(q, '"')+1]); err != nil || !strings.HasPrefix(long, unq) {
		t.Errorf("Quote: %q is not a quoted prefix followed by the mark (%v)", q, err)
	}
}

// TestWriterBoundsEngineEchoes: an engine error that repeats a client's
// huge input (here a field name, as the engine's "unknown field" does) is
// answered with a bounded body.
func TestWriterBoundsEngineEchoes(t *testing.T) {
	huge := strings.Repeat("x", 900<<10)
	err := &engine.Error{Code: engine.CodeInvalid, Param: engine.ParamFilter, Field: huge, Parameter: huge,
		Message: "unknown field " + strconv.Quote(huge), Hint: huge}
	x := &Writer{Shape: textShape{}}
	w := httptest.NewRecorder()
	x.Error(w, httptest.NewRequest("GET", "/x", nil), err)
	if w.Code != 400 || w.Body.Len() > 3*MaxMessage {
		t.Errorf("status %d, %d bytes of body", w.Code, w.Body.Len())
	}
	if !strings.Contains(w.Body.String(), "unknown field \"xxx") || !strings.Contains(w.Body.String(), "bytes in all)") {
		t.Errorf("body %.300q…: want the start of the message and the mark of the cut", w.Body.String())
	}
	if len(err.Parameter) != len(huge) {
		t.Error("the error passed in was modified")
	}
}
