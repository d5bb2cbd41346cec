// Package demodb gives tests the demo database and engines over it: built
// once per test binary and shared by all of its tests (Shared), with the
// mounts read from config/demo.yaml itself (Mount), so that a change there
// is what the tests exercise. It imports no dialect and no server, so that
// the tests of those packages can use it; package demotest serves it over
// HTTP for everyone else.
package demodb

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"folio/config"
	"folio/dataset"
	"folio/demo"
	"folio/engine"
	"folio/source/conformance"
	"folio/source/sqlite"
)

// Rows is the number of entries of the demo database the tests share; the
// other tables scale with it (see demo.Tables). The dialects' golden files
// are answers over exactly this database.
const Rows = 20000

// secret signs the cursors of every engine demodb builds, so that engines
// over the same data accept each other's cursors.
const secret = "demotest-secret-0123456789abcdef"

// shared holds the demo databases this test binary has built, by size.
// Production code keeps no package-level state; a test helper does here so
// that all the tests of a binary share one build, and only Main, which
// outlives every test, may take it down.
var shared struct {
	mu      sync.Mutex
	main    bool // Main is running the tests
	dir     string
	builds  map[int]*build
	closers []func()
}

// build is one shared demo database, made by the first test that asks.
type build struct {
	once sync.Once
	demo *Demo
	err  error
}

// Main runs the tests of a package that uses Shared, then takes down and
// removes the demo databases they built. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(demodb.Main(m)) }
func Main(m *testing.M) int {
	shared.mu.Lock()
	shared.main = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	closers, dir := shared.closers, shared.dir
	shared.main, shared.dir, shared.builds, shared.closers = false, "", nil, nil
	shared.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
	return code
}

// Demo is a demo database and the engine `folio serve` runs over it.
type Demo struct {
	// Path is the SQLite file. Tests only read it; Copy gives one to
	// write to or to close.
	Path string
	// Engine serves Path with config/demo.yaml applied: the oracle that
	// answers over HTTP are held against.
	Engine *engine.Engine

	rows    int
	onClose func(func()) // registers what to do when the database goes
	mu      sync.Mutex
	oracles map[string]*conformance.Oracle
}

// Shared returns the demo database of rows entries. Under Main the first
// test of the binary that asks builds it and every later one shares it and
// its engine; without Main (a package whose TestMain does not call it) each
// call builds its own, removed when the test ends.
func Shared(t testing.TB, rows int) *Demo {
	t.Helper()
	shared.mu.Lock()
	if !shared.main {
		shared.mu.Unlock()
		d, closeDemo, err := newDemo(t.TempDir(), rows)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(closeDemo)
		d.onClose = t.Cleanup
		return d
	}
	if shared.builds == nil {
		shared.builds = map[int]*build{}
	}
	b := shared.builds[rows]
	if b == nil {
		b = &build{}
		shared.builds[rows] = b
	}
	shared.mu.Unlock()
	b.once.Do(func() {
		dir, err := sharedDir()
		if err != nil {
			b.err = err
			return
		}
		var closeDemo func()
		if b.demo, closeDemo, b.err = newDemo(dir, rows); b.err == nil {
			b.demo.onClose = atMainEnd
			atMainEnd(closeDemo)
		}
	})
	if b.err != nil {
		t.Fatalf("demo database of %d entries: %v", rows, b.err)
	}
	return b.demo
}

// atMainEnd registers f to run when Main's tests have finished.
func atMainEnd(f func()) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.closers = append(shared.closers, f)
}

// sharedDir returns the directory Main removes, making it the first time.
func sharedDir() (string, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.dir == "" {
		dir, err := os.MkdirTemp("", "folio-demodb-")
		if err != nil {
			return "", err
		}
		shared.dir = dir
	}
	return shared.dir, nil
}

// newDemo builds the demo database of rows entries in dir and opens an
// engine over it; the function it returns closes the source.
func newDemo(dir string, rows int) (*Demo, func(), error) {
	ctx := context.Background()
	path := filepath.Join(dir, "demo-"+strconv.Itoa(rows)+".sqlite")
	if err := sqlite.Load(ctx, path, demo.Tables(rows, demo.DefaultSeed), nil); err != nil {
		return nil, nil, err
	}
	src, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return nil, nil, err
	}
	e, err := newEngine(src, config.Demo())
	if err != nil {
		src.Close()
		return nil, nil, err
	}
	return &Demo{Path: path, Engine: e, rows: rows}, func() { src.Close() }, nil
}

// Cleanup registers f to run when the demo database is taken down: after
// Main's tests for a shared one, at the end of the test that built it
// otherwise. Helpers that build on a Demo (a server over it) use it.
func (d *Demo) Cleanup(f func()) { d.onClose(f) }

// Copy returns a copy of the demo database in the test's temporary
// directory, for a test that writes to it or closes it under an engine.
func (d *Demo) Copy(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile(d.Path)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), filepath.Base(d.Path))
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// table returns the demo table called name as demo.Tables generates it for
// this database: its rows are the database's rows.
func (d *Demo) table(t testing.TB, name string) *dataset.Table {
	t.Helper()
	for _, tb := range demo.Tables(d.rows, demo.DefaultSeed) {
		if tb.Name == name {
			return tb
		}
	}
	t.Fatalf("the demo database has no table %q", name)
	return nil
}

// Oracle returns the brute-force oracle of the demo table called name,
// built the first time a test asks and shared after.
func (d *Demo) Oracle(t testing.TB, name string) *conformance.Oracle {
	t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	if o := d.oracles[name]; o != nil {
		return o
	}
	o := conformance.NewOracle(d.table(t, name))
	if d.oracles == nil {
		d.oracles = map[string]*conformance.Oracle{}
	}
	d.oracles[name] = o
	return o
}

// Mount returns the mount of config/demo.yaml at path, failing the test
// unless exactly one mount is there. Each call returns a fresh copy, to
// change at will.
func Mount(t testing.TB, path string) config.Mount {
	t.Helper()
	var found []config.Mount
	for _, m := range config.Demo().MountList() {
		if m.Path == path {
			found = append(found, m)
		}
	}
	if len(found) != 1 {
		t.Fatalf("config/demo.yaml has %d mounts at %s, want 1", len(found), path)
	}
	return found[0]
}

// A Dialect builds a dialect's handler for one mount: the New of package
// copernica, gocdb, jsonapi or nomad.
type Dialect func(*engine.Engine, config.Mount, *slog.Logger) (http.Handler, error)

// Handler returns dialect's handler for mount m over e, its log discarded;
// a mount the dialect rejects fails the test.
func Handler(t testing.TB, dialect Dialect, e *engine.Engine, m config.Mount) http.Handler {
	t.Helper()
	h, err := dialect(e, m, Quiet())
	if err != nil {
		t.Fatalf("mount %s (%s): %v", m.Path, m.Dialect, err)
	}
	return h
}

// Open serves the SQLite database at path with cfg applied (nil: the
// collections as the source finds them) and returns the engine; the source
// is closed when the test ends.
func Open(t testing.TB, path string, cfg *config.Config) *engine.Engine {
	t.Helper()
	src, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	return NewEngine(t, src, cfg)
}

// NewEngine builds the engine `folio serve` builds over src: cfg applied to
// the collections src finds (nil: as found), cursors signed with one secret.
func NewEngine(t testing.TB, src engine.Source, cfg *config.Config) *engine.Engine {
	t.Helper()
	return NewEngineWith(t, src, cfg)
}

// NewEngineWith is NewEngine with the engine's options.
func NewEngineWith(t testing.TB, src engine.Source, cfg *config.Config, opts ...engine.Option) *engine.Engine {
	t.Helper()
	e, err := newEngine(src, cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newEngine(src engine.Source, cfg *config.Config, opts ...engine.Option) (*engine.Engine, error) {
	found, err := src.Collections(context.Background())
	if err != nil {
		return nil, err
	}
	cols, err := config.Apply(found, cfg)
	if err != nil {
		return nil, err
	}
	signer, err := engine.NewSigner([]byte(secret))
	if err != nil {
		return nil, err
	}
	return engine.New(src, signer, cols, opts...)
}

// Quiet returns a logger that discards everything, for handlers whose log
// a test does not read.
func Quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
