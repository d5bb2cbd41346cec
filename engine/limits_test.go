package engine_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"folio/engine"
	"folio/source/sqlite"
)

// limitedEngine serves a real SQLite file with a table of n rows and a
// view whose every read walks a hundred million generated rows (seconds of
// work), under limits l.
func limitedEngine(t *testing.T, n int, l engine.Limits) *engine.Engine {
	t.Helper()
	path := filepath.Join(t.TempDir(), "limits.sqlite")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, stmt := range []string{
		`CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT)`,
		`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ` + fmt.Sprint(n) + `) INSERT INTO t SELECT x, 'row ' || x FROM c`,
		`CREATE VIEW slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000000) SELECT x AS id FROM c`,
	} {
		if _, err := db.Exec(stmt); err != nil {
			t.Fatal(err)
		}
	}
	src, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	cols, err := src.Collections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	signer, err := engine.NewSigner([]byte("engine-test-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(src, signer, cols, engine.WithLimits(l))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func collection(t *testing.T, e *engine.Engine, name string) *engine.Collection {
	t.Helper()
	c, err := e.Collection(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// code returns the engine code of err, or "" when it has none.
func code(err error) engine.Code {
	if e, ok := engine.AsError(err); ok {
		return e.Code
	}
	return ""
}

// TestQueryTimeLimit: a page, a count and an export that run past the
// query time limit are cancelled in the database (the call returns soon
// after the limit, not when the statement would have ended) and answered
// with a timeout naming the limit; an export that is sending is not cut.
func TestQueryTimeLimit(t *testing.T) {
	const limit = 300 * time.Millisecond
	e := limitedEngine(t, 50000, engine.Limits{QueryTime: limit})
	slow := collection(t, e, "slow")
	ctx := context.Background()
	none := engine.Query{Filters: []engine.Filter{{Field: "id", Op: engine.OpLt, Values: []engine.Value{int64(0)}}}}
	calls := map[string]func() error{
		"page": func() error {
			_, err := e.Page(ctx, slow, none, engine.Window{At: engine.Offset(0)}, engine.TotalNone)
			return err
		},
		"exact total": func() error {
			_, err := e.Total(ctx, slow, engine.Query{}, engine.TotalExact)
			return err
		},
		"export before its first row": func() error {
			return e.Stream(ctx, slow, none, engine.Span{}, func([]*engine.Field, []int) error { return nil }, func(engine.Row) error { return nil })
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			err := call()
			took := time.Since(start)
			if code(err) != engine.CodeTimeout {
				t.Fatalf("error %v (code %q), want a timeout", err, code(err))
			}
			if took > limit+700*time.Millisecond {
				t.Errorf("took %v: the statement was not cancelled at the limit of %v", took, limit)
			}
			if e, _ := engine.AsError(err); !strings.Contains(e.Message, limit.String()) {
				t.Errorf("message %q does not name the limit", e.Message)
			}
		})
	}

	// An export that sends rows for longer than the limit is not cut.
	rows := 0
	start := time.Now()
	err := e.Stream(ctx, collection(t, e, "t"), engine.Query{}, engine.Span{}, func([]*engine.Field, []int) error { return nil }, func(engine.Row) error {
		rows++
		if rows%10000 == 0 {
			time.Sleep(limit / 4)
		}
		return nil
	})
	if err != nil || rows != 50000 {
		t.Fatalf("a sending export: %d rows, %v", rows, err)
	}
	if took := time.Since(start); took < limit {
		t.Fatalf("the export took %v, not past the limit of %v: the test proves nothing", took, limit)
	}
	// The same page in time is answered.
	if _, err := e.Page(ctx, collection(t, e, "t"), engine.Query{}, engine.Window{Limit: 10}, engine.TotalExact); err != nil {
		t.Fatal(err)
	}
}

// TestCostlyAdmission: with one costly slot held by an export that is
// sending, a costly request (an exact count, a deep offset, a heavy
// filter) waits its time limit and is told the server is busy, while a
// cheap page is answered at once; once the slot is free, costly work runs.
func TestCostlyAdmission(t *testing.T) {
	const limit = 400 * time.Millisecond
	e := limitedEngine(t, 5000, engine.Limits{QueryTime: limit, Costly: 1})
	c := collection(t, e, "t")
	ctx := context.Background()

	holding := make(chan struct{})
	free := make(chan struct{})
	exported := make(chan error, 1)
	go func() {
		first := true
		exported <- e.Stream(ctx, c, engine.Query{}, engine.Span{}, func([]*engine.Field, []int) error { return nil }, func(engine.Row) error {
			if first {
				first = false
				close(holding)
				<-free // a client that reads slowly
			}
			return nil
		})
	}()
	<-holding

	manyValues := make([]engine.Value, engine.HeavyValues)
	for i := range manyValues {
		manyValues[i] = int64(i)
	}
	costly := map[string]func() error{
		"exact total": func() error {
			_, err := e.Page(ctx, c, engine.Query{}, engine.Window{Limit: 5}, engine.TotalExact)
			return err
		},
		"deep offset": func() error {
			_, err := e.Page(ctx, c, engine.Query{}, engine.Window{Limit: 5, At: engine.Offset(engine.HeavyOffset)}, engine.TotalNone)
			return err
		},
		"heavy filter": func() error {
			_, err := e.Page(ctx, c, engine.Query{Filters: []engine.Filter{{Field: "id", Op: engine.OpIn, Values: manyValues}}}, engine.Window{Limit: 5}, engine.TotalNone)
			return err
		},
		"substring search": func() error {
			_, err := e.Page(ctx, c, engine.Query{Filters: []engine.Filter{{Field: "s", Op: engine.OpContains, Values: []engine.Value{"99"}}}}, engine.Window{Limit: 5}, engine.TotalNone)
			return err
		},
		"count alone": func() error {
			_, err := e.Total(ctx, c, engine.Query{Filters: []engine.Filter{{Field: "id", Op: engine.OpGt, Values: []engine.Value{int64(7)}}}}, engine.TotalExact)
			return err
		},
	}
	for name, call := range costly {
		start := time.Now()
		err := call()
		if code(err) != engine.CodeBusy {
			t.Errorf("%s while the slot is held: %v (code %q), want busy", name, err, code(err))
		}
		if took := time.Since(start); took < limit-50*time.Millisecond {
			t.Errorf("%s: busy after %v, before its time limit of %v", name, took, limit)
		}
	}
	start := time.Now()
	if _, err := e.Page(ctx, c, engine.Query{}, engine.Window{Limit: 5}, engine.TotalEstimate); err != nil {
		t.Errorf("a cheap page while the slot is held: %v", err)
	}
	if took := time.Since(start); took > limit/2 {
		t.Errorf("a cheap page waited %v", took)
	}

	close(free)
	if err := <-exported; err != nil {
		t.Fatal(err)
	}
	for name, call := range costly {
		if err := call(); err != nil {
			t.Errorf("%s with the slot free: %v", name, err)
		}
	}
	// A client that goes away while waiting is cancelled, not busy.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := e.Total(cctx, c, engine.Query{Filters: []engine.Filter{{Field: "id", Op: engine.OpGt, Values: []engine.Value{int64(9)}}}}, engine.TotalExact); err == nil || code(err) == engine.CodeBusy || !errors.Is(err, context.Canceled) {
		t.Errorf("a cancelled count: %v", err)
	}
}
