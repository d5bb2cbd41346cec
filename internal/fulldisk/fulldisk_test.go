package fulldisk

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDisk: what fits is written, then ENOSPC, for every writer of the
// disk, until it grows.
func TestDisk(t *testing.T) {
	var a, b bytes.Buffer
	d := New(5)
	wa, wb := d.Writer(&a), d.Writer(&b)
	if n, err := wa.Write([]byte("abc")); n != 3 || err != nil {
		t.Fatalf("first write: %d, %v", n, err)
	}
	n, err := wb.Write([]byte("defg"))
	if n != 2 || !errors.Is(err, syscall.ENOSPC) || a.String()+b.String() != "abcde" {
		t.Fatalf("second write: %d, %v, wrote %q and %q", n, err, a.String(), b.String())
	}
	if n, err := wa.Write([]byte("h")); n != 0 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on the full disk: %d, %v", n, err)
	}
	d.Grow(1)
	if n, err := wa.Write([]byte("h")); n != 1 || err != nil {
		t.Fatalf("write after the disk grew: %d, %v", n, err)
	}
}

// TestMount: where a tmpfs can be mounted, it fills up at its size.
func TestMount(t *testing.T) {
	dir, err := Mount(t, 64<<10)
	if err != nil {
		t.Logf("no tmpfs (%v): Writer stands in for it", err)
		return
	}
	err = os.WriteFile(filepath.Join(dir, "big"), make([]byte, 1<<20), 0o644)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("writing 1 MiB to a 64 KiB tmpfs: %v, want ENOSPC", err)
	}
	if err := Resize(dir, 2<<20); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "big"), make([]byte, 1<<20), 0o644); err != nil {
		t.Fatalf("writing 1 MiB to the tmpfs grown to 2 MiB: %v", err)
	}
}
