package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestHelpListsEveryFlag: each command's --help names the command, says
// what it does and lists every flag its flag set holds, with its
// environment variable; folio's own usage lists every command. Both are
// generated, so a flag added later is listed too.
func TestHelpListsEveryFlag(t *testing.T) {
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	if code := run(ctx, []string{"--help"}, &stdout, &stderr); code != exitOK {
		t.Fatalf("folio --help: exit %d", code)
	}
	top := stdout.String()
	for _, c := range commands() {
		if !strings.Contains(top, "  "+c.name+" ") || !strings.Contains(top, c.summary) {
			t.Errorf("folio --help does not list %s:\n%s", c.name, top)
		}
	}
	if !strings.Contains(top, "folio COMMAND --help") {
		t.Errorf("folio --help does not point to the commands' help:\n%s", top)
	}
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(ctx, []string{c.name, "--help"}, &stdout, &stderr); code != exitOK || stderr.Len() > 0 {
				t.Fatalf("folio %s --help: exit %d, stderr %q", c.name, code, stderr.String())
			}
			help := stdout.String()
			if !strings.HasPrefix(help, "usage: folio "+c.name+" ") || !strings.Contains(help, c.about) {
				t.Errorf("help does not name and describe %s:\n%s", c.name, help)
			}
			fs := newFlagSet(c.name)
			if err := c.run(ctx, fs, []string{"--help"}); !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("%s --help returned %v", c.name, err)
			}
			n := 0
			fs.VisitAll(func(f *flag.Flag) {
				n++
				_, usage := flag.UnquoteUsage(f)
				for _, want := range []string{"--" + f.Name + " ", "--" + f.Name + "\n", usage, envName(f.Name)} {
					if want == "--"+f.Name+" " && strings.Contains(help, "--"+f.Name+"\n") {
						continue
					}
					if want == "--"+f.Name+"\n" && strings.Contains(help, "--"+f.Name+" ") {
						continue
					}
					if !strings.Contains(help, want) {
						t.Errorf("help of %s lacks %q of flag --%s:\n%s", c.name, want, f.Name, help)
					}
				}
			})
			if c.name != "version" && n == 0 {
				t.Errorf("%s defines no flags", c.name)
			}
		})
	}
}

// TestFlagsFromEnvironment: a flag the command line does not give is read
// from FOLIO_ and its name in capitals, dashes as underscores; the command
// line wins; a bad value in the environment is a usage error naming the
// variable. The rule is the flag set's, so it holds for any flag.
func TestFlagsFromEnvironment(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		args    []string
		want    string // timeout rows list pos, as formatted below
		wantErr string
	}{
		{"defaults", nil, nil, "1s 5 [] []", ""},
		{"from the environment", map[string]string{"FOLIO_REPLICA_TIMEOUT": "3s", "FOLIO_ROWS": "9", "FOLIO_LIST": "a,b"}, nil, "3s 9 [a,b] []", ""},
		{"the command line wins", map[string]string{"FOLIO_REPLICA_TIMEOUT": "3s", "FOLIO_ROWS": "9"}, []string{"--rows", "7", "x"}, "3s 7 [] [x]", ""},
		{"flags after arguments", map[string]string{"FOLIO_ROWS": "9"}, []string{"x", "--rows=8", "y"}, "1s 8 [] [x y]", ""},
		{"an empty variable is a value", map[string]string{"FOLIO_LIST": ""}, nil, "1s 5 [] []", ""},
		{"a bad value", map[string]string{"FOLIO_ROWS": "many"}, nil, "", "FOLIO_ROWS"},
		{"a bad flag", nil, []string{"--rows", "many"}, "", "-rows"},
		{"an unknown flag", nil, []string{"--nope"}, "", "-nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"FOLIO_REPLICA_TIMEOUT", "FOLIO_ROWS", "FOLIO_LIST"} {
				os.Unsetenv(k)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			fs := newFlagSet("test")
			timeout := fs.Duration("replica-timeout", time.Second, "")
			rows := fs.Int("rows", 5, "")
			var list listFlag
			fs.Var(&list, "list", "")
			pos, err := parseFlags(fs, tt.args)
			if tt.wantErr != "" {
				var ue usageError
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want a usage error naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Join([]string{timeout.String(), flagText(fs, "rows"), "[" + list.String() + "]", "[" + strings.Join(pos, " ") + "]"}, " ")
			if got != tt.want || *rows < 0 {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if envName("replica-timeout") != "FOLIO_REPLICA_TIMEOUT" || envName("secret") != "FOLIO_SECRET" {
		t.Errorf("envName: %s, %s", envName("replica-timeout"), envName("secret"))
	}
}

func flagText(fs *flag.FlagSet, name string) string { return fs.Lookup(name).Value.String() }

// binary builds folio once per test binary, as `go build` does, for the
// tests that run it as a user would.
var binary struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func folioBinary(t *testing.T) string {
	t.Helper()
	binary.once.Do(func() {
		if binary.dir, binary.err = os.MkdirTemp("", "folio-cmd-test-"); binary.err != nil {
			return
		}
		binary.path = filepath.Join(binary.dir, "folio")
		out, err := exec.Command("go", "build", "-o", binary.path, ".").CombinedOutput()
		if err != nil {
			binary.err = errors.New(string(out))
		}
	})
	if binary.err != nil {
		t.Fatalf("build folio: %v", binary.err)
	}
	return binary.path
}

// runFolio runs the folio binary with args and extra environment, and
// returns its exit status, standard output and standard error.
func runFolio(t *testing.T, env []string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(folioBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, stdout.String(), stderr.String()
	case errors.As(err, &exit):
		return exit.ExitCode(), stdout.String(), stderr.String()
	}
	t.Fatalf("run folio %v: %v", args, err)
	return 0, "", ""
}

// TestExitStatus: a command line that cannot be run as given exits 2,
// saying what is wrong and where the help is; a failure while running
// exits 1; success 0. Every command, as a user runs it.
func TestExitStatus(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "small.sqlite")
	if code, stdout, stderr := runFolio(t, nil, "demo", "--db", db, "--rows", "300"); code != 0 {
		t.Fatalf("folio demo: exit %d: %s %s", code, stdout, stderr)
	}
	missing := filepath.Join(dir, "missing.sqlite")
	tests := []struct {
		name string
		env  []string
		args []string
		code int
		says string
	}{
		{"no command", nil, nil, 2, "usage: folio COMMAND"},
		{"unknown command", nil, []string{"serv"}, 2, `unknown command "serv"`},
		{"top help", nil, []string{"--help"}, 0, ""},
		{"version", nil, []string{"version"}, 0, ""},
		{"--version", nil, []string{"--version"}, 0, ""},
		{"version with an argument", nil, []string{"version", "now"}, 2, `unexpected argument "now"`},

		{"serve: unknown flag", nil, []string{"serve", "--adr", ":1"}, 2, "folio serve --help"},
		{"serve: argument", nil, []string{"serve", "their.sqlite"}, 2, `unexpected argument "their.sqlite"`},
		{"serve: bad log format", nil, []string{"serve", "--log-format", "xml"}, 2, "--log-format"},
		{"serve: bad log level from the environment", []string{"FOLIO_LOG_LEVEL=loud"}, []string{"serve"}, 2, "--log-level"},
		{"serve: database missing", nil, []string{"serve", "--db", missing}, 1, "missing.sqlite"},
		{"serve: database missing, from the environment", []string{"FOLIO_DB=" + missing}, []string{"serve"}, 1, "missing.sqlite"},
		{"serve: help", nil, []string{"serve", "-h"}, 0, ""},

		{"demo: no --db", nil, []string{"demo"}, 2, "--db is required"},
		{"demo: bad rows", nil, []string{"demo", "--db", missing, "--rows", "0"}, 2, "--rows"},
		{"demo: not a number", nil, []string{"demo", "--db", missing, "--rows", "many"}, 2, "invalid value"},
		{"demo: database exists", nil, []string{"demo", "--db", db, "--rows", "10"}, 1, "exists"},

		{"export: no --collection", nil, []string{"export", "--db", db}, 2, "--collection is required"},
		{"export: bad format", nil, []string{"export", "--db", db, "--collection", "dois", "--format", "xml"}, 2, "xml"},
		{"export: bad limit", nil, []string{"export", "--db", db, "--collection", "dois", "--limit", "-1"}, 2, "--limit"},
		{"export: bad filter", nil, []string{"export", "--db", db, "--collection", "dois", "--filter", "created"}, 2, "--filter"},
		{"export: argument", nil, []string{"export", "--db", db, "--collection", "dois", "dois"}, 2, "unexpected argument"},
		{"export: database missing", nil, []string{"export", "--db", missing, "--collection", "dois"}, 1, "missing.sqlite"},
		{"export: no such collection", nil, []string{"export", "--db", db, "--collection", "nope"}, 1, "nope"},
		{"export: works", nil, []string{"export", "--db", db, "--collection", "dois", "--limit", "2"}, 0, ""},

		{"harvest: no URL", nil, []string{"harvest"}, 2, "want exactly one URL"},
		{"harvest: two URLs", nil, []string{"harvest", "http://127.0.0.1:1/a", "http://127.0.0.1:1/b"}, 2, "want exactly one URL"},
		{"harvest: bad parallel", nil, []string{"harvest", "http://127.0.0.1:1/v1/x", "--parallel", "0"}, 2, "--parallel"},
		{"harvest: parallel to stdout", nil, []string{"harvest", "http://127.0.0.1:1/v1/x", "--parallel", "2"}, 2, "output file"},
		{"harvest: checkpoint without out", nil, []string{"harvest", "http://127.0.0.1:1/v1/x", "--checkpoint", filepath.Join(dir, "c")}, 2, "output file"},
		{"harvest: bad dialect", nil, []string{"harvest", "http://127.0.0.1:1/v1/x", "--dialect", "soap"}, 2, "--dialect"},
		{"harvest: server down", nil, []string{"harvest", "http://127.0.0.1:1/v1/x", "--retries", "0"}, 1, "127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runFolio(t, tt.env, tt.args...)
			if code != tt.code {
				t.Errorf("folio %v: exit %d, want %d\nstdout: %s\nstderr: %s", tt.args, code, tt.code, stdout, stderr)
			}
			if !strings.Contains(stderr, tt.says) {
				t.Errorf("folio %v: stderr %q does not say %q", tt.args, stderr, tt.says)
			}
			if tt.code == 2 && tt.args != nil && !strings.Contains(stderr, "--help") {
				t.Errorf("folio %v: a usage error that does not point to the help: %q", tt.args, stderr)
			}
			if tt.code == 0 && stdout == "" {
				t.Errorf("folio %v: nothing on standard output", tt.args)
			}
		})
	}
}
