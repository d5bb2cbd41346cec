package wire

import (
	"net/http"
	"time"
)

// Stream writes a response of any length in constant memory: it collects
// bytes in one buffer and hands them to the connection whenever the buffer
// passes a threshold or enough time has gone by, flushing so that the
// client sees rows as they come (chunked transfer, no Content-Length).
type Stream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	Buf     []byte // append to it, then call Row
	last    time.Time
	written int64
	err     error
}

// streamChunk is how many bytes Stream gathers before writing them.
const streamChunk = 32 << 10

// streamInterval bounds how long a slow query's rows wait in the buffer.
const streamInterval = 200 * time.Millisecond

// streamWriteTimeout bounds each write of a stream to the connection. A
// server's WriteTimeout bounds a whole response, which would cut off any
// export that takes longer; a deadline per write still drops a client
// that stops reading.
const streamWriteTimeout = time.Minute

// NewStream starts a streamed response with the given content type.
func NewStream(w http.ResponseWriter, contentType string) *Stream {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Del("Content-Length")
	h.Set("X-Content-Type-Options", "nosniff")
	return &Stream{w: w, rc: http.NewResponseController(w), Buf: make([]byte, 0, streamChunk+4096), last: time.Now()}
}

// Row is called after each record is appended to Buf: it writes the buffer
// out when it is full or old. It returns the first write error, after
// which the client is gone and the caller should stop (and so cancel its
// query).
func (s *Stream) Row() error {
	if s.err != nil {
		return s.err
	}
	if len(s.Buf) >= streamChunk || time.Since(s.last) >= streamInterval {
		return s.Flush()
	}
	return nil
}

// Flush writes and flushes what is buffered.
func (s *Stream) Flush() error {
	if s.err != nil {
		return s.err
	}
	// Not every ResponseWriter supports deadlines (httptest's does not);
	// without one, the server's own timeout applies.
	_ = s.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if len(s.Buf) > 0 {
		n, err := s.w.Write(s.Buf)
		s.written += int64(n)
		if err != nil {
			s.err = err
			return err
		}
		s.Buf = s.Buf[:0]
	}
	if err := s.rc.Flush(); err != nil {
		s.err = err
		return err
	}
	s.last = time.Now()
	return nil
}

// Written is the number of bytes handed to the connection so far: zero
// means the status line is not yet sent, so an error can still be a 4xx.
func (s *Stream) Written() int64 { return s.written }
