package demodb

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"folio/config"
	"folio/engine"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// rows keeps this package's demo database small.
const rows = 100

func TestSharedOnce(t *testing.T) {
	d := Shared(t, rows)
	if again := Shared(t, rows); again != d {
		t.Error("a second Shared built another database")
	}
	t.Run("sub", func(t *testing.T) {
		if Shared(t, rows) != d {
			t.Error("a subtest got another database")
		}
	})
	if other := Shared(t, rows+1); other == d || other.Path == d.Path {
		t.Error("two sizes share a database")
	}
	if d.Oracle(t, "downtimes") != d.Oracle(t, "downtimes") {
		t.Error("the oracle is built twice")
	}
	c, err := d.Engine.Collection("downtimes")
	if err != nil {
		t.Fatal(err)
	}
	p, err := d.Engine.Page(context.Background(), c, engine.Query{}, engine.Window{Limit: 1}, engine.TotalExact)
	if err != nil {
		t.Fatal(err)
	}
	if got := int64(len(d.Oracle(t, "downtimes").Rows)); p.Total == nil || got != p.Total.Count || got < 100 {
		t.Errorf("the oracle holds %d downtimes, the database %+v", got, p.Total)
	}
}

func TestCopy(t *testing.T) {
	d := Shared(t, rows)
	path := d.Copy(t)
	if path == d.Path || !strings.HasPrefix(path, os.TempDir()) {
		t.Fatalf("copy at %s", path)
	}
	e := Open(t, path, config.Demo())
	c, err := e.Collection("profiles")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.DefaultSort) != 2 || c.DefaultSort[0].Field != "database_id" || c.MaxOffset != 1_000_000 {
		t.Errorf("config/demo.yaml is not applied to the copy: sort %v, max_offset %d", c.DefaultSort, c.MaxOffset)
	}
}

func TestMount(t *testing.T) {
	for _, m := range config.Demo().MountList() {
		got := Mount(t, m.Path)
		if !reflect.DeepEqual(got, m) {
			t.Errorf("Mount(%s) = %+v, want %+v", m.Path, got, m)
		}
	}
	a, b := Mount(t, "/dois"), Mount(t, "/dois")
	a.Options["sort"] = "changed"
	if b.Options["sort"] == "changed" || Mount(t, "/dois").Options["sort"] == "changed" {
		t.Error("the mounts Mount returns share their options")
	}
	r := &recorder{TB: t}
	func() {
		defer func() {
			if p := recover(); p != nil && p != r {
				panic(p)
			}
		}()
		Mount(r, "/nowhere")
	}()
	if !strings.Contains(r.msg, "0 mounts at /nowhere") {
		t.Errorf("a path with no mount: %q", r.msg)
	}
}

// recorder is a testing.TB that keeps a fatal message instead of failing
// the test that runs it.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}

func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	panic(r) // stands for runtime.Goexit: Fatalf does not return
}
