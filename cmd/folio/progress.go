package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// isTerminal reports whether f is a terminal, where a progress bar may be
// drawn.
func isTerminal(f *os.File) bool { return term.IsTerminal(int(f.Fd())) }

// meter shows the progress of a long task on w, as export, harvest and
// demo all do: on a terminal a bar that redraws itself (rows, rate, and a
// percentage and ETA when the total is known); elsewhere (a log file, a
// pipe) a plain line every few seconds, never a carriage return.
type meter struct {
	w     io.Writer
	tty   bool
	desc  string
	unit  string
	every time.Duration
	// detail, when set, adds to each plain line (a harvest's pages and
	// retries).
	detail func() string

	mu    sync.Mutex
	bar   *progressbar.ProgressBar
	start time.Time
	last  time.Time
}

func newMeter(w io.Writer, tty bool, desc, unit string) *meter {
	now := time.Now()
	return &meter{w: w, tty: tty, desc: desc, unit: unit, every: 5 * time.Second, start: now, last: now}
}

// set reports n done of total (0 or less: unknown).
func (m *meter) set(n, total int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.tty {
		if m.bar == nil {
			if total <= 0 {
				total = -1 // unknown: a spinner with the count
			}
			m.bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(m.w),
				progressbar.OptionSetDescription(m.desc),
				progressbar.OptionSetWidth(30),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString(m.unit),
				progressbar.OptionThrottle(100*time.Millisecond),
				progressbar.OptionSetPredictTime(total > 0),
			)
		}
		if max := m.bar.GetMax64(); max > 0 && n > max {
			m.bar.ChangeMax64(n) // the estimate was low
		}
		m.bar.Set64(n)
		return
	}
	if time.Since(m.last) < m.every {
		return
	}
	m.last = time.Now()
	of := ""
	if total > 0 {
		of = fmt.Sprintf(" of %d (%d%%)", total, n*100/total)
	}
	detail := ""
	if m.detail != nil {
		detail = ", " + m.detail()
	}
	fmt.Fprintf(m.w, "%s: %d %s%s%s, %.0fs\n", m.desc, n, m.unit, of, detail, time.Since(m.start).Seconds())
}

// finish ends the bar, if one was drawn: complete says the task ended
// with n done, so that the bar shows it full.
func (m *meter) finish(complete bool, n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.bar == nil {
		return
	}
	if complete && m.bar.GetMax64() > 0 {
		m.bar.ChangeMax64(n)
		m.bar.Set64(n)
	}
	m.bar.Finish()
	fmt.Fprintln(m.w)
}
