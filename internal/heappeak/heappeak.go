// Package heappeak samples the heap while a test or benchmark streams, for
// the bound that a response of any size is written in constant memory.
package heappeak

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

const heapObjects = "/memory/classes/heap/objects:bytes"

// Live collects garbage and returns the bytes of heap objects left.
func Live() uint64 {
	runtime.GC()
	return read()
}

func read() uint64 {
	s := []metrics.Sample{{Name: heapObjects}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// Watch samples the bytes of heap objects, garbage included, every
// interval without forcing collections, and keeps the peak.
type Watch struct {
	peak atomic.Uint64
	stop chan struct{}
	wg   sync.WaitGroup
}

// Start starts sampling every interval until Stop.
func Start(interval time.Duration) *Watch {
	w := &Watch{stop: make(chan struct{})}
	w.wg.Go(func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			if v := read(); v > w.peak.Load() {
				w.peak.Store(v)
			}
			select {
			case <-w.stop:
				return
			case <-tick.C:
			}
		}
	})
	return w
}

// Stop ends the sampling and returns the peak seen.
func (w *Watch) Stop() uint64 {
	close(w.stop)
	w.wg.Wait()
	return w.peak.Load()
}

// Peak returns the peak seen so far.
func (w *Watch) Peak() uint64 { return w.peak.Load() }
