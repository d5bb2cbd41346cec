package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"folio/client"
	"folio/harvest"
)

func harvestCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("harvest", flag.ExitOnError)
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
	// Flags may follow the URL: folio harvest URL --out f.
	var pos []string
	for rest := args; ; {
		fs.Parse(rest)
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("harvest: want exactly one URL")
	}
	if *pageSize < 0 || *maxRecs < 0 || *parallel < 1 {
		return errors.New("harvest: --page-size and --max must be 0 or more, --parallel 1 or more")
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
	co := client.Options{Rate: *rate, Timeout: *timeout, MaxRetries: *retries, UserAgent: "folio-harvest", H2C: *h2c}
	if *caCert != "" {
		var err error
		if co.RootCAs, err = loadCAs(*caCert); err != nil {
			return err
		}
	}
	c := client.New(co)
	o := harvest.Options{Client: c, Request: req, Dialect: *dialect, PageSize: *pageSize, Max: *maxRecs, Out: *out, Checkpoint: *checkpoint, CheckpointEvery: *every}

	rep := newReporter(os.Stderr, term.IsTerminal(int(os.Stderr.Fd())) && !(toStdout && term.IsTerminal(int(os.Stdout.Fd()))))
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

// reporter shows a harvest's progress: a bar on a terminal, else a line
// every few seconds.
type reporter struct {
	w     io.Writer
	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	tty   bool
	start time.Time
	last  time.Time
}

func newReporter(w io.Writer, tty bool) *reporter {
	now := time.Now()
	return &reporter{w: w, tty: tty, start: now, last: now}
}

func (r *reporter) progress(p harvest.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tty {
		if r.bar == nil {
			total := p.Total
			if total <= 0 {
				total = -1 // unknown: a spinner with the count
			}
			r.bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(r.w),
				progressbar.OptionSetDescription("harvest"),
				progressbar.OptionSetWidth(30),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("records"),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetPredictTime(total > 0),
			)
		}
		if m := r.bar.GetMax64(); m > 0 && p.Records > m {
			r.bar.ChangeMax64(p.Records)
		}
		r.bar.Set64(p.Records)
		return
	}
	if time.Since(r.last) < 5*time.Second {
		return
	}
	r.last = time.Now()
	of := ""
	if p.Total > 0 {
		of = fmt.Sprintf(" of %d", p.Total)
	}
	d := time.Since(r.start).Seconds()
	fmt.Fprintf(r.w, "harvest: %d records%s, %d pages, %d retries, %.0fs\n", p.Records, of, p.Pages, p.Retries, d)
}

func (r *reporter) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.bar != nil {
		r.bar.Finish()
		fmt.Fprintln(r.w)
	}
}
