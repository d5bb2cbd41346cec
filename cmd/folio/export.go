package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"folio/dialect/native"
	"folio/engine"
	"folio/export"
	"folio/source/postgres"
)

// filterFlags collects repeated --filter 'field[op]=value' flags.
type filterFlags []string

func (f *filterFlags) String() string     { return strings.Join(*f, " ") }
func (f *filterFlags) Set(s string) error { *f = append(*f, s); return nil }

func exportCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("export", flag.ExitOnError)
	db := fs.String("db", "", "SQLite file or postgres:// URL to export from (default: the demo database, built on first run)")
	schemas := fs.String("schema", "public", "PostgreSQL schemas to publish, comma-separated")
	cfgPath := fs.String("config", "", "configuration file (YAML)")
	name := fs.String("collection", "", "collection to export (required)")
	format := fs.String("format", "ndjson", "ndjson, csv or json")
	out := fs.String("out", "", "file to write, replaced only once the export is complete (default: standard output)")
	sort := fs.String("sort", "", "sort, as the native API's sort parameter: -a,b")
	fields := fs.String("fields", "", "fields to export, as the native API's fields parameter: a,b")
	limit := fs.Int("limit", 0, "most rows to export (0: all)")
	var filters filterFlags
	fs.Var(&filters, "filter", "filter, as a native API parameter: 'field[op]=value' (repeatable)")
	fs.Parse(args)
	if *name == "" {
		fs.Usage()
		return errors.New("export: --collection is required")
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("export: unexpected argument %q", fs.Arg(0))
	}
	f, err := export.ParseFormat(*format)
	if err != nil {
		return err
	}
	if *limit < 0 {
		return fmt.Errorf("export: --limit must be 0 or more, got %d", *limit)
	}
	params := url.Values{}
	for _, fl := range filters {
		k, v, ok := strings.Cut(fl, "=")
		if !ok {
			return fmt.Errorf("export: --filter %q: want field=value or field[op]=value", fl)
		}
		params.Add(k, v)
	}
	if *sort != "" {
		params.Set("sort", *sort)
	}
	if *fields != "" {
		params.Set("fields", *fields)
	}

	// Warnings go to stderr: stdout may be the export itself.
	p, err := open(ctx, *db, *cfgPath, postgres.Options{Schemas: schemaList(*schemas)}, os.Stderr, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		return err
	}
	defer p.src.Close()
	// An export issues no cursors, so any key will do.
	signer, err := engine.NewSigner([]byte(rand.Text()))
	if err != nil {
		return err
	}
	e, err := engine.New(p.src, signer, p.cols)
	if err != nil {
		return err
	}
	c, err := e.Collection(*name)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	q, err := native.ParseQuery(c, params)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	req := export.Request{Collection: c, Query: q, Format: f, Limit: *limit}

	toStdout := *out == "" || *out == "-"
	// A bar on a terminal only, and not on the terminal the rows go to.
	var bar *progressbar.ProgressBar
	if term.IsTerminal(int(os.Stderr.Fd())) && !(toStdout && term.IsTerminal(int(os.Stdout.Fd()))) {
		bar = newBar(ctx, e, req)
		req.Progress = func(n int64) {
			if m := bar.GetMax64(); m > 0 && n > m {
				bar.ChangeMax64(n) // the estimate was low
			}
			bar.Set64(n)
		}
	}
	start := time.Now()
	var n int64
	if toStdout {
		n, err = export.Write(ctx, e, req, os.Stdout)
	} else {
		n, err = export.WriteFile(ctx, e, req, *out)
	}
	if bar != nil {
		if err == nil && bar.GetMax64() > 0 {
			bar.ChangeMax64(n)
			bar.Set64(n)
		}
		bar.Finish()
		fmt.Fprintln(os.Stderr)
	}
	if err != nil {
		if ctx.Err() != nil {
			if toStdout {
				return fmt.Errorf("export: interrupted after %d rows", n)
			}
			return fmt.Errorf("export: interrupted after %d rows; %s was not written", n, *out)
		}
		return err
	}
	if bar != nil && !toStdout {
		d := time.Since(start)
		fmt.Fprintf(os.Stderr, "exported %d rows of %s to %s in %s (%.0f rows/s)\n", n, c.Name, *out, d.Round(time.Millisecond), float64(n)/d.Seconds())
	}
	return nil
}

// newBar returns a progress bar on standard error showing rows and rows/s,
// and a percentage when the database's statistics estimate the total.
func newBar(ctx context.Context, e *engine.Engine, req export.Request) *progressbar.ProgressBar {
	total, err := export.Estimate(ctx, e, req)
	if err != nil || total <= 0 {
		total = -1 // unknown: a spinner with the count
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription("export "+req.Collection.Name),
		progressbar.OptionSetWidth(30),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rows"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionSetPredictTime(total > 0),
	)
}
