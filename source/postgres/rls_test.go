package postgres

import (
	"context"
	"slices"
	"testing"

	"folio/engine"
)

// TestRowLevelSecurity: with RLSRole, reads run as that role with the
// request's principal in request.jwt.claims, so a real row level security
// policy decides the rows: pages, counts and estimates alike, and the
// anonymous principal sees what the policy gives a request without a
// subject.
func TestRowLevelSecurity(t *testing.T) {
	u := newDB(t,
		`CREATE TABLE docs (id int PRIMARY KEY, owner text, body text NOT NULL)`,
		`INSERT INTO docs VALUES (1, 'ann', 'a1'), (2, 'bob', 'b1'), (3, 'ann', 'a2'), (4, NULL, 'public'), (5, 'cy', 'c1')`,
		`ALTER TABLE docs ENABLE ROW LEVEL SECURITY`,
		`DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'folio_web') THEN CREATE ROLE folio_web NOLOGIN; END IF; END $$`,
		`GRANT SELECT ON docs TO folio_web`,
		`CREATE POLICY own ON docs FOR SELECT TO folio_web USING (owner IS NULL OR owner = current_setting('request.jwt.claims', true)::json->>'sub' OR (current_setting('request.jwt.claims', true)::jsonb->'roles') ? 'admin')`,
	)
	ctx := context.Background()
	plain := openSource(t, u, Options{})
	s := openSource(t, u, Options{RLSRole: "folio_web"})
	c := collection(t, s, "docs")
	ids := func(src *Source, p engine.Principal) []int64 {
		t.Helper()
		var out []int64
		plan := &engine.Plan{Collection: c, Columns: c.Fields, Order: []engine.OrderKey{{Field: c.KeyField()}}}
		err := src.Query(engine.WithPrincipal(ctx, p), plan, func(r engine.Row) error {
			out = append(out, r[0].(int64))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, tc := range []struct {
		p    engine.Principal
		want []int64
	}{
		{engine.Principal{Subject: "ann"}, []int64{1, 3, 4}},
		{engine.Principal{Subject: "bob"}, []int64{2, 4}},
		{engine.Principal{}, []int64{4}},
		{engine.Principal{Subject: "root", Roles: []string{"admin"}}, []int64{1, 2, 3, 4, 5}},
	} {
		if got := ids(s, tc.p); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: rows %v, want %v", tc.p, got, tc.want)
		}
		pctx := engine.WithPrincipal(ctx, tc.p)
		if n, err := s.Count(pctx, c, nil); err != nil || n != int64(len(tc.want)) {
			t.Errorf("%+v: count %d, %v, want %d", tc.p, n, err, len(tc.want))
		}
		if n, err := s.Estimate(pctx, c, nil); err != nil || n != int64(len(tc.want)) {
			t.Errorf("%+v: estimate %d, %v, want the exact %d", tc.p, n, err, len(tc.want))
		}
	}
	// Without RLSRole folio's login role (the table's owner here) reads
	// every row: the policy is the database's, applied as that role.
	if got := ids(plain, engine.Principal{}); len(got) != 5 {
		t.Errorf("without RLSRole: rows %v", got)
	}
}
