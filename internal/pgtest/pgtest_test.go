package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestStart checks that every call gets its own, working database.
func TestStart(t *testing.T) {
	ctx := context.Background()
	seen := map[string]bool{}
	for range 2 {
		u := Start(t)
		if seen[u] {
			t.Fatalf("database %s handed out twice", u)
		}
		seen[u] = true
		conn, err := pgx.Connect(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, "CREATE TABLE x (id int PRIMARY KEY)"); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := conn.QueryRow(ctx, "SELECT count(*) FROM x").Scan(&n); err != nil || n != 0 {
			t.Fatalf("count = %d, %v", n, err)
		}
		conn.Close(ctx)
	}
}

// TestCollation checks that a database's default text order is linguistic,
// so that tests relying on byte order must ask for it.
func TestCollation(t *testing.T) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, Start(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var linguistic, bytewise bool
	if err := conn.QueryRow(ctx, `SELECT 'a' < 'B', 'a' < 'B' COLLATE "C"`).Scan(&linguistic, &bytewise); err != nil {
		t.Fatal(err)
	}
	if !linguistic || bytewise {
		t.Fatalf("'a' < 'B': default %v, C %v; want true, false", linguistic, bytewise)
	}
}
