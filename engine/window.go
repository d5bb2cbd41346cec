package engine

// Window says which slice of the ordered result a request wants: a limit
// and one position.
type Window struct {
	Limit int // rows per page; 0 means the collection's default
	// At is where the page starts; nil is the first page (of keyset
	// paging, or of offset paging on a collection without a key).
	At Position
}

// Position is where a page starts: Offset, Token, After, Before or Last.
// The set is closed, so a Window cannot name two positions at once.
type Position interface{ position() }

// StreamPosition is where a stream starts: Offset or After. Streams run
// forward from one point, so the other positions have no meaning there.
type StreamPosition interface {
	Position
	streamPosition()
}

// Offset starts offset paging at this row (0 is the first).
type Offset int

// Token continues from a signed cursor this engine issued (Page.Next,
// Page.Prev or Page.Last); it knows its own direction.
type Token string

// After starts at the rows strictly after these sort values (a
// transparent boundary: NOMAD's page_after_value, GOCDB's next_cursor).
type After []Value

// Before ends at the rows strictly before these sort values.
type Before []Value

// Last is the final page of keyset paging.
type Last struct{}

func (Offset) position() {}
func (Token) position()  {}
func (After) position()  {}
func (Before) position() {}
func (Last) position()   {}

func (Offset) streamPosition() {}
func (After) streamPosition()  {}

// Span says which rows a stream wants: up to Limit rows (0: all of them)
// from From (nil: the first row).
type Span struct {
	Limit int
	From  StreamPosition
}
