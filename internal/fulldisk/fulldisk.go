// Package fulldisk gives tests a disk that fills up: a directory on a small
// tmpfs of its own (Mount), where writes fail with ENOSPC exactly as on a
// real full filesystem, or, where mounting is not possible, a writer that
// fails the same way after a number of bytes (Writer).
package fulldisk

import (
	"io"
	"syscall"
)

// Writer writes to W until N bytes have been written, then fails with
// syscall.ENOSPC, writing the part of a write that still fits first, as
// write(2) on a full filesystem does.
type Writer struct {
	W io.Writer
	N int64
}

func (w *Writer) Write(p []byte) (int, error) {
	if int64(len(p)) <= w.N {
		n, err := w.W.Write(p)
		w.N -= int64(n)
		return n, err
	}
	n, err := w.W.Write(p[:w.N])
	w.N -= int64(n)
	if err != nil {
		return n, err
	}
	return n, &writeError{err: syscall.ENOSPC}
}

// writeError is how os.File reports a failed write: the operation, then
// the errno, which errors.Is finds.
type writeError struct{ err error }

func (e *writeError) Error() string { return "write: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }
