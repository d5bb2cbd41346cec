package secret

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadCreatesOnceWith0600(t *testing.T) {
	path := FilePath(filepath.Join(t.TempDir(), "data.sqlite"))
	k1, err := Load("", path)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 32 {
		t.Errorf("key has %d bytes, want 32", len(k1))
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != 0o600 {
		t.Errorf("key file mode %v, want 0600", got)
	}
	k2, err := Load("", path) // a restart
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k1, k2) {
		t.Error("the key changed across loads: cursors would not survive a restart")
	}
}

func TestLoadExplicit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k")
	k, err := Load("0123456789abcdef-long-enough", path)
	if err != nil || string(k) != "0123456789abcdef-long-enough" {
		t.Fatalf("explicit key: %q, %v", k, err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("an explicit key still wrote a key file")
	}
	if _, err := Load("short", path); err == nil {
		t.Error("a 5-byte secret was accepted")
	}
}

func TestLoadRejects(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content string
		mode          os.FileMode
		want          string
	}{
		{"world readable", strings.Repeat("ab", 32), 0o644, "chmod 600"},
		{"not hex", "not a key", 0o600, "hex key"},
		{"too short", "abcd", 0o600, "hex key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, tt.name)
			if err := os.WriteFile(p, []byte(tt.content), tt.mode); err != nil {
				t.Fatal(err)
			}
			os.Chmod(p, tt.mode) // umask may have narrowed it
			_, err := Load("", p)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	if os.Geteuid() != 0 {
		p := filepath.Join(dir, "unreadable")
		os.WriteFile(p, []byte(strings.Repeat("ab", 32)), 0o600)
		os.Chmod(p, 0o200)
		if _, err := Load("", p); err == nil {
			t.Error("an unreadable key file was accepted")
		}
	}
	if _, err := Load("", filepath.Join(dir, "no-such-dir", "k")); err == nil {
		t.Error("a key file in a missing directory: no error")
	}
}
