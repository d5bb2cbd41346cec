package engine_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"

	"folio/dataset"
	"folio/engine"
	"folio/source/sqlite"
)

// observed is one observation an Observer was told of.
type observed struct {
	read       engine.Read
	collection string
	rows       int64
	code       engine.Code // of the engine's error, "" for none
	ctxValue   any
}

type ctxKey struct{}

// TestObserver: every read the engine asks its source for reaches the
// observer once, with the request's context, the rows the caller got (not
// the row read ahead), and a failing database as an Unavailable error.
func TestObserver(t *testing.T) {
	tb, o := randomTable(50)
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "observe.sqlite")
	if err := sqlite.Load(ctx, path, []*dataset.Table{tb}, nil); err != nil {
		t.Fatal(err)
	}
	src, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cols, err := src.Collections(ctx)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := engine.NewSigner([]byte("engine-test-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []observed
	obs := func(ctx context.Context, read engine.Read, c *engine.Collection) func(int64, error) {
		return func(rows int64, err error) {
			var code engine.Code
			if ee, ok := engine.AsError(err); ok {
				code = ee.Code
			} else if err != nil {
				code = "other"
			}
			mu.Lock()
			got = append(got, observed{read, c.Name, rows, code, ctx.Value(ctxKey{})})
			mu.Unlock()
		}
	}
	e, err := engine.New(src, signer, cols, engine.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	c, _ := e.Collection("t")
	rctx := context.WithValue(ctx, ctxKey{}, "req-1")
	all := int64(len(o.Select(nil, nil)))
	tests := []struct {
		name string
		call func() error
		want []observed
	}{
		{"page with more", func() error {
			_, err := e.Page(rctx, c, engine.Query{}, engine.Window{Limit: 7}, engine.TotalNone)
			return err
		}, []observed{{engine.ReadPage, "t", 7, "", "req-1"}}},
		{"last page, exact total", func() error {
			_, err := e.Page(rctx, c, engine.Query{}, engine.Window{Limit: 7, At: engine.Offset(all - 3)}, engine.TotalExact)
			return err
		}, []observed{{engine.ReadPage, "t", 3, "", "req-1"}, {engine.ReadCount, "t", 0, "", "req-1"}}},
		{"estimate", func() error {
			_, err := e.Total(rctx, c, engine.Query{}, engine.TotalEstimate)
			return err
		}, []observed{{engine.ReadEstimate, "t", 0, "", "req-1"}}},
		{"stream", func() error {
			return e.Stream(rctx, c, engine.Query{}, engine.Span{}, func([]*engine.Field, []int) error { return nil }, func(engine.Row) error { return nil })
		}, []observed{{engine.ReadStream, "t", all, "", "req-1"}}},
		{"stream the caller stops", func() error {
			n := 0
			err := e.Stream(rctx, c, engine.Query{}, engine.Span{}, func([]*engine.Field, []int) error { return nil }, func(engine.Row) error {
				if n == 4 {
					return errors.New("client went away")
				}
				n++
				return nil
			})
			if err == nil {
				return errors.New("no error from a stopped stream")
			}
			return nil
		}, []observed{{engine.ReadStream, "t", 4, "other", "req-1"}}},
		{"a bad query reads nothing", func() error {
			_, err := e.Page(rctx, c, engine.Query{Filters: []engine.Filter{{Field: "nope", Op: engine.OpEq, Values: []engine.Value{"x"}}}}, engine.Window{}, engine.TotalExact)
			if err == nil {
				return errors.New("no error for an unknown field")
			}
			return nil
		}, nil},
		{"the database gone", func() error {
			src.Close()
			_, err := e.Page(rctx, c, engine.Query{}, engine.Window{Limit: 7}, engine.TotalNone)
			if ee, ok := engine.AsError(err); !ok || ee.Code != engine.CodeUnavailable {
				return errors.New("a closed database is not unavailable")
			}
			return nil
		}, []observed{{engine.ReadPage, "t", 0, engine.CodeUnavailable, "req-1"}}},
	}
	for _, tt := range tests {
		mu.Lock()
		got = nil
		mu.Unlock()
		if err := tt.call(); err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		mu.Lock()
		g := got
		mu.Unlock()
		if len(g) != len(tt.want) {
			t.Errorf("%s: observed %+v, want %+v", tt.name, g, tt.want)
			continue
		}
		for i := range g {
			if g[i] != tt.want[i] {
				t.Errorf("%s: observation %d is %+v, want %+v", tt.name, i, g[i], tt.want[i])
			}
		}
	}
}
