// Command driverbench times the two candidate SQLite drivers on the same
// workload: loading a realistic 1M-row table, a 100-row keyset page query
// repeated at random depths, and a full ordered scan reading every column.
// It lives in its own module so the main module depends only on the winner.
//
//	cd tools/driverbench && go run . -rows 1000000
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers "sqlite3"
	_ "modernc.org/sqlite"          // registers "sqlite"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "rows to load")
	pages := flag.Int("pages", 2000, "keyset page queries to time")
	dir := flag.String("dir", os.TempDir(), "directory for the database files")
	only := flag.String("driver", "", "run only this driver (sqlite3 or sqlite)")
	flag.Parse()
	log.SetFlags(0)
	fmt.Printf("%-8s %10s %12s %14s %14s\n", "driver", "rows", "load", "page (µs)", "scan rows/s")
	for _, drv := range []string{"sqlite3", "sqlite"} {
		if *only != "" && *only != drv {
			continue
		}
		path := filepath.Join(*dir, "driverbench-"+drv+".db")
		for _, suf := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suf)
		}
		r, err := run(drv, path, *rows, *pages)
		if err != nil {
			log.Fatalf("%s: %v", drv, err)
		}
		fmt.Printf("%-8s %10d %12s %14.1f %14.0f\n", drv, *rows, r.load.Round(time.Millisecond),
			float64(r.page.Microseconds())/float64(*pages), float64(r.scanRows)/r.scan.Seconds())
		for _, suf := range []string{"", "-wal", "-shm"} {
			os.Remove(path + suf)
		}
	}
}

type result struct {
	load, page, scan time.Duration
	scanRows         int
}

const schema = `CREATE TABLE entries (
	id INTEGER PRIMARY KEY,
	entry_id TEXT NOT NULL,
	upload_create_time DATETIME NOT NULL,
	formula TEXT NOT NULL,
	band_gap REAL,
	n_atoms INTEGER NOT NULL,
	elements JSON NOT NULL,
	published BOOLEAN NOT NULL
)`

const perStmt = 100 // rows per INSERT statement (8 columns: 800 parameters)

func run(drv, path string, n, pages int) (result, error) {
	var r result
	ctx := context.Background()
	db, err := sql.Open(drv, "file:"+path)
	if err != nil {
		return r, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, p := range []string{"PRAGMA journal_mode=WAL", "PRAGMA synchronous=OFF", "PRAGMA busy_timeout=5000", "PRAGMA cache_size=-65536"} {
		if _, err := db.Exec(p); err != nil {
			return r, fmt.Errorf("%s: %w", p, err)
		}
	}
	if _, err := db.Exec(schema); err != nil {
		return r, err
	}

	// Load: multi-row prepared INSERTs inside transactions of 100k rows.
	start := time.Now()
	stmt := "INSERT INTO entries VALUES " + strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?),", perStmt), ",")
	rng := rand.New(rand.NewPCG(1, 2))
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	elems := []string{`["Ti","O"]`, `["Si"]`, `["Fe","Ni","Co"]`, `["Li","Mn","O"]`, `["Ga","As"]`}
	args := make([]any, 0, perStmt*8)
	var tx *sql.Tx
	var ps *sql.Stmt
	uploadLeft, t := 0, base
	for i := 0; i < n; i++ {
		if i%100_000 == 0 {
			if tx != nil {
				if err := tx.Commit(); err != nil {
					return r, err
				}
			}
			if tx, err = db.Begin(); err != nil {
				return r, err
			}
			if ps, err = tx.Prepare(stmt); err != nil {
				return r, err
			}
		}
		if uploadLeft == 0 { // uploads of 1..500 entries share one timestamp
			uploadLeft = 1 + rng.IntN(500)
			t = t.Add(time.Duration(rng.IntN(3600)) * time.Second)
		}
		uploadLeft--
		var gap any
		if rng.IntN(10) >= 3 {
			gap = rng.Float64() * 8
		}
		args = append(args, int64(i+1), fmt.Sprintf("e%09x", rng.Uint64()>>28),
			t.Format("2006-01-02T15:04:05.000000Z"), fmt.Sprintf("Ti%dO%d", 1+rng.IntN(8), 1+rng.IntN(16)),
			gap, int64(1+rng.IntN(200)), elems[rng.IntN(len(elems))], int64(rng.IntN(10)/9^1))
		if len(args) == cap(args) || i == n-1 {
			if len(args) != cap(args) {
				last := "INSERT INTO entries VALUES " + strings.TrimSuffix(strings.Repeat("(?,?,?,?,?,?,?,?),", len(args)/8), ",")
				if _, err := tx.Exec(last, args...); err != nil {
					return r, err
				}
			} else if _, err := ps.Exec(args...); err != nil {
				return r, err
			}
			args = args[:0]
		}
	}
	if err := tx.Commit(); err != nil {
		return r, err
	}
	if _, err := db.Exec("CREATE INDEX entries_time ON entries(upload_create_time, id)"); err != nil {
		return r, err
	}
	if _, err := db.Exec("ANALYZE"); err != nil {
		return r, err
	}
	r.load = time.Since(start)
	db.Close()

	rdb, err := sql.Open(drv, "file:"+path)
	if err != nil {
		return r, err
	}
	defer rdb.Close()
	rdb.SetMaxOpenConns(4)
	rdb.SetMaxIdleConns(4)

	// Boundaries for the keyset pages, read once, at random depths.
	type bound struct {
		t  any
		id int64
	}
	var bounds []bound
	brows, err := rdb.QueryContext(ctx, "SELECT upload_create_time, id FROM entries WHERE id % 997 = 0")
	if err != nil {
		return r, err
	}
	for brows.Next() {
		var b bound
		var s sql.RawBytes
		if err := brows.Scan(&s, &b.id); err != nil {
			return r, err
		}
		b.t = string(s)
		bounds = append(bounds, b)
	}
	if err := brows.Err(); err != nil {
		return r, err
	}
	page := `SELECT id, entry_id, upload_create_time, formula, band_gap, n_atoms, elements, published FROM entries
		WHERE upload_create_time <= ? AND (upload_create_time < ? OR (upload_create_time = ? AND id < ?))
		ORDER BY upload_create_time DESC, id DESC LIMIT 101`
	vals := make([]any, 8)
	ptrs := make([]any, 8)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	start = time.Now()
	for i := 0; i < pages; i++ {
		b := bounds[i*7919%len(bounds)]
		rows, err := rdb.QueryContext(ctx, page, b.t, b.t, b.t, b.id)
		if err != nil {
			return r, err
		}
		got := 0
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				return r, err
			}
			got++
		}
		if err := rows.Err(); err != nil {
			return r, err
		}
		rows.Close()
		if got == 0 && b.id > 200 {
			return r, fmt.Errorf("page after %v returned no rows", b)
		}
	}
	r.page = time.Since(start)

	start = time.Now()
	rows, err := rdb.QueryContext(ctx, "SELECT id, entry_id, upload_create_time, formula, band_gap, n_atoms, elements, published FROM entries ORDER BY id")
	if err != nil {
		return r, err
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return r, err
		}
		r.scanRows++
	}
	if err := rows.Err(); err != nil {
		return r, err
	}
	r.scan = time.Since(start)
	if r.scanRows != n {
		return r, fmt.Errorf("scan read %d rows, want %d", r.scanRows, n)
	}
	return r, nil
}
