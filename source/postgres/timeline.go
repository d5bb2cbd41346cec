package postgres

import (
	"fmt"
	"strconv"
	"sync"
)

// versions turns the database's WAL position and timeline into the
// source's version, which must never stand for two states of the data:
// the page cache and the totals cache serve what they hold while the
// version is unchanged.
//
// A position alone names one state only within one timeline. A failover
// promotes a standby at the position it had replayed and starts a new
// timeline there; when asynchronous replication had not yet sent the old
// primary's last writes, the new primary's positions run again through
// values the old one handed out, now for other data. So the version is the
// position plus an offset, and whenever the timeline changes the offset
// moves the version just past every version returned before (when it is
// not already past them, as after a failover that lost nothing). Versions
// thus never repeat and never go back, whichever server answers.
type versions struct {
	mu       sync.Mutex
	started  bool
	timeline uint32 // of the last position; 0 for a server in recovery
	offset   uint64
	top      uint64 // the highest version returned
}

// of returns the version of position pos on timeline tli, and whether
// the timeline differs from the one of the position before.
func (v *versions) of(tli uint32, pos uint64) (version uint64, newTimeline bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	newTimeline = v.started && tli != v.timeline
	if newTimeline && pos+v.offset <= v.top {
		v.offset = v.top + 1 - pos
	}
	v.started, v.timeline = true, tli
	version = pos + v.offset
	v.top = max(v.top, version)
	return version, newTimeline
}

// parseTimeline reads a timeline ID in hexadecimal, as the first eight
// digits of a WAL file's name give it; "" (a server in recovery, which
// cannot name its WAL files) is 0.
func parseTimeline(s string) (uint32, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, 16, 32)
	if err != nil {
		return 0, fmt.Errorf("bad timeline %q", s)
	}
	return uint32(n), nil
}
