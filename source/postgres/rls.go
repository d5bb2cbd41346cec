package postgres

import (
	"context"
	"encoding/json"

	"github.com/jackc/pgx/v5"

	"folio/engine"
)

// querier is what a statement runs on: a pool, or the transaction that
// carries the request's role and claims.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// claimsSQL sets, for one transaction, the role statements run as and the
// principal's claims, as PostgREST does, so that the database's own row
// level security policies (USING (owner = current_setting(
// 'request.jwt.claims', true)::json->>'sub')) apply to folio's reads.
const claimsSQL = `SELECT set_config('role', $1, true), set_config('request.jwt.claims', $2, true)`

// as runs f on a's pool, or, with Options.RLSRole, in a read-only
// transaction as that role with the principal of ctx's claims.
func (s *Source) as(ctx context.Context, a attempt, f func(q querier) error) error {
	if s.rlsRole == "" {
		return f(a.pool)
	}
	tx, err := a.pool.BeginTx(a.ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(a.ctx))
	if _, err := tx.Exec(a.ctx, claimsSQL, s.rlsRole, claims(engine.PrincipalOf(ctx), s.rlsRole)); err != nil {
		return err
	}
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit(a.ctx)
}

// claims are a principal's claims as request.jwt.claims holds them: sub
// (absent for the anonymous principal), roles, and role.
func claims(p engine.Principal, role string) string {
	c := map[string]any{"role": role, "roles": p.Roles}
	if p.Roles == nil {
		c["roles"] = []string{}
	}
	if !p.Anonymous() {
		c["sub"] = p.Subject
	}
	b, _ := json.Marshal(c) // strings and a list of strings always marshal
	return string(b)
}
