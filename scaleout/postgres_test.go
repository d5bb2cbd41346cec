package scaleout

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"folio/dataset"
	"folio/internal/pgtest"
	"folio/source/conformance"
	"folio/source/postgres"
)

// The PostgreSQL files docs/SCALING.md quotes, which TestDocumentedPostgres
// runs as they are.
const (
	rolesPath = "docs/postgres/roles.sql"
	hbaPath   = "docs/postgres/pg_hba.conf"
)

func repoFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", path))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDocsQuotePostgresFiles holds docs/SCALING.md to the files the test
// below runs: each quoted whole, byte for byte.
func TestDocsQuotePostgresFiles(t *testing.T) {
	doc := repoFile(t, "docs/SCALING.md")
	for _, c := range []struct{ path, lang string }{{rolesPath, "sql"}, {hbaPath, "text"}} {
		quoted := append(append([]byte("```"+c.lang+"\n"), repoFile(t, c.path)...), "```\n"...)
		if !bytes.Contains(doc, quoted) {
			t.Errorf("docs/SCALING.md does not quote %s verbatim in a ```%s block", c.path, c.lang)
		}
	}
}

// TestDocumentedPostgres sets PostgreSQL up as docs/SCALING.md tells an
// operator to: the database "data" loaded by its owner, docs/postgres/
// roles.sql run with psql, docs/postgres/pg_hba.conf as the access rules
// (its addresses made 127.0.0.1, beside lines that let the test's
// superuser in), a replica taken with pg_basebackup as the replication
// role with its password. Then `folio serve` connects as the role folio,
// with exactly those grants, to the primary and the replica: it must serve
// pages, exact and estimated totals, a table created after the grants, and
// pages from the replica alone when the primary is down; and the role must
// not be able to write.
func TestDocumentedPostgres(t *testing.T) {
	ctx := context.Background()
	pg := pgtest.StartServer(t)
	admin := func(db, sql string) {
		t.Helper()
		conn, err := pgx.Connect(ctx, pg.URL(db))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	admin("postgres", "CREATE DATABASE data")
	const rows = 400
	tb := conformance.RandomTable(mrand.New(mrand.NewPCG(3, 29)), "items", rows, conformance.IntKey)
	if err := postgres.Load(ctx, pg.URL("data"), []*dataset.Table{tb}, nil); err != nil {
		t.Fatal(err)
	}

	const folioPW, replPW = "folio-pw", "repl-pw"
	psql := pg.Command("psql", "-X", "-h", "127.0.0.1", "-p", strconv.Itoa(pg.Port()), "-U", "postgres", "-d", "data",
		"-v", "ON_ERROR_STOP=1", "-v", "folio_password="+folioPW, "-v", "replicator_password="+replPW, "-f", "-")
	psql.Stdin = bytes.NewReader(repoFile(t, rolesPath))
	if out, err := psql.CombinedOutput(); err != nil {
		t.Fatalf("psql -f %s: %v\n%s", rolesPath, err, out)
	}
	// A table the owner creates after the grants.
	admin("data", "CREATE TABLE later (id int PRIMARY KEY, name text); INSERT INTO later VALUES (1, 'after the grants')")

	hba := regexp.MustCompile(`10\.0\.0\.\d+/32`).ReplaceAll(repoFile(t, hbaPath), []byte("127.0.0.1/32"))
	pg.SetHBA(t, "# the test's superuser\nlocal all postgres trust\nlocal replication postgres trust\nhost all postgres 127.0.0.1/32 trust\n"+string(hba))
	folioURL := func(srv *pgtest.Server, password string) string {
		u := url.URL{Scheme: "postgres", User: url.UserPassword("folio", password), Host: "127.0.0.1:" + strconv.Itoa(srv.Port()),
			Path: "/data", RawQuery: "sslmode=disable"}
		return u.String()
	}
	// The rules are read on reload, asynchronously: wait until a wrong
	// password is refused, which also shows folio's line asks for one.
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, folioURL(pg, "wrong"))
		if err != nil {
			break
		}
		conn.Close(ctx)
		if time.Now().After(deadline) {
			t.Fatal("the role folio connects with a wrong password: the documented pg_hba.conf is not in force")
		}
		time.Sleep(100 * time.Millisecond)
	}
	conn, err := pgx.Connect(ctx, folioURL(pg, folioPW))
	if err != nil {
		t.Fatalf("connect as folio: %v", err)
	}
	for _, sql := range []string{"INSERT INTO items (id, t) VALUES (100000, now())", "CREATE TABLE mine (x int)", "DELETE FROM later"} {
		if _, err := conn.Exec(ctx, sql); err == nil {
			t.Errorf("the role folio may %s", sql)
		}
	}
	conn.Close(ctx)

	rep := pg.ReplicaAs(t, "replicator", replPW)
	// Wait until the replica has replayed the table created last.
	deadline = time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, folioURL(rep, folioPW))
		if err == nil {
			var n int
			err = conn.QueryRow(ctx, "SELECT count(*) FROM later").Scan(&n)
			conn.Close(ctx)
			if err == nil && n == 1 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica does not serve the role folio the table created last: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	node := startProcess(t, "--db", folioURL(pg, folioPW), "--replica", folioURL(rep, folioPW), "--secret", hex.EncodeToString(newKey(t)))
	base := "http://" + node.addr
	client := &http.Client{Timeout: 30 * time.Second}
	fetch := func(path string) map[string]any {
		t.Helper()
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s as the role folio: %d %v\n%s\nfolio's log:\n%s", path, resp.StatusCode, err, body, node.tail())
		}
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			t.Fatalf("GET %s: %v: %s", path, err, body)
		}
		return v
	}
	total := func(path string) any { return fetch(path)["page"].(map[string]any)["total"] }
	if got := total("/v1/items?limit=10&total=exact"); got != float64(rows) {
		t.Errorf("exact total %v, want %d", got, rows)
	}
	if got, ok := total("/v1/items?limit=10&total=estimate").(float64); !ok || got <= 0 {
		t.Errorf("estimated total %v, want a positive number", got)
	}
	if d, _ := fetch("/v1/later")["data"].([]any); len(d) != 1 {
		t.Errorf("the table created after the grants: %v rows, want 1", len(d))
	}
	n := 0
	for link := "/v1/items?sort=id&limit=50"; link != ""; {
		p := fetch(link)
		d, _ := p["data"].([]any)
		n += len(d)
		next, _ := p["links"].(map[string]any)["next"].(string)
		link = ""
		if next != "" {
			u, err := url.Parse(next)
			if err != nil {
				t.Fatal(err)
			}
			link = u.RequestURI()
		}
	}
	if n != rows {
		t.Errorf("harvested %d rows, want %d", n, rows)
	}

	// With the primary down, reads go to the replica alone.
	pg.Stop(t)
	for i := range 5 {
		fetch(fmt.Sprintf("/v1/items?sort=id&limit=7&id[gte]=%d", i*13))
	}
	fetch("/v1/items?limit=3&total=estimate")
	fetch("/v1/later")
}
