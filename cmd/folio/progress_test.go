package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

// TestMeter: on a terminal the meter draws a bar that redraws itself in
// place; elsewhere it writes whole lines, never a carriage return.
func TestMeter(t *testing.T) {
	for _, tty := range []bool{true, false} {
		var b bytes.Buffer
		m := newMeter(&b, tty, "demo: entries", "rows")
		m.every = 0
		for n := int64(0); n <= 1000; n += 250 {
			m.set(n, 1000)
		}
		m.finish(true, 1000)
		out := b.String()
		if tty != strings.Contains(out, "\r") {
			t.Errorf("tty %v: carriage returns %v in %q", tty, !tty, out)
		}
		if !tty && !strings.Contains(out, "demo: entries: 1000 rows of 1000 (100%)") {
			t.Errorf("no complete line in %q", out)
		}
		if tty && !strings.Contains(out, "100%") {
			t.Errorf("no full bar in %q", out)
		}
	}
}

// TestDemoProgressOnStderr: `folio demo` with its output redirected
// writes nothing to standard output and plain progress lines to standard
// error: a line as each table is done, no carriage returns.
func TestDemoProgressOnStderr(t *testing.T) {
	db := filepath.Join(t.TempDir(), "demo.sqlite")
	code, stdout, stderr := runFolio(t, nil, "demo", "--db", db, "--rows", "500")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if stdout != "" {
		t.Errorf("standard output holds %q, want nothing", stdout)
	}
	if strings.Contains(stderr, "\r") {
		t.Errorf("carriage returns on standard error, which is no terminal: %q", stderr)
	}
	for _, table := range []string{"entries", "dois", "downtimes", "profiles"} {
		if !strings.Contains(stderr, "demo: "+table+" done, ") {
			t.Errorf("standard error does not say %s is done: %q", table, stderr)
		}
	}
	if !strings.Contains(stderr, "built "+db) {
		t.Errorf("standard error does not say the database is built: %q", stderr)
	}
}
