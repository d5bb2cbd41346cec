package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"folio/client"
	"folio/harvest"
)

func harvestCmd(ctx context.Context, fs *flag.FlagSet, args []string) error {
	dialect := fs.String("dialect", "auto", "auto, or the API's paging: "+strings.Join(client.Dialects(), ", "))
	out := fs.String("out", "", "file to append the records to: NDJSON, or CSV when it ends in .csv (default: NDJSON on standard output)")
	checkpoint := fs.String("checkpoint", "", "file that keeps the position; run again with it to resume (needs --out)")
	pageSize := fs.Int("page-size", 0, "records per page to ask for (default: the server's)")
	maxRecs := fs.Int64("max", 0, "most records to harvest (0: all)")
	data := fs.String("data", "", "POST this JSON body (the NOMAD dialect's query)")
	every := fs.Duration("checkpoint-every", time.Second, "least time between checkpoints (0: after every page)")
	rate := fs.Float64("rate", 0, "most requests per second (0: no limit)")
	timeout := fs.Duration("timeout", 2*time.Minute, "time limit of one request")
	retries := fs.Int("retries", 10, "retries of one request before giving up")
	parallel := fs.Int("parallel", 1, "harvest a keyed native collection in this many key slices at once (output in key order; needs --out)")
	caCert := fs.String("ca-cert", "", "PEM file of certificate authorities to trust besides the system's (a private or test CA)")
	h2c := fs.Bool("h2c", false, "speak HTTP/2 without TLS to an http:// URL (a server run with --h2c)")
	var headers listFlag
	fs.Var(&headers, "header", "`'Name: value'` header sent with every request to the URL's host, as an API key (repeatable)")
	token := fs.String("token", "", "bearer token sent to the URL's host as Authorization: Bearer (never written to the checkpoint, the output or the log)")
	netrc := fs.String("netrc", "", "`file` of logins by host (default: $NETRC, else ~/.netrc, when it exists); a host it names is sent its login as HTTP Basic; none: read no file")
	compress := fs.Bool("compress", true, "ask for zstd or gzip compressed answers and decode them (--compress=false: uncompressed)")
	// Flags may follow the URL: folio harvest URL --out f.
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want exactly one URL, got %d arguments", len(pos))
	}
	if *pageSize < 0 || *maxRecs < 0 || *retries < 0 || *parallel < 1 {
		return usagef("--page-size, --max and --retries must be 0 or more, --parallel 1 or more")
	}
	if !slices.Contains(append(client.Dialects(), "auto"), *dialect) {
		return usagef("--dialect must be auto or one of %s, got %q", strings.Join(client.Dialects(), ", "), *dialect)
	}
	req := client.Request{URL: pos[0]}
	if *data != "" {
		req.Method = "POST"
		req.Body = *data
	}
	toStdout := *out == "" || *out == "-"
	if toStdout {
		*out = ""
	}
	maxRetries := *retries
	if maxRetries == 0 {
		maxRetries = -1 // the client's zero is its default; --retries 0 means none
	}
	creds, err := harvestCredentials(headers, *token, *netrc)
	if err != nil {
		return err
	}
	co := client.Options{Rate: *rate, Timeout: *timeout, MaxRetries: maxRetries, UserAgent: "folio-harvest", H2C: *h2c, Credentials: creds, DisableCompression: !*compress}
	if *caCert != "" {
		var err error
		if co.RootCAs, err = loadCAs(*caCert); err != nil {
			return err
		}
	}
	c := client.New(co)
	o := harvest.Options{Client: c, Request: req, Dialect: *dialect, PageSize: *pageSize, Max: *maxRecs, Out: *out, Checkpoint: *checkpoint, CheckpointEvery: *every}
	if err := o.Check(*parallel); err != nil {
		return usageError{err}
	}

	rep := newReporter(os.Stderr, isTerminal(os.Stderr) && !(toStdout && isTerminal(os.Stdout)))
	o.Progress = rep.progress
	sum, err := harvest.RunParallel(ctx, o, *parallel)
	rep.finish()
	if err != nil {
		return err
	}
	secs := sum.Duration.Seconds()
	resumed := ""
	if sum.Resumed {
		resumed = fmt.Sprintf(" (resumed; %d in the output)", sum.Records)
	}
	fmt.Fprintf(os.Stderr, "harvested %d records%s in %d pages, %d retries, %.1fs, %.0f records/s\n",
		sum.New, resumed, sum.Pages, sum.Retries, secs, float64(sum.New)/max(secs, 1e-9))
	return nil
}

// reporter shows a harvest's progress with a meter: a bar on a terminal,
// else a line every few seconds with the pages and retries.
type reporter struct {
	m    *meter
	mu   sync.Mutex
	last harvest.Progress
}

func newReporter(w io.Writer, tty bool) *reporter {
	r := &reporter{m: newMeter(w, tty, "harvest", "records")}
	r.m.detail = func() string {
		r.mu.Lock()
		defer r.mu.Unlock()
		return fmt.Sprintf("%d pages, %d retries", r.last.Pages, r.last.Retries)
	}
	return r
}

func (r *reporter) progress(p harvest.Progress) {
	r.mu.Lock()
	r.last = p
	r.mu.Unlock()
	r.m.set(p.Records, p.Total)
}

func (r *reporter) finish() { r.m.finish(false, 0) }

// harvestCredentials builds the client's credentials from --header,
// --token and --netrc.
func harvestCredentials(headers []string, token, netrc string) (client.Credentials, error) {
	c := client.Credentials{Header: http.Header{}, Token: token}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return c, usagef("--header %q: want 'Name: value'", h)
		}
		c.Header.Add(name, strings.TrimSpace(value))
	}
	if netrc == "" {
		netrc = os.Getenv("NETRC")
	}
	if netrc == "" {
		if home, err := os.UserHomeDir(); err == nil {
			netrc = filepath.Join(home, ".netrc")
		}
	}
	if netrc != "" && netrc != "none" {
		n, err := client.ReadNetrc(netrc)
		if err != nil {
			return c, err
		}
		c.Netrc = n
	}
	return c, nil
}
