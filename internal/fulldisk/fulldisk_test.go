package fulldisk

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestWriter: what fits is written, then ENOSPC.
func TestWriter(t *testing.T) {
	var b bytes.Buffer
	w := &Writer{W: &b, N: 5}
	if n, err := w.Write([]byte("abc")); n != 3 || err != nil {
		t.Fatalf("first write: %d, %v", n, err)
	}
	n, err := w.Write([]byte("defg"))
	if n != 2 || !errors.Is(err, syscall.ENOSPC) || b.String() != "abcde" {
		t.Fatalf("second write: %d, %v, wrote %q", n, err, b.String())
	}
	if n, err := w.Write([]byte("h")); n != 0 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("write on the full disk: %d, %v", n, err)
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
}
