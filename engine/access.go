package engine

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"slices"
)

// Principal is who asks: anonymous (the zero value), or a subject with
// roles that the server's edge authenticated. It travels in the request's
// context (WithPrincipal) to every engine call, and a context without one
// is anonymous, so no caller can read past a collection's Access by
// forgetting to say who asks.
type Principal struct {
	Subject string   // empty: anonymous
	Roles   []string // the roles a token or a JWT grants
}

// Anonymous reports whether p is the anonymous principal.
func (p Principal) Anonymous() bool { return p.Subject == "" }

// Key is a short text that two principals share just when every rule,
// grant and field visibility treats them alike: what a cache of answers
// keys on. The anonymous principal's is "anon".
func (p Principal) Key() string {
	if p.Anonymous() {
		return "anon"
	}
	roles := slices.Clone(p.Roles)
	slices.Sort(roles)
	roles = slices.Compact(roles)
	// Each part length-prefixed, so that no subject can pass for another
	// principal's subject and roles.
	h := sha256.New()
	for _, s := range append([]string{p.Subject}, roles...) {
		h.Write(binary.AppendUvarint(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p, for every engine call made with it.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalOf returns the principal ctx carries: anonymous when none.
func PrincipalOf(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// Words of a grant list that name classes of principals rather than roles.
const (
	GrantAnonymous     = "anonymous"     // everyone, authenticated or not
	GrantAuthenticated = "authenticated" // every authenticated principal
)

// Access is a collection's grants and row rule: who may read it at all,
// which fields whom, and which rows. The engine applies it in resolve, on
// the path every page, record, count, estimate and export takes, so no
// route can read past it.
type Access struct {
	// Read lists who may read the collection: GrantAnonymous,
	// GrantAuthenticated or roles. Empty: everyone. To anyone else the
	// collection does not exist (a not-found error, as for a name that
	// names none).
	Read []string
	// Fields lists, by field name, who may see the field; fields not
	// listed are visible to every reader. A field hidden from a principal
	// is left out of its records, reads as null where a request's
	// projection names it (a dialect's fixed schema), and is an unknown
	// field to its filters and sorts.
	Fields map[string][]string
	// Rule selects the rows a principal may see; nil: every row. A record
	// outside it is not found, exactly as a missing key.
	Rule *Rule
}

// Granted reports whether p is in the grant list who (GrantAnonymous,
// GrantAuthenticated or roles).
func Granted(who []string, p Principal) bool {
	for _, w := range who {
		switch {
		case w == GrantAnonymous:
			return true
		case w == GrantAuthenticated && !p.Anonymous():
			return true
		case !p.Anonymous() && slices.Contains(p.Roles, w):
			return true
		}
	}
	return false
}

// readable reports whether p may read c at all.
func (c *Collection) readable(p Principal) bool {
	return c.Access == nil || len(c.Access.Read) == 0 || Granted(c.Access.Read, p)
}

// seen reports whether p may see field f of c: a visible field that no
// grant keeps from p.
func (c *Collection) seen(f *Field, p Principal) bool {
	if f == nil || f.Hidden {
		return false
	}
	if c.Access == nil {
		return true
	}
	who, ok := c.Access.Fields[f.Name]
	return !ok || Granted(who, p)
}

// Readable reports whether the principal of ctx may read c; a listing of
// collections leaves out those it may not.
func (e *Engine) Readable(ctx context.Context, c *Collection) bool {
	return c.readable(PrincipalOf(ctx))
}

// VisibleTo returns the fields of c that the principal of ctx may see, in
// declaration order: what a listing of c's fields shows it.
func (e *Engine) VisibleTo(ctx context.Context, c *Collection) []*Field {
	p := PrincipalOf(ctx)
	out := make([]*Field, 0, len(c.Fields))
	for _, f := range c.Fields {
		if c.seen(f, p) {
			out = append(out, f)
		}
	}
	return out
}

// access is a collection's Access resolved for one principal.
type access struct {
	p     Principal
	rule  []Cond // the row rule bound to p; nil: every row
	ruled bool   // the rule restricts p (it did not fold to true)
}

// bindAccess resolves c's Access for p: a not-found error when p may not
// read c at all.
func bindAccess(c *Collection, p Principal) (access, error) {
	a := access{p: p}
	if !c.readable(p) {
		return a, NotFoundf("no collection named %q", c.Name)
	}
	if c.Access != nil && c.Access.Rule != nil {
		a.rule, a.ruled = c.Access.Rule.Bind(p)
	}
	return a, nil
}

// field finds a field p may see, by name: nil when there is none, or it is
// hidden from p, so that the two read alike.
func (a access) field(c *Collection, name string) *Field {
	f := c.Field(name)
	if !c.seen(f, a.p) {
		return nil
	}
	return f
}
