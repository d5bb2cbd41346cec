package engine

import (
	"context"
	"sync"
)

// totalCache remembers exact totals per collection and filter set, each
// under the data version it was counted at. A version change makes every
// entry stale at once, so a changing database never shows a stale total.
type totalCache struct {
	mu      sync.Mutex
	max     int
	entries map[totalKey]totalEntry
}

type totalKey struct {
	collection string
	fp         [8]byte
}

type totalEntry struct {
	version uint64
	count   int64
}

func newTotalCache(max int) *totalCache {
	return &totalCache{max: max, entries: map[totalKey]totalEntry{}}
}

func (e *Engine) total(ctx context.Context, r *resolved, mode TotalMode, admitted bool) (Total, error) {
	// The database's statistics are of every row, those a row rule hides
	// included: under a rule a principal is told only the exact count of
	// what it may see, and an estimate it asks for is that count.
	if mode == TotalEstimate && !r.ruled {
		done := e.observe(ctx, ReadEstimate, r.c)
		n, err := e.src.Estimate(ctx, r.c, r.filters)
		err = sourceError(ctx, err)
		done(0, err)
		if err != nil {
			return Total{}, err
		}
		return Total{Count: n, Estimate: true}, nil
	}
	// The version is read before counting: if the data changes during the
	// count, the entry is filed under the old version and never served again.
	v, err := e.src.Version(ctx)
	if err != nil {
		return Total{}, sourceError(ctx, err)
	}
	// Sort does not change a count; key on filters alone.
	k := totalKey{collection: r.c.Name, fp: fingerprint(r.c.Name, r.filters, nil, nil)}
	c := e.totals
	c.mu.Lock()
	ent, ok := c.entries[k]
	c.mu.Unlock()
	if ok && ent.version == v {
		return Total{Count: ent.count}, nil
	}
	if !admitted {
		// A count reads every row the filters select: costly.
		release, err := e.admit(ctx)
		if err != nil {
			return Total{}, sourceError(ctx, err)
		}
		defer release()
	}
	done := e.observe(ctx, ReadCount, r.c)
	n, err := e.src.Count(ctx, r.c, r.filters)
	err = sourceError(ctx, err)
	done(0, err)
	if err != nil {
		return Total{}, err
	}
	c.mu.Lock()
	if len(c.entries) >= c.max {
		clear(c.entries) // crude but bounded; totals are cheap to recount
	}
	c.entries[k] = totalEntry{version: v, count: n}
	c.mu.Unlock()
	return Total{Count: n}, nil
}
