package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
)

// command is one of folio's commands: what its help says of it and the
// function that defines its flags on the flag set it is given, parses its
// arguments with parseFlags and runs.
type command struct {
	name    string
	args    string // what follows "folio NAME" in the usage line
	summary string // one line, for folio's own usage
	about   string // a paragraph, for the command's --help
	run     func(ctx context.Context, fs *flag.FlagSet, args []string) error
}

// commands lists folio's commands, in the order its usage shows them.
func commands() []command {
	return []command{
		{"serve", "[flags]", "publish a database over HTTP (default: the demo database)",
			"Publish a SQLite file or a PostgreSQL database over HTTP: every table and view a collection,\n" +
				"in folio's native API and the dialects the configuration mounts. With no --db, serve the demo\n" +
				"database, building it on first run. Metrics and profiling are served only on --admin-addr.",
			serve},
		{"demo", "--db PATH|URL [flags]", "build the demo database",
			"Build the deterministic demo database (entries, dois, downtimes, profiles) in a new SQLite file,\n" +
				"or load it into a PostgreSQL database. Progress goes to standard error.",
			demoCmd},
		{"export", "--collection NAME [flags]", "write a collection's rows as NDJSON, CSV or JSON",
			"Write every row of a collection that the filters select, in the sort's order, as NDJSON, CSV or\n" +
				"JSON, to standard output or to a file that appears only once the export is complete.",
			exportCmd},
		{"harvest", "URL [flags]", "download every record of a paged API, resumably",
			"Download every record a paged API serves (folio's dialects, or any API that pages by a Link\n" +
				"header), with retries, resumable checkpoints and, for folio's native API, parallel key slices.",
			harvestCmd},
		{"token", "create|list|revoke [flags]", "issue, list and revoke API tokens",
			"Issue an API token (printed once; only its hash is kept, in a file beside the database with\n" +
				"mode 0600), list the tokens or revoke one. A request that sends a token as\n" +
				"Authorization: Bearer TOKEN is made as the token's name, with its roles, which the\n" +
				"configuration's access rules grant to.",
			tokenCmd},
		{"version", "", "print folio's version and VCS revision",
			"Print the module version and VCS revision folio was built from, and the Go it was built with.",
			versionCmd},
	}
}

// usageError is a command line that cannot be run as given (an unknown
// flag, a bad value, a missing argument): exit status 2, where a failure
// while running is 1.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// run runs folio with args (without the program name) and returns its
// exit status: 2 for a usage error, 1 for a failure, 0 otherwise. Help and
// the version go to stdout, errors to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, topUsage())
		return exitUsage
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, topUsage())
		return exitOK
	case "-version", "--version":
		args = append([]string{"version"}, args[1:]...)
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		fs := newFlagSet(c.name)
		err := c.run(ctx, fs, args[1:])
		var ue usageError
		switch {
		case err == nil:
			return exitOK
		case errors.Is(err, flag.ErrHelp):
			writeHelp(stdout, c, fs)
			return exitOK
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "folio %s: %v\nRun 'folio %s --help' for its flags.\n", c.name, err, c.name)
			return exitUsage
		}
		fmt.Fprintln(stderr, "folio:", err)
		return exitFailure
	}
	fmt.Fprintf(stderr, "folio: unknown command %q\n%s", args[0], topUsage())
	return exitUsage
}

// newFlagSet returns an empty flag set for the command name that reports
// nothing itself: run reports its errors and writes its help.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// envName is the environment variable that sets a flag when the command
// line does not: --replica-timeout is FOLIO_REPLICA_TIMEOUT.
func envName(flagName string) string {
	return "FOLIO_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args into fs and returns the arguments that are not
// flags; flags may come before, after and between them. Every flag the
// command line does not give is then read from its environment variable
// (envName), if set: so the rule holds for any flag a command defines,
// and a flag given explicitly always wins. A repeatable flag takes one
// value from its variable. Errors are usage errors, except flag.ErrHelp.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] || err != nil {
			return
		}
		if v, ok := os.LookupEnv(envName(f.Name)); ok {
			if serr := fs.Set(f.Name, v); serr != nil {
				err = usagef("%s=%q: %v", envName(f.Name), v, serr)
			}
		}
	})
	return pos, err
}

// topUsage is folio's own usage: its commands, from the command table.
func topUsage() string {
	var b strings.Builder
	b.WriteString("folio publishes SQL datasets over HTTP.\n\nusage: folio COMMAND [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(&b, "  %-9s %s\n", c.name, c.summary)
	}
	b.WriteString("\nRun 'folio COMMAND --help' for a command's flags. Every flag can also be set by an\n" +
		"environment variable, --replica-timeout by FOLIO_REPLICA_TIMEOUT; the command line wins.\n" +
		"'folio --version' prints the version.\n")
	return b.String()
}

// writeHelp writes a command's help: its usage line, what it does, and
// every flag fs holds, each with its default and its environment variable.
func writeHelp(w io.Writer, c command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: folio %s %s\n\n%s\n", c.name, c.args, c.about)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n == 0 {
		return
	}
	fmt.Fprintln(w, "\nflags:")
	fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if arg != "" {
			line += " " + arg
		}
		var notes []string
		if !zeroDefault(f.DefValue) {
			notes = append(notes, fmt.Sprintf("default %q", f.DefValue))
		}
		notes = append(notes, "env "+envName(f.Name))
		fmt.Fprintf(w, "%s\n      %s (%s)\n", line, usage, strings.Join(notes, "; "))
	})
}

// zeroDefault reports whether a flag's default is its type's zero value,
// which its help does not show.
func zeroDefault(v string) bool {
	switch v {
	case "", "0", "false", "0s":
		return true
	}
	return false
}
