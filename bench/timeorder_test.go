package bench

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"folio/source/sqlite"
)

// BenchmarkTimeOrder measures what serving a time column stored in several
// layouts in time order would cost: the 100-row keyset page of entries in
// the default order (-upload_create_time, then entry_id) at the start and
// after row 999,800, ordered and sought by the column itself (what folio
// does, through the index on (upload_create_time, entry_id)) and by
// julianday(upload_create_time), which reads every layout SQLite knows as
// one number. The expression has no index, so SQLite reads the whole
// table and sorts it for every page; EXPLAIN QUERY PLAN of both is
// logged. This is why a column with two layouts is published as text
// (source/sqlite, timeColumn) rather than sorted by a normalised time.
//
//	go test ./bench -run '^$' -bench TimeOrder -benchtime 3x
func BenchmarkTimeOrder(b *testing.B) {
	path := demoDB(b)
	db, err := sql.Open("sqlite3", "file:"+path+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1) // the pragma below holds for this connection
	if _, err := db.Exec("PRAGMA mmap_size=1073741824"); err != nil {
		b.Fatal(err)
	}
	var bt, bid string
	// The 200th row from the end of the order: the page after it is the
	// deepest full page, as in BenchmarkKeysetDepth.
	if err := db.QueryRow(`SELECT upload_create_time, entry_id FROM entries ORDER BY upload_create_time, entry_id LIMIT 1 OFFSET 199`).Scan(&bt, &bid); err != nil {
		b.Fatal(err)
	}
	const cols = bareColumns
	queries := map[string]struct {
		sql  string
		args []any
	}{
		"column first":    {`SELECT ` + cols + ` FROM entries ORDER BY upload_create_time DESC, entry_id DESC LIMIT 101`, nil},
		"column deep":     {`SELECT ` + cols + ` FROM entries WHERE (upload_create_time, entry_id) < (?, ?) ORDER BY upload_create_time DESC, entry_id DESC LIMIT 101`, []any{bt, bid}},
		"julianday first": {`SELECT ` + cols + ` FROM entries ORDER BY julianday(upload_create_time) DESC, entry_id DESC LIMIT 101`, nil},
		"julianday deep":  {`SELECT ` + cols + ` FROM entries WHERE (julianday(upload_create_time), entry_id) < (julianday(?), ?) ORDER BY julianday(upload_create_time) DESC, entry_id DESC LIMIT 101`, []any{bt, bid}},
	}
	for _, name := range []string{"column deep", "julianday deep"} {
		q := queries[name]
		plan, err := explain(db, q.sql, q.args...)
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("%s: %s", name, plan)
		if byIndex := !strings.Contains(plan, "TEMP B-TREE"); byIndex != (name == "column deep") {
			b.Errorf("%s: unexpected plan %s", name, plan)
		}
	}
	page := func(name string) time.Duration {
		q := queries[name]
		start := time.Now()
		rows, err := db.QueryContext(context.Background(), q.sql, q.args...)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil || n != 101 {
			b.Fatalf("%s: %d rows, %v", name, n, err)
		}
		return time.Since(start)
	}
	names := []string{"column first", "column deep", "julianday first", "julianday deep"}
	for _, n := range names { // warm the caches
		page(n)
	}
	total := map[string]time.Duration{}
	b.ResetTimer()
	for range b.N {
		for _, n := range names {
			total[n] += page(n)
		}
	}
	per := func(n string) float64 { return float64(total[n].Microseconds()) / float64(b.N) }
	b.ReportMetric(per("column first"), "column_first_µs/page")
	b.ReportMetric(per("column deep"), "column_deep_µs/page")
	b.ReportMetric(per("julianday first")/1000, "julianday_first_ms/page")
	b.ReportMetric(per("julianday deep")/1000, "julianday_deep_ms/page")
	b.ReportMetric(per("julianday deep")/per("column deep"), "deep_ratio")
}

// explain returns SQLite's query plan for query, one detail a line.
func explain(db *sql.DB, query string, args ...any) (string, error) {
	rows, err := db.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	var parts []string
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			return "", err
		}
		parts = append(parts, detail)
	}
	return strings.Join(parts, "; "), rows.Err()
}

// BenchmarkTimeDiscovery measures what discovery costs on the 1M-row demo
// database: opening it and reading the schema of its four collections,
// which reads every time column once to find a second layout (nine time
// columns, 3.1M values).
//
//	go test ./bench -run '^$' -bench TimeDiscovery -benchtime 5x
func BenchmarkTimeDiscovery(b *testing.B) {
	path := demoDB(b)
	ctx := context.Background()
	discover := func() time.Duration {
		start := time.Now()
		src, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer src.Close()
		cols, err := src.Collections(ctx)
		if err != nil || len(cols) != 4 {
			b.Fatal(fmt.Errorf("%d collections: %w", len(cols), err))
		}
		return time.Since(start)
	}
	discover() // warm the file cache
	var d time.Duration
	b.ResetTimer()
	for range b.N {
		d += discover()
	}
	b.ReportMetric(float64(d.Milliseconds())/float64(b.N), "ms/discovery")
}
