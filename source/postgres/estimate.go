package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"folio/engine"
	"folio/source/sqlgen"
)

// Estimate estimates how many rows of c match the filters without counting
// them. A whole table answers with pg_class.reltuples, the row count
// VACUUM and ANALYZE (and autovacuum) keep; anything else, or a table never
// analysed, with the planner's row estimate for the filtered query
// (EXPLAIN, which reads statistics and runs nothing).
func (s *Source) Estimate(ctx context.Context, c *engine.Collection, filters []engine.Cond) (int64, error) {
	if s.rlsRole != "" {
		// The statistics count the rows the policies hide.
		return s.Count(ctx, c, filters)
	}
	if len(filters) == 0 {
		schema, bare := s.split(c.Table)
		var n float64
		err := s.read(ctx, func(a attempt) error {
			return a.pool.QueryRow(a.ctx, `SELECT CASE WHEN relkind IN ('r', 'm') THEN reltuples ELSE -1 END
				FROM pg_class WHERE oid = $1::regclass`, quote(schema)+"."+quote(bare)).Scan(&n)
		}, nil)
		if err != nil {
			return 0, fmt.Errorf("estimate %s: %w", c.Table, err)
		}
		if n >= 0 {
			return int64(math.Round(n)), nil
		}
	}
	query, args, err := sqlgen.SelectWhere(ctx, dialect{s}, c, "1", filters)
	if err != nil {
		return 0, err
	}
	var out []byte
	err = s.read(ctx, func(a attempt) error {
		return a.pool.QueryRow(a.ctx, "EXPLAIN (FORMAT JSON) "+query, args...).Scan(&out)
	}, nil)
	if err != nil {
		return 0, fmt.Errorf("estimate %s: %w", c.Table, err)
	}
	var plan []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		}
	}
	if err := json.Unmarshal(out, &plan); err != nil || len(plan) == 0 {
		return 0, fmt.Errorf("estimate %s: unreadable plan %q: %v", c.Table, out, err)
	}
	return int64(math.Round(plan[0].Plan.Rows)), nil
}
