package harvest

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"folio/client"
	"folio/internal/demotest"
	"folio/internal/fulldisk"
)

// fullDisk is a directory on a disk that fills up: a tmpfs of its own where
// one can be mounted (as root), else a temporary directory whose outputs
// are written through a simulated disk of the same size.
type fullDisk struct {
	dir     string
	through func(io.Writer) io.Writer // nil on the tmpfs
	grow    func()                    // makes room for everything
}

func newFullDisk(t *testing.T, size int64) fullDisk {
	t.Helper()
	dir, err := fulldisk.Mount(t, size)
	if err == nil {
		return fullDisk{dir: dir, grow: func() {
			if err := fulldisk.Resize(dir, 256<<20); err != nil {
				t.Fatal(err)
			}
		}}
	}
	t.Logf("no tmpfs (%v): the disk fills up in a simulated writer", err)
	d := fulldisk.New(size)
	return fullDisk{dir: t.TempDir(), through: d.Writer, grow: func() { d.Grow(1 << 40) }}
}

// writeFile writes b to a new file at path on the disk.
func (d fullDisk) writeFile(path string, b []byte) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	var w io.Writer = f
	if d.through != nil {
		w = d.through(f)
	}
	_, err = w.Write(b)
	return errors.Join(err, f.Close())
}

// wholeRecords fails the test unless the NDJSON file at path is empty or
// ends in whole records, and returns their number.
func wholeRecords(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Fatalf("%s ends in a torn record: %q", path, b[max(0, len(b)-80):])
	}
	return len(fileKeys(t, path, "entry_id"))
}

// noSpace fails the test unless err says the disk is full.
func noSpace(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left on device") {
		t.Fatalf("harvest onto a full disk: %v, want no space left on device", err)
	}
}

// TestFullDisk: a harvest onto a disk that fills up stops saying so, and
// its output holds whole records only, with or without a checkpoint; run
// again once there is room, the checkpointed harvest ends with every record
// exactly once.
func TestFullDisk(t *testing.T) {
	ts, e := demoServer(t)
	want := demotest.Keys(t, e, "entries", nil)
	for _, checkpoint := range []bool{true, false} {
		name := "checkpoint"
		if !checkpoint {
			name = "no checkpoint"
		}
		t.Run(name, func(t *testing.T) {
			disk := newFullDisk(t, 96<<10)
			o := Options{
				Client: client.New(client.Options{}), Request: client.Request{URL: ts.URL + "/v1/entries"}, Dialect: "native", PageSize: 100,
				Out: filepath.Join(disk.dir, "out.ndjson"), through: disk.through,
			}
			if checkpoint {
				o.Checkpoint = filepath.Join(disk.dir, "cp.json")
			}
			sum, err := Run(context.Background(), o)
			noSpace(t, err)
			n := wholeRecords(t, o.Out)
			if n == 0 || n >= len(want) {
				t.Fatalf("%d of %d records before the disk was full: the disk is too large or too small for the test", n, len(want))
			}
			if sum.New != int64(n) {
				t.Errorf("summary says %d records written, the output holds %d", sum.New, n)
			}
			if !checkpoint {
				return
			}
			disk.grow()
			if _, err := Run(context.Background(), o); err != nil {
				t.Fatal(err)
			}
			demotest.ExactlyOnce(t, fileKeys(t, o.Out, "entry_id"), want)
		})
	}
}

// TestFullDiskParallel: a parallel harvest whose disk fills up while its
// slices are written leaves whole records only in the output, and resumed
// once there is room it completes.
func TestFullDiskParallel(t *testing.T) {
	ts, e := demoServer(t)
	want := demotest.Keys(t, e, "entries", nil)
	disk := newFullDisk(t, 256<<10)
	o := Options{
		Client: client.New(client.Options{}), Request: client.Request{URL: ts.URL + "/v1/entries"}, Dialect: "native", PageSize: 100,
		Out: filepath.Join(disk.dir, "out.ndjson"), Checkpoint: filepath.Join(disk.dir, "cp.json"), through: disk.through,
	}
	_, err := RunParallel(context.Background(), o, 3)
	noSpace(t, err)
	if n := wholeRecords(t, o.Out); n >= len(want) {
		t.Fatalf("all %d records written to a full disk", n)
	}
	disk.grow()
	if _, err := RunParallel(context.Background(), o, 3); err != nil {
		t.Fatal(err)
	}
	demotest.ExactlyOnce(t, fileKeys(t, o.Out, "entry_id"), want)
}

// TestMergeFullDisk: a merge that fills the disk midway through a part cuts
// the output back to the end of the last whole part.
func TestMergeFullDisk(t *testing.T) {
	// Three parts of 12 KiB fit on 64 KiB; the merge, which copies them,
	// fills the disk in the third.
	disk := newFullDisk(t, 64<<10)
	out := filepath.Join(disk.dir, "out.ndjson")
	line := `{"entry_id":"` + strings.Repeat("x", 100) + "\"}\n"
	part := []byte(strings.Repeat(line, 12<<10/len(line)))
	for i := range 3 {
		if err := disk.writeFile(partName(out, i), part); err != nil {
			t.Fatal(err)
		}
	}
	err := merge(out, 3, nil, disk.through, func(int) (int, bool) { return 3, true }, nil)
	noSpace(t, err)
	if !strings.Contains(err.Error(), "merge") {
		t.Errorf("the disk filled up elsewhere than in the merge: %v", err)
	}
	n := wholeRecords(t, out)
	if per := len(part) / len(line); n%per != 0 || n == 0 || n >= 3*per {
		t.Errorf("the output holds %d records, want the %d of each whole part merged before the disk was full", n, per)
	}
}
