package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var out []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want []string
	}{
		{"a clean checkout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"},
			Settings: vcs("vcs", "git", "vcs.revision", "0123abcd", "vcs.time", "2026-01-02T03:04:05Z", "vcs.modified", "false")},
			[]string{"folio v1.2.3\n", "revision 0123abcd (2026-01-02T03:04:05Z)\n", "built with go1.26.8 for "}},
		{"uncommitted changes", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"},
			Settings: vcs("vcs.revision", "0123abcd", "vcs.modified", "true")},
			[]string{"folio (devel)\n", "revision 0123abcd with uncommitted changes\n"}},
		{"no VCS information", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			[]string{"folio (devel)\n", "revision unknown (built without VCS information)\n"}},
		{"no build information", nil, []string{"folio unknown\n", "revision unknown"}},
	}
	for _, tt := range tests {
		got := versionText(tt.bi)
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tt.name, got, w)
			}
		}
	}
}

// TestVersionOfABuild: a folio built by go build in a git checkout says
// the revision it was built from, and whether the tree had changes.
// Go stamps the revision only where .git is a directory (not in a linked
// worktree), so the test builds in a clone of the checkout with the work
// tree's changes copied over, which is what a user's checkout is.
func TestVersionOfABuild(t *testing.T) {
	git := func(dir string, args ...string) string {
		t.Helper()
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	root := git(".", "rev-parse", "--show-toplevel")
	head := git(root, "rev-parse", "HEAD")
	clone := filepath.Join(t.TempDir(), "folio")
	if out, err := exec.Command("git", "clone", "-q", "--shared", root, clone).CombinedOutput(); err != nil {
		t.Fatalf("git clone: %v: %s", err, out)
	}
	git(clone, "checkout", "-q", head)
	diff, err := exec.Command("git", "-C", root, "diff", "--binary", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	if len(diff) > 0 {
		apply := exec.Command("git", "-C", clone, "apply", "--whitespace=nowarn")
		apply.Stdin = bytes.NewReader(diff)
		if out, err := apply.CombinedOutput(); err != nil {
			t.Fatalf("git apply: %v: %s", err, out)
		}
	}
	untracked := strings.Fields(git(root, "ls-files", "--others", "--exclude-standard"))
	for _, f := range untracked {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(clone, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(clone, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(t.TempDir(), "folio")
	build := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/folio")
	build.Dir = clone
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	for _, args := range [][]string{{"version"}, {"--version"}} {
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Fatalf("folio %v: %v", args, err)
		}
		got := string(out)
		modified := len(diff) > 0 || len(untracked) > 0
		if !strings.Contains(got, "\nrevision "+head+" (") || strings.Contains(got, "uncommitted changes") != modified {
			t.Errorf("folio %v says %q; want revision %s, uncommitted changes %v", args, got, head, modified)
		}
		if !strings.HasPrefix(got, "folio ") {
			t.Errorf("folio %v says %q", args, got)
		}
	}
}
