package wire

import "sync"

// Buffers pools the byte slices that dialects render whole pages into, so
// that a page costs no large allocation. The zero value is ready to use.
type Buffers struct {
	pool sync.Pool // of *[]byte
}

// Get returns an empty buffer.
func (p *Buffers) Get() *[]byte {
	if bp, ok := p.pool.Get().(*[]byte); ok {
		*bp = (*bp)[:0]
		return bp
	}
	b := make([]byte, 0, 64<<10)
	return &b
}

// Put returns a buffer to the pool. A page of thousands of rows may grow a
// buffer to megabytes; keeping such buffers would pin that memory for the
// life of the process, so they are dropped.
func (p *Buffers) Put(bp *[]byte) {
	if cap(*bp) <= 1<<20 {
		p.pool.Put(bp)
	}
}
