package server

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"folio/engine"
)

// ready answers /readyz and /healthz: 200 when this node can serve pages,
// else 503, so that a load balancer takes a node whose database is gone
// (deleted, unreadable, replaced by a file it cannot serve, or a server
// that is down) out of rotation, and puts it back once it answers again.
//
// A source that reads from several databases (a PostgreSQL primary and
// its replicas) can serve pages while any of them answers: the node is
// ready then, and the body's first line says "degraded" and which is down;
// the lines after it give every database's state and counts.
func ready(src engine.Source) http.Handler {
	reporter, several := src.(engine.HealthReporter)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		plain(w)
		if several {
			status, body := readiness(reporter.Health(ctx), time.Now())
			w.WriteHeader(status)
			w.Write(body)
			return
		}
		if _, err := src.Version(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("unavailable\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
}

// readiness is the status and body of /readyz for these databases: 200
// "ok" when all answer, 200 "degraded: …" when some do, 503
// "unavailable: …" when none does; then one line per database.
func readiness(dbs []engine.Database, now time.Time) (int, []byte) {
	var down []string
	serving := false
	for _, d := range dbs {
		if d.Up {
			serving = true
		} else {
			down = append(down, d.Role+" "+d.Name)
		}
	}
	var b strings.Builder
	status := http.StatusOK
	switch {
	case !serving:
		status = http.StatusServiceUnavailable
		b.WriteString("unavailable: no database answers\n")
	case len(down) > 0:
		fmt.Fprintf(&b, "degraded: %s down\n", strings.Join(down, ", "))
	default:
		b.WriteString("ok\n")
	}
	for _, d := range dbs {
		fmt.Fprintf(&b, "%s %s: ", d.Role, d.Name)
		if d.Up {
			b.WriteString("up")
		} else {
			b.WriteString("down")
		}
		if !d.Since.IsZero() {
			fmt.Fprintf(&b, " since %s (%s)", d.Since.UTC().Format(time.RFC3339), now.Sub(d.Since).Round(time.Second))
		}
		if d.Err != nil {
			fmt.Fprintf(&b, ": %s", oneLine(d.Err.Error()))
		}
		if d.Role != "primary" {
			fmt.Fprintf(&b, "; out of rotation %d times, %d reads fell back to the primary", d.Outs, d.Fallbacks)
		}
		b.WriteString("\n")
	}
	return status, []byte(b.String())
}

// oneLine keeps an error message on its line of the body.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// live answers /livez: 200 "ok" while the process serves HTTP, whatever
// the database. A supervisor restarts a process whose liveness check
// fails; restarting folio does not bring a database back, so liveness
// must not depend on it (readiness does).
func live() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		plain(w)
		w.Write([]byte("ok\n"))
	})
}

// plain sets the headers of a health answer: text, never cached.
func plain(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
}
