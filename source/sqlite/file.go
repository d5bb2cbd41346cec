package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"
)

// checkEvery is how often, at most, the source looks at the database file
// (a stat and an access call) before answering: a deleted, replaced or
// unreadable file shows within this time, and the look costs nothing
// beside a page.
const checkEvery = 250 * time.Millisecond

// drainTimeout bounds the wait for the connections to a replaced file to
// close before the new file is opened.
const drainTimeout = 30 * time.Second

// reopenTimeout bounds opening the file that replaced the one served.
const reopenTimeout = 30 * time.Second

// errReplaced is what a statement that was running on a replaced file
// reports: it was interrupted, since the data it read is no longer the
// database's.
var errReplaced = errors.New("the database file was replaced while the statement ran")

// current returns the pools to read the database with, or why the
// database cannot answer now. At most every checkEvery it first looks at
// the file at the source's path (check); the answer in between is the last
// one, so the look costs one stat per interval whatever the request rate.
func (s *Source) current() (*pools, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("sqlite %s: the source is closed", s.path)
	}
	if now := time.Now(); now.Sub(s.checked) >= checkEvery {
		s.checked = now
		s.check()
	}
	if s.down != nil {
		return nil, fmt.Errorf("sqlite %s: %w", s.path, s.down)
	}
	return s.pools, nil
}

// check looks at the file at the source's path, s.mu held. Open
// connections keep reading a deleted or replaced file as it was, so the
// path, not the connections, says whether the database is there:
//
//   - no file, or one the process may not read (not even a directory on
//     the way): the database is unavailable until it is back;
//   - another file (renamed over it, as an operator publishes a new
//     version of a dataset): the source closes the old file's connections,
//     interrupting their statements, and opens the new one in the
//     background (reopen), unavailable meanwhile.
func (s *Source) check() {
	if s.reopening {
		return // reopen decides
	}
	fi, err := os.Stat(s.path)
	if err != nil {
		s.setDown(fmt.Errorf("the database file is gone: %w", err))
		return
	}
	if s.pools == nil || !os.SameFile(fi, s.pools.file) {
		s.reopening = true
		old := s.pools
		s.pools = nil
		s.setDown(errors.New("the database file was replaced; opening the new one"))
		s.bg.Go(func() { s.reopen(old, fi) })
		return
	}
	if err := readable(s.path); err != nil {
		s.setDown(fmt.Errorf("the database file cannot be read: %w", err))
		return
	}
	s.setDown(nil)
}

// setDown records why the database cannot answer (nil: it can), s.mu held,
// and logs each change once.
func (s *Source) setDown(err error) {
	switch {
	case err == nil && s.down != nil:
		s.log.Info("sqlite: the database answers again", "path", s.path)
	case err != nil && (s.down == nil || s.down.Error() != err.Error()):
		s.log.Warn("sqlite: the database cannot answer", "path", s.path, "err", err)
	}
	s.down = err
}

// reopen replaces the pools of a file that was replaced (old, nil when
// none is open) with pools on the file now at the path, fi. The new file
// is served only when its tables and views are those of the file the
// collections were discovered from; otherwise the source stays
// unavailable, saying so, until it is restarted or the file is replaced
// again.
func (s *Source) reopen(old *pools, fi os.FileInfo) {
	err := s.drain(old)
	var p *pools
	var sum [sha256.Size]byte
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), reopenTimeout)
		defer cancel()
		p, err = s.openPools(ctx, fi)
		if err == nil {
			if sum, err = schemaSum(ctx, p.db); err != nil {
				p.close()
				p = nil
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reopening = false
	if s.closed {
		if p != nil {
			p.close()
		}
		return
	}
	if err != nil {
		s.setDown(fmt.Errorf("the database file was replaced and the new one is not served: %w", err))
		return
	}
	s.pools = p
	s.generation++
	if sum != s.schema {
		// The collections were discovered from the old tables: whoever
		// serves them learns of the change from SchemaVersion and
		// discovers them again; until then a statement on a table or
		// column that is gone is unavailable, not wrong.
		s.schema = sum
		s.log.Info("sqlite: the file that replaced the database file has other tables or views", "path", s.path)
	}
	// The new file may store times in other layouts: sample them again.
	s.layoutMu.Lock()
	s.layouts = map[columnRef]timeLayout{}
	s.layoutMu.Unlock()
	s.log.Info("sqlite: serving the file that replaced the database file", "path", s.path)
	s.setDown(nil)
}

// drain closes the pools of a replaced file and waits until their last
// connection is closed: SQLite finds a database's -wal and -shm files by
// name, so a connection to the new file opened while one to the old file
// is open could take the old file's for its own.
func (s *Source) drain(old *pools) error {
	if old == nil {
		return nil
	}
	old.close()
	s.verMu.Lock()
	if s.verPools == old && s.verConn != nil {
		s.verConn.Close()
		s.verConn = nil
	}
	s.verMu.Unlock()
	for deadline := time.Now().Add(drainTimeout); !old.idle(); {
		if time.Now().After(deadline) {
			return fmt.Errorf("connections to the replaced file are still open after %s", drainTimeout)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return nil
}

// hold is one statement's use of the read pool: db to run it on, and ctx
// to run it under, which also ends when the file is replaced.
type hold struct {
	db     *sql.DB
	ctx    context.Context
	cancel context.CancelCauseFunc
	stop   func() bool
}

// acquire returns the read pool for one statement (see current), or why
// the database cannot answer. The statement runs under h.ctx and reports
// its outcome through h.release.
func (s *Source) acquire(ctx context.Context) (*hold, error) {
	p, err := s.current()
	if err != nil {
		return nil, err
	}
	hctx, cancel := context.WithCancelCause(ctx)
	stop := context.AfterFunc(p.life, func() { cancel(errReplaced) })
	return &hold{db: p.db, ctx: hctx, cancel: cancel, stop: stop}, nil
}

// release ends the hold and returns the statement's outcome err, or
// errReplaced when the statement failed because its file was replaced:
// the database's failure, not a cancellation by the caller.
func (h *hold) release(err error) error {
	h.stop()
	replaced := context.Cause(h.ctx) == errReplaced
	h.cancel(nil)
	if err != nil && replaced {
		return errReplaced
	}
	return err
}

// queryRow runs a statement of one row on the read pool (see acquire) and
// scans it into dest.
func (s *Source) queryRow(ctx context.Context, dest []any, query string, args ...any) error {
	h, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	return h.release(h.db.QueryRowContext(h.ctx, query, args...).Scan(dest...))
}
