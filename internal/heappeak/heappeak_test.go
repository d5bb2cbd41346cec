package heappeak

import (
	"testing"
	"time"
)

var sink []byte

func TestWatchSeesAnAllocation(t *testing.T) {
	base := Live()
	w := Start(time.Millisecond)
	sink = make([]byte, 64<<20)
	for i := range sink {
		sink[i] = 1
	}
	time.Sleep(20 * time.Millisecond)
	peak := w.Stop()
	sink = nil
	if peak < base+60<<20 {
		t.Errorf("peak %d, base %d: a 64 MiB allocation was not seen", peak, base)
	}
	if Live() >= base+60<<20 {
		t.Error("Live counts garbage")
	}
}
