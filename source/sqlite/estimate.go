package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"

	"folio/engine"
)

// otherSelectivity is the share of rows assumed to pass a condition the
// statistics say nothing about.
const otherSelectivity = 0.25

// Estimate estimates how many rows of c match the filters without counting
// them: the table's row count from sqlite_stat1 (written by ANALYZE),
// scaled for each equality (or in) filter on the leading column of an
// index by the rows per distinct value that stat1 records there, and by a
// fixed 1/4 for every other condition. Without statistics the row count is
// max(rowid), which deletions make an overestimate; a view, which has
// neither, is counted.
func (s *Source) Estimate(ctx context.Context, c *engine.Collection, filters []engine.Cond) (int64, error) {
	total, perValue, ok, err := s.stats(ctx, c.Table)
	if err != nil {
		return 0, err
	}
	if !ok {
		var n sql.NullInt64
		err := s.queryRow(ctx, []any{&n}, "SELECT max(rowid) FROM "+quote(c.Table))
		if err != nil {
			// No rowid: a view or a WITHOUT ROWID table.
			return s.Count(ctx, c, filters)
		}
		total = n.Int64
	}
	est := float64(total)
	key := c.KeyField()
	for _, f := range filters {
		fd := f.Field
		sel := otherSelectivity
		if fd != nil && (f.Op == engine.OpEq || f.Op == engine.OpIn) {
			switch avg, ok := perValue[fd.Column]; {
			case ok && total > 0:
				sel = min(1, float64(len(f.Values))*avg/float64(total))
			case fd == key && total > 0:
				sel = min(1, float64(len(f.Values))/float64(total))
			}
		}
		est *= sel
	}
	return int64(math.Round(est)), nil
}

// stats reads sqlite_stat1 for table: its row count and, for the leading
// column of each analysed index, the average number of rows per distinct
// value. ok is false when the table has no statistics.
func (s *Source) stats(ctx context.Context, table string) (total int64, perValue map[string]float64, ok bool, err error) {
	var exists bool
	err = s.queryRow(ctx, []any{&exists}, "SELECT count(*) > 0 FROM sqlite_schema WHERE name = 'sqlite_stat1'")
	if err != nil {
		return 0, nil, false, fmt.Errorf("estimate %s: %w", table, err)
	}
	if !exists {
		return 0, nil, false, nil
	}
	h, err := s.acquire(ctx)
	if err != nil {
		return 0, nil, false, fmt.Errorf("estimate %s: %w", table, err)
	}
	defer func() { err = h.release(err) }()
	rows, err := h.db.QueryContext(h.ctx, `SELECT st.stat,
		(SELECT ii.name FROM pragma_index_info(st.idx) AS ii WHERE ii.seqno = 0)
		FROM sqlite_stat1 AS st WHERE st.tbl = ?`, table)
	if err != nil {
		return 0, nil, false, fmt.Errorf("estimate %s: %w", table, err)
	}
	defer rows.Close()
	perValue = map[string]float64{}
	for rows.Next() {
		var stat string
		var lead sql.NullString
		if err := rows.Scan(&stat, &lead); err != nil {
			return 0, nil, false, fmt.Errorf("estimate %s: %w", table, err)
		}
		// stat is "rows avg1 avg2 ... [unordered] [sz=N]"; the numbers come first.
		fs := strings.Fields(stat)
		if len(fs) == 0 {
			continue
		}
		n, err := strconv.ParseInt(fs[0], 10, 64)
		if err != nil {
			continue
		}
		ok = true
		total = max(total, n)
		if lead.Valid && len(fs) > 1 {
			if avg, err := strconv.ParseFloat(fs[1], 64); err == nil {
				if old, seen := perValue[lead.String]; !seen || avg < old {
					perValue[lead.String] = avg
				}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, false, fmt.Errorf("estimate %s: %w", table, err)
	}
	return total, perValue, ok, nil
}
