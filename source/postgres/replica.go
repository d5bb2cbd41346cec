package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// replica is one read replica's pool and when to try it again after it
// failed: a replica that is down would otherwise cost every read a failed
// attempt (a connect timeout, for a host that does not answer).
type replica struct {
	pool      *pgxpool.Pool
	downUntil atomic.Int64 // UnixNano
}

// replicaPause is how long a failed replica is skipped.
const replicaPause = time.Second

// errLagging sends a count to the primary: the replica has not replayed up
// to a version already handed out, so its count could be stale.
var errLagging = errors.New("replica lags behind the version")

// read runs f on the next replica in turn that is not marked down, or on
// the primary when there is none, and once more on the primary if that
// fails for a reason a retry may cure, unless sent reports that rows were
// already passed on. f is told whether it runs on a replica.
func (s *Source) read(ctx context.Context, f func(p *pgxpool.Pool, onReplica bool) error, sent func() bool) error {
	r := s.pick()
	var err error
	if r != nil {
		err = f(r.pool, true)
		if err != nil && !errors.Is(err, errLagging) && retryable(ctx, err) {
			r.downUntil.Store(time.Now().Add(replicaPause).UnixNano())
			if broken(err) {
				r.pool.Reset()
			}
		}
	} else {
		err = f(s.pool, false)
		if err != nil && retryable(ctx, err) && broken(err) {
			s.pool.Reset()
		}
	}
	if err == nil || !retryable(ctx, err) || (sent != nil && sent()) {
		return err
	}
	if err2 := f(s.pool, false); err2 != nil {
		if r != nil && !errors.Is(err, errLagging) {
			return fmt.Errorf("%w (a replica failed first: %v)", err2, err)
		}
		return err2
	}
	return nil
}

// pick returns the next replica that is not marked down, nil if none is up.
func (s *Source) pick() *replica {
	n := uint64(len(s.replicas))
	if n == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	start := s.turn.Add(1)
	for i := range n {
		r := s.replicas[(start+i)%n]
		if r.downUntil.Load() <= now {
			return r
		}
	}
	return nil
}

// retryable tells failures of a server or a connection, which another
// attempt (on a fresh connection, or on the primary) may not meet, from
// errors in the statement itself, in reading its result or in the
// caller's emit, and the caller giving up.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if errors.Is(err, errLagging) {
		return true
	}
	if errors.As(err, new(emitError)) {
		return false // the caller's, say a client that went away
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.SQLState()[:2] {
		case "08", // connection exception
			"40", // recovery conflicts on a standby (40001)
			"53", // insufficient resources: too many connections
			"57", // operator intervention: shutdown, cancelled by conflict
			"58": // system error
			return true
		}
		return false
	}
	return broken(err)
}

// broken tells a failure that says the server went away (a broken or
// refused connection, a shutdown): the pool's other idle connections to it
// are as dead, so the caller resets the pool rather than meet them one by
// one. Errors of pgx's own (a value it cannot scan) are not such failures.
func broken(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		code := pe.SQLState()
		return code[:2] == "08" || code == "57P01" || code == "57P02" || code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || pgconn.SafeToRetry(err)
}

// caughtUp reports whether the replica behind p has replayed at least up to
// every version handed out so far, so that a statement started after this
// check sees all the data those versions stand for.
func (s *Source) caughtUp(ctx context.Context, p *pgxpool.Pool) error {
	want := s.seen.Load()
	if want == 0 {
		return nil
	}
	var lsn string
	if err := p.QueryRow(ctx, `SELECT coalesce(pg_last_wal_replay_lsn(), '0/0')::text`).Scan(&lsn); err != nil {
		return err
	}
	got, err := parseLSN(lsn)
	if err != nil {
		return err
	}
	if got < s.wal.recordEnd(want) {
		return errLagging
	}
	return nil
}

// retry runs f, a statement on the primary, once more if it fails for a
// reason a retry may cure: a connection the server closed (a restart) fails
// once before the pool notices.
func (s *Source) retry(ctx context.Context, f func() error) error {
	err := f()
	if err != nil && retryable(ctx, err) {
		if broken(err) {
			s.pool.Reset()
		}
		return f()
	}
	return err
}

// walLayout is the primary's WAL page and segment size, which recordEnd
// needs.
type walLayout struct{ block, segment uint64 }

// The sizes of a WAL page's header on 64-bit servers: every page starts
// with a short one, a segment's first page with a long one.
const (
	shortPageHeader = 24
	longPageHeader  = 40
)

// recordEnd turns an insert position into the end of the last record
// written before it. When that record ends a page, the insert position has
// already skipped the next page's header, which a replica's replay position
// never includes: comparing the two as they are would find an idle replica
// lagging forever. No record ends right after a header (a record spilling
// onto a page leaves at least a byte there), so this is exact.
func (w walLayout) recordEnd(lsn uint64) uint64 {
	if w.block == 0 || w.segment == 0 {
		return lsn
	}
	if lsn%w.segment == longPageHeader {
		return lsn - longPageHeader
	}
	if lsn%w.block == shortPageHeader {
		return lsn - shortPageHeader
	}
	return lsn
}

// loadWALLayout reads the primary's WAL page and segment size.
func loadWALLayout(ctx context.Context, s *Source) error {
	return s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT current_setting('wal_block_size')::int8,
			(SELECT setting::int8 FROM pg_settings WHERE name = 'wal_segment_size')`).Scan(&s.wal.block, &s.wal.segment)
	})
}
