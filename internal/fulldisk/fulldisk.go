// Package fulldisk gives tests a disk that fills up: a directory on a small
// tmpfs of its own (Mount), where writes fail with ENOSPC exactly as on a
// real full filesystem, or, where mounting is not possible, a simulated
// disk (Disk) whose writers fail the same way once it is full.
package fulldisk

import (
	"io"
	"sync"
	"syscall"
)

// Disk is a simulated disk with a number of bytes free, shared by every
// writer made by Writer. It is safe for concurrent use.
type Disk struct {
	mu   sync.Mutex
	free int64
}

// New returns a disk with free bytes free.
func New(free int64) *Disk { return &Disk{free: free} }

// Grow frees n more bytes, as an operator who makes room would.
func (d *Disk) Grow(n int64) {
	d.mu.Lock()
	d.free += n
	d.mu.Unlock()
}

// Writer returns a writer to w that takes its bytes from the disk: once the
// disk is full it fails with syscall.ENOSPC, writing the part of a write
// that still fits first, as write(2) on a full filesystem does.
func (d *Disk) Writer(w io.Writer) io.Writer { return &writer{d: d, w: w} }

type writer struct {
	d *Disk
	w io.Writer
}

func (w *writer) Write(p []byte) (int, error) {
	w.d.mu.Lock()
	defer w.d.mu.Unlock()
	fits := min(int64(len(p)), w.d.free)
	n, err := w.w.Write(p[:fits])
	w.d.free -= int64(n)
	if err != nil || n == len(p) {
		return n, err
	}
	return n, &writeError{err: syscall.ENOSPC}
}

// writeError is how os.File reports a failed write: the operation, then
// the errno, which errors.Is finds.
type writeError struct{ err error }

func (e *writeError) Error() string { return "write: " + e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }
