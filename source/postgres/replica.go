package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"folio/engine"
)

// Defaults for the zero values of Options.
const (
	DefaultReplicaTimeout = 2 * time.Second
	DefaultPollInterval   = 100 * time.Millisecond
)

// A replica out of rotation is probed first after firstProbe, then after
// twice as long each time it still fails, up to maxProbe: one that is down
// for long costs a query every half minute, and is back within that once
// it answers.
const (
	firstProbe = time.Second
	maxProbe   = 30 * time.Second
)

// pollTimeout bounds a poll of the primary's position: a primary that does
// not answer within it counts as down.
const pollTimeout = 2 * time.Second

// errReplicaTimeout is the cause of a replica read cancelled because the
// replica had not started answering within the replica timeout.
var errReplicaTimeout = errors.New("the replica did not answer in time")

// errLagging sends a count to the primary: the replica has not replayed up
// to a version already handed out, so its count could be stale.
var errLagging = errors.New("replica lags behind the version")

// serverState is one database's health as the background watch and the reads
// find it, logged once per change.
type serverState struct {
	role, name string
	up         atomic.Bool
	outs       atomic.Int64 // times taken out of rotation (replicas)
	fallbacks  atomic.Int64 // reads that went to the primary after it failed (replicas)

	mu    sync.Mutex
	err   error
	since time.Time
}

// set records whether the server answers and logs a change; it reports
// whether the state changed.
func (sv *serverState) set(log *slog.Logger, up bool, err error) bool {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	sv.err = err
	if sv.up.Load() == up {
		return false
	}
	sv.up.Store(up)
	sv.since = time.Now()
	switch {
	case up && sv.role == "replica":
		log.Info("postgres replica back in rotation", "replica", sv.name)
	case up:
		log.Info("postgres primary answers again", "primary", sv.name)
	case sv.role == "replica":
		sv.outs.Add(1)
		log.Warn("postgres replica out of rotation: reads go to the primary until a probe finds it answering",
			"replica", sv.name, "err", err)
	default:
		log.Warn("postgres primary does not answer", "primary", sv.name, "err", err)
	}
	return true
}

func (sv *serverState) health() engine.Database {
	sv.mu.Lock()
	defer sv.mu.Unlock()
	d := engine.Database{Role: sv.role, Name: sv.name, Up: sv.up.Load(), Since: sv.since,
		Outs: sv.outs.Load(), Fallbacks: sv.fallbacks.Load()}
	if !d.Up {
		d.Err = sv.err
	}
	return d
}

// replica is one read replica: its pool, its health, and its replay
// position as last polled.
type replica struct {
	serverState
	pool *pgxpool.Pool
	// pos is the replay position the last poll read: the data a statement
	// started later sees holds at least everything up to it.
	pos  atomic.Uint64
	wake chan struct{} // a read took the replica out: the watch starts probing
}

// takeOut takes r out of rotation after err, unless it is out already.
func (s *Source) takeOut(r *replica, err error) {
	if r.set(s.log, false, err) {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// attempt is one try of a read on one server.
type attempt struct {
	ctx     context.Context
	pool    *pgxpool.Pool
	replica bool
	// behind says that the replica may not hold everything the versions
	// handed out so far stand for.
	behind bool
	// answered tells that the server has started answering: the rest of
	// the statement may take as long as it takes.
	answered func()
}

// read runs f on the next replica in rotation, or on the primary when
// there is none, and once more on the primary if that fails for a reason
// a retry may cure, unless sent reports that rows were already passed on.
// A replica that fails so, or has not started answering within the
// replica timeout, is taken out of rotation until the watch finds it
// answering again; the client pays the timeout once, not on every read.
func (s *Source) read(ctx context.Context, f func(a attempt) error, sent func() bool) error {
	r := s.pick()
	var err error
	if r != nil {
		err = s.onReplica(ctx, r, f)
		if err != nil && !errors.Is(err, errLagging) && retryable(ctx, err) {
			s.takeOut(r, err)
			if broken(err) {
				r.pool.Reset()
			}
		}
	} else {
		err = f(attempt{ctx: ctx, pool: s.pool, answered: func() {}})
		if err != nil && retryable(ctx, err) && broken(err) {
			s.pool.Reset()
		}
	}
	if err == nil || !retryable(ctx, err) || (sent != nil && sent()) {
		return err
	}
	lagging := errors.Is(err, errLagging)
	if r != nil && !lagging {
		r.fallbacks.Add(1)
	}
	if err2 := f(attempt{ctx: ctx, pool: s.pool, answered: func() {}}); err2 != nil {
		if r != nil && !lagging {
			return fmt.Errorf("%w (a replica failed first: %v)", err2, err)
		}
		return err2
	}
	return nil
}

// onReplica runs f on r, cancelled if r has not started answering within
// the replica timeout. A replica that accepts connections and never
// answers would otherwise hold the read until the client gives up.
func (s *Source) onReplica(ctx context.Context, r *replica, f func(a attempt) error) error {
	behind := r.pos.Load() < s.wal.recordEnd(s.seen.Load())
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	t := time.AfterFunc(s.replicaTimeout, func() { cancel(errReplicaTimeout) })
	defer t.Stop()
	err := f(attempt{ctx: rctx, pool: r.pool, replica: true, behind: behind, answered: func() { t.Stop() }})
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(rctx), errReplicaTimeout) {
		return fmt.Errorf("replica %s: no answer within %s: %w", r.name, s.replicaTimeout, errReplicaTimeout)
	}
	return err
}

// pick returns the next replica in rotation, nil if none is.
func (s *Source) pick() *replica {
	n := uint64(len(s.replicas))
	if n == 0 {
		return nil
	}
	start := s.turn.Add(1)
	for i := range n {
		r := s.replicas[(start+i)%n]
		if r.up.Load() {
			return r
		}
	}
	return nil
}

// retryable tells failures of a server or a connection, which another
// attempt (on a fresh connection, or on the primary) may not meet, from
// errors in the statement itself, in reading its result or in the
// caller's emit, and the caller giving up. Only ctx says that the caller
// gave up: a deadline of the driver's own (connect_timeout) or a replica
// timeout is the server not answering, which the primary may cure.
func retryable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	if errors.Is(err, errLagging) || errors.Is(err, errReplicaTimeout) {
		return true
	}
	if errors.As(err, new(emitError)) {
		return false // the caller's, say a client that went away
	}
	if errors.As(err, new(*pgconn.ConnectError)) {
		// No connection, whatever the server said (a replica that
		// refuses the role, or lacks the database): another server may
		// have one.
		return true
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
	return broken(err) || errors.Is(err, context.DeadlineExceeded)
}

// broken tells a failure that says the server went away or stopped
// answering (a broken, refused or timed-out connection, a shutdown): the
// pool's other idle connections to it are as dead, so the caller resets
// the pool rather than meet them one by one. Errors of pgx's own (a value
// it cannot scan) are not such failures.
func broken(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		code := pe.SQLState()
		return code[:2] == "08" || code == "57P01" || code == "57P02" || code == "57P03"
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, errReplicaTimeout) ||
		pgconn.SafeToRetry(err)
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

// positionSQL reads a server's WAL position: the insert position on a
// primary, the replay position on a standby.
const positionSQL = `SELECT coalesce(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()
	ELSE pg_current_wal_insert_lsn() END, '0/0')::text`

// position reads the WAL position of the server behind p.
func position(ctx context.Context, p *pgxpool.Pool) (uint64, error) {
	var lsn string
	if err := p.QueryRow(ctx, positionSQL).Scan(&lsn); err != nil {
		return 0, err
	}
	return parseLSN(lsn)
}

// versionSQL reads the primary's WAL insert position and its timeline (the
// first eight digits of its WAL file's name); a server in recovery (used
// as the primary) gives its replay position and no timeline.
const versionSQL = `SELECT CASE WHEN r THEN coalesce(pg_last_wal_replay_lsn(), '0/0')::text
		ELSE pg_current_wal_insert_lsn()::text END,
	CASE WHEN r THEN '' ELSE substr(pg_walfile_name(pg_current_wal_insert_lsn()), 1, 8) END
	FROM pg_is_in_recovery() r`

// primaryVersion reads the primary's position and timeline and returns the
// version they stand for (versions).
func (s *Source) primaryVersion(ctx context.Context) (uint64, error) {
	var lsn, tli string
	if err := s.pool.QueryRow(ctx, versionSQL).Scan(&lsn, &tli); err != nil {
		return 0, err
	}
	pos, err := parseLSN(lsn)
	if err != nil {
		return 0, err
	}
	timeline, err := parseTimeline(tli)
	if err != nil {
		return 0, err
	}
	// After a failover the versions run ahead of the new timeline's
	// positions, and replicas, compared with the highest version, count
	// as behind: counts go to the primary and their pages are not cached.
	// That is slower, never stale.
	v, _ := s.versions.of(timeline, pos)
	return v, nil
}

// watchReplica polls r's replay position every poll interval while it is
// in rotation, and probes it with backoff while it is out, putting it back
// once it answers: no client request pays for finding out.
func (s *Source) watchReplica(ctx context.Context, r *replica) {
	backoff := firstProbe
	s.every(ctx, r.wake, func(woken bool) time.Duration {
		if woken { // a read took it out: probe after the first pause
			backoff = firstProbe
			return backoff
		}
		pctx, cancel := context.WithTimeout(ctx, s.replicaTimeout)
		pos, err := position(pctx, r.pool)
		cancel()
		if ctx.Err() != nil {
			return 0
		}
		if err != nil {
			if broken(err) || errors.Is(err, context.DeadlineExceeded) {
				r.pool.Reset()
			}
			if !r.set(s.log, false, err) {
				backoff = min(2*backoff, maxProbe)
			}
			return backoff
		}
		storeMax(&r.pos, pos)
		r.set(s.log, true, nil)
		backoff = firstProbe
		return s.poll
	})
}

// watchPrimary polls the primary's WAL position every poll interval, so
// that Version answers without a round trip.
func (s *Source) watchPrimary(ctx context.Context) {
	s.every(ctx, nil, func(bool) time.Duration {
		s.pollPrimary(ctx)
		return s.poll
	})
}

// every calls step after the poll interval, then after each wait step
// returns, or at once (woken) when wake receives, until ctx ends; it is
// one goroutine of the background watch.
func (s *Source) every(ctx context.Context, wake <-chan struct{}, step func(woken bool) time.Duration) {
	defer s.bg.Done()
	t := time.NewTimer(s.poll)
	defer t.Stop()
	for {
		woken := false
		select {
		case <-ctx.Done():
			return
		case <-wake:
			woken = true
		case <-t.C:
		}
		next := step(woken)
		if ctx.Err() != nil {
			return
		}
		t.Reset(next)
	}
}

// polled is one poll of the primary: the position it read, or why it
// could not, and when it started.
type polled struct {
	v   uint64
	err error
	at  time.Time
}

// pollPrimary reads the primary's position and records it, with the
// primary's health.
func (s *Source) pollPrimary(ctx context.Context) {
	at := time.Now()
	pctx, cancel := context.WithTimeout(ctx, pollTimeout)
	defer cancel()
	var v uint64
	err := s.retry(pctx, func() error {
		var err error
		v, err = s.primaryVersion(pctx)
		return err
	})
	if ctx.Err() != nil {
		return
	}
	if err != nil && broken(err) {
		s.pool.Reset()
	}
	s.polled.Store(&polled{v: v, err: err, at: at})
	s.primary.set(s.log, err == nil, err)
}

// storeMax raises a to v unless it is higher already.
func storeMax(a *atomic.Uint64, v uint64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// Health reports the primary and every replica as the background watch
// last found them, without a round trip.
func (s *Source) Health(context.Context) []engine.Database {
	out := []engine.Database{s.primary.health()}
	for _, r := range s.replicas {
		out = append(out, r.health())
	}
	return out
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
