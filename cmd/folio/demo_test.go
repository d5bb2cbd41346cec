package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestStaleDemos: demo databases of other format versions, with their
// companion files, are listed for removal; the current one and files that
// are not demo databases are not.
func TestStaleDemos(t *testing.T) {
	t.Setenv("XDG_DATA_HOME", t.TempDir())
	path, err := demoPath()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cur := filepath.Base(path)
	files := []string{cur, cur + ".folio-secret", cur + "-wal",
		"demo.sqlite", "demo.sqlite.folio-secret", "demo-v1.sqlite", "demo-v1.sqlite-shm", "mine.sqlite", "demography.db"}
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, p := range staleDemos(path) {
		got = append(got, filepath.Base(p))
	}
	slices.Sort(got)
	want := []string{"demo-v1.sqlite", "demo-v1.sqlite-shm", "demo.sqlite", "demo.sqlite.folio-secret"}
	if !slices.Equal(got, want) {
		t.Errorf("stale demos %v, want %v", got, want)
	}
}
