package main

import (
	"context"
	"crypto/rand"
	"flag"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"folio/dialect/native"
	"folio/engine"
	"folio/export"
	"folio/source/postgres"
)

// filterFlags collects repeated --filter 'field[op]=value' flags.
type filterFlags []string

func (f *filterFlags) String() string     { return strings.Join(*f, " ") }
func (f *filterFlags) Set(s string) error { *f = append(*f, s); return nil }

func exportCmd(ctx context.Context, fs *flag.FlagSet, args []string) error {
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
	logs := addLogFlags(fs)
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *name == "" {
		return usagef("--collection is required")
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	f, err := export.ParseFormat(*format)
	if err != nil {
		return usageError{err}
	}
	if *limit < 0 {
		return usagef("--limit must be 0 or more, got %d", *limit)
	}
	params := url.Values{}
	for _, fl := range filters {
		k, v, ok := strings.Cut(fl, "=")
		if !ok {
			return usagef("--filter %q: want field=value or field[op]=value", fl)
		}
		params.Add(k, v)
	}
	log, err := logs.logger(os.Stderr)
	if err != nil {
		return err
	}
	if *sort != "" {
		params.Set("sort", *sort)
	}
	if *fields != "" {
		params.Set("fields", *fields)
	}

	// Warnings go to stderr: stdout may be the export itself.
	p, err := open(ctx, *db, *cfgPath, postgres.Options{Schemas: schemaList(*schemas)}, os.Stderr, log)
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
	var bar *meter
	if isTerminal(os.Stderr) && !(toStdout && isTerminal(os.Stdout)) {
		bar = newMeter(os.Stderr, true, "export "+c.Name, "rows")
		total, err := export.Estimate(ctx, e, req)
		if err != nil || total <= 0 {
			total = -1 // unknown: a spinner with the count
		}
		req.Progress = func(n int64) { bar.set(n, total) }
	}
	start := time.Now()
	var n int64
	if toStdout {
		n, err = export.Write(ctx, e, req, os.Stdout)
	} else {
		n, err = export.WriteFile(ctx, e, req, *out)
	}
	if bar != nil {
		bar.finish(err == nil, n)
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
