package httperr

import (
	"strconv"
	"unicode/utf8"

	"folio/engine"
)

// MaxEcho is how many bytes of one piece of a client's input (a parameter
// name, a value, a cursor) an error message repeats. A message that names
// what was wrong helps the client; one that repeats a 900 KB parameter
// name whole only makes the answer as large as the question.
const MaxEcho = 200

// MaxMessage bounds an engine error's message, the last resort for input
// the engine repeats in its messages (a field name, a value): room for a
// few echoes of MaxEcho bytes, quoted, and the words around them.
const MaxMessage = 2048

// Echo returns s as an error message may repeat it: whole when it holds
// at most MaxEcho bytes, otherwise its first MaxEcho bytes (cut at a
// character boundary) followed by a mark that says so.
func Echo(s string) string {
	if len(s) <= MaxEcho {
		return s
	}
	return s[:cut(s, MaxEcho)] + cutMark(len(s))
}

// Quote is strconv.Quote of s bounded as Echo bounds it. The mark follows
// the closing quote, so that no client reads it as part of its input.
func Quote(s string) string {
	if len(s) <= MaxEcho {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:cut(s, MaxEcho)]) + cutMark(len(s))
}

// cut returns the largest index of at most n that starts a character of
// s (len(s) > n).
func cut(s string, n int) int {
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return n
}

// cutMark says that an echo holds only the start of the input.
func cutMark(n int) string {
	return "… (cut; " + strconv.Itoa(n) + " bytes in all)"
}

// Bound returns e with every text a client may have put into it bounded:
// the parameter's name and the field by Echo, the message and the hint by
// MaxMessage. A dialect bounds the echoes of the messages it writes
// itself; this catches the engine's, which repeat field names and values
// as the client sent them. Writer.Error bounds every engine error it
// answers; a dialect that turns one into an answer of its own calls Bound
// first. e itself is not modified.
func Bound(e *engine.Error) *engine.Error {
	if len(e.Parameter) <= MaxEcho && len(e.Field) <= MaxEcho && len(e.Message) <= MaxMessage && len(e.Hint) <= MaxMessage {
		return e
	}
	c := *e
	c.Parameter, c.Field = Echo(e.Parameter), Echo(e.Field)
	c.Message, c.Hint = Bounded(e.Message), Bounded(e.Hint)
	return &c
}

// Bounded returns a message as an error body may carry it: whole when it
// holds at most MaxMessage bytes, otherwise cut there and marked. It is
// the last resort for a dialect's own answers, as Bound is for the
// engine's errors.
func Bounded(s string) string {
	if len(s) <= MaxMessage {
		return s
	}
	return s[:cut(s, MaxMessage)] + cutMark(len(s))
}
