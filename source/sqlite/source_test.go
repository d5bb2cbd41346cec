package sqlite

import (
	"context"
	"database/sql"
	"testing"
)

// TestMmapSize: every read connection maps the file as configured, and a
// negative size turns the mapping off.
func TestMmapSize(t *testing.T) {
	path := newDB(t, "CREATE TABLE t (id INTEGER PRIMARY KEY)")
	for _, tc := range []struct {
		opt  int64
		want int64
	}{{0, defaultMmapBytes}, {-1, 0}, {4 << 20, 4 << 20}} {
		s, err := Open(context.Background(), path, Options{MmapBytes: tc.opt, MaxConns: 2})
		if err != nil {
			t.Fatal(err)
		}
		// Two connections at once, so both of the pool's are asked.
		ctx := context.Background()
		c1, err := s.pools.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := s.pools.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range []*sql.Conn{c1, c2} {
			var got int64
			if err := c.QueryRowContext(ctx, "PRAGMA mmap_size").Scan(&got); err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("MmapBytes %d: connection %d maps %d bytes, want %d", tc.opt, i, got, tc.want)
			}
		}
		c1.Close()
		c2.Close()
		s.Close()
	}
}
