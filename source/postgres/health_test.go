package postgres

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"folio/internal/pgtest"
)

// TestReadiness follows a node's health endpoints through the states of a
// primary and its streaming replica. Liveness (/livez) is 200 throughout.
// Readiness (/readyz, and /healthz with it) is 200 while pages can be
// read from the primary or the replica, saying "degraded" and which
// database is down when one is, and 503 only when neither answers; pages
// answer as readiness says.
func TestReadiness(t *testing.T) {
	srv := pgtest.StartServer(t)
	u := srv.CreateDB(t)
	w := writer(t, u)
	if _, err := w.Exec(t.Context(), `CREATE TABLE items (id int8 PRIMARY KEY, name text NOT NULL);
		INSERT INTO items SELECT i, 'item ' || i FROM generate_series(1, 100) i`); err != nil {
		t.Fatal(err)
	}
	w.Close() // its connections would only die with the server
	rep := srv.Replica(t)
	repURL := replicaOf(t, rep, u)
	src := openSource(t, u, Options{Replicas: []string{repURL}, ReplicaTimeout: time.Second})
	ts := serveHTTP(t, src, 0)
	name := func(s string) string {
		p, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return p.Host
	}
	primary, replica := "primary "+name(u), "replica "+name(repURL)

	// expect waits until readiness answers status with a body that starts
	// with first, and checks the rest agrees.
	expect := func(what string, status int, first string) {
		t.Helper()
		var got string
		for deadline := time.Now().Add(maxProbe + 10*time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			code, body := fetch(t, ts, "/readyz")
			got = body
			if code == status && strings.HasPrefix(body, first+"\n") {
				if code, again := fetch(t, ts, "/healthz"); code != status || !strings.HasPrefix(again, first+"\n") {
					t.Fatalf("%s: /healthz %d %q, /readyz %d %q", what, code, again, status, body)
				}
				if code, body := fetch(t, ts, "/livez"); code != http.StatusOK {
					t.Fatalf("%s: /livez %d %s", what, code, body)
				}
				want := http.StatusOK
				if status != http.StatusOK {
					want = http.StatusServiceUnavailable
				}
				if code, body := fetch(t, ts, "/v1/items?limit=10&sort=id", "Cache-Control", "no-cache"); code != want {
					t.Fatalf("%s: readiness %d but a page %d %s", what, status, code, body)
				}
				return
			}
		}
		t.Fatalf("%s: readiness answers %q; want %d %q", what, got, status, first)
	}
	expect("all up", http.StatusOK, "ok")
	rep.Stop(t)
	expect("the replica stopped", http.StatusOK, "degraded: "+replica+" down")
	rep.Start(t)
	expect("the replica back", http.StatusOK, "ok")
	srv.Stop(t)
	expect("the primary stopped", http.StatusOK, "degraded: "+primary+" down")
	rep.Stop(t)
	expect("both stopped", http.StatusServiceUnavailable, "unavailable: no database answers")
	srv.Start(t)
	expect("the primary back", http.StatusOK, "degraded: "+replica+" down")
	rep.Start(t)
	expect("both back", http.StatusOK, "ok")
}
