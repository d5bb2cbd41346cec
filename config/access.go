package config

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"time"

	"folio/engine"
)

// Access is a collection's grants and row rule (engine.Access):
//
//	access:
//	  read: [authenticated]          # who may read it: anonymous, authenticated or roles
//	  fields:
//	    email: [admin]               # who may see a field; others read it as absent
//	  rule: public = true OR owner = $subject OR $subject IN shared_with
type Access struct {
	Read   []string            `yaml:"read"`
	Fields map[string][]string `yaml:"fields"`
	Rule   string              `yaml:"rule"`
}

// Auth is the auth section: how principals prove who they are.
type Auth struct {
	// Tokens is the file of API tokens (folio token create); empty: beside
	// the database (FOLIO_DB.folio-tokens).
	Tokens string `yaml:"tokens"`
	// JWT configures bearer JWTs; absent: JWTs are not accepted.
	JWT *JWT `yaml:"jwt"`
	// Failures bounds the failed authentications each client address may
	// make (a rate, as rate_limit); absent: DefaultAuthFailures.
	Failures *Rate `yaml:"failures"`
}

// JWT says which keys sign the JWTs folio accepts and how their claims
// name the principal.
type JWT struct {
	// SecretFile holds the HS256 secret (its bytes, a trailing newline
	// dropped).
	SecretFile string `yaml:"secret_file"`
	// PublicKeys are PEM files of RS256 or ES256 public keys.
	PublicKeys []string `yaml:"public_keys"`
	// JWKSFile is a JSON Web Key Set of RS256 or ES256 keys, chosen by kid.
	JWKSFile string `yaml:"jwks_file"`
	// Issuer and Audience, when set, must match the iss and aud claims.
	Issuer   string `yaml:"issuer"`
	Audience string `yaml:"audience"`
	// SubjectClaim names the claim that is the subject (default "sub");
	// RolesClaim the claim that lists the roles, a dotted path into nested
	// objects such as realm_access.roles (default "roles").
	SubjectClaim string `yaml:"subject_claim"`
	RolesClaim   string `yaml:"roles_claim"`
	// Leeway allows for clocks that differ, in exp and nbf.
	Leeway time.Duration `yaml:"leeway"`
}

// DefaultAuthFailures is how many failed authentications a client address
// may make: 10 a minute, in bursts of 10.
var DefaultAuthFailures = Rate{Requests: 10, Per: time.Minute, Burst: 10}

// AuthFailures returns the rate of failed authentications allowed.
func (c *Config) AuthFailures() Rate {
	if c == nil || c.Auth.Failures == nil {
		return DefaultAuthFailures
	}
	r := *c.Auth.Failures
	if r.Burst == 0 {
		r.Burst = r.Requests
	}
	return r
}

func (c *Config) validateAuth() error {
	if c.Auth.Failures != nil {
		if err := c.Auth.Failures.validate(); err != nil {
			return c.errorf("auth", "auth: failures: %v", err)
		}
	}
	j := c.Auth.JWT
	if j == nil {
		return nil
	}
	if j.SecretFile == "" && len(j.PublicKeys) == 0 && j.JWKSFile == "" {
		return c.errorf("auth", "auth: jwt: name the keys that sign tokens: secret_file (HS256), public_keys (PEM, RS256 or ES256) or jwks_file")
	}
	if j.Leeway < 0 {
		return c.errorf("auth", "auth: jwt: leeway must not be negative, got %v", j.Leeway)
	}
	return nil
}

// validateAccess checks what a collection's access says without the
// collection: its grant lists.
func (c *Config) validateAccess(name string, a *Access) error {
	at := "collections." + name + ".access"
	check := func(what string, who []string) error {
		for _, w := range who {
			if strings.TrimSpace(w) == "" || w != strings.TrimSpace(w) {
				return c.errorf(at, "collection %q: access: %s: %q is no role", name, what, w)
			}
		}
		return nil
	}
	if err := check("read", a.Read); err != nil {
		return err
	}
	for _, f := range slices.Sorted(maps.Keys(a.Fields)) {
		if len(a.Fields[f]) == 0 {
			return c.errorf(at+".fields."+f, "collection %q: access: fields: %q lists no one; hide the field instead (hidden)", name, f)
		}
		if err := check("fields: "+f, a.Fields[f]); err != nil {
			return err
		}
	}
	return nil
}

// applyAccess compiles a collection's access against its fields.
// A discovered default sort that names a field some may not see is
// dropped; a configured one is an error.
func (c *Config) applyAccess(col *engine.Collection, a *Access, sortConfigured bool) error {
	name := col.Name
	at := "collections." + name + ".access"
	out := &engine.Access{Read: slices.Clone(a.Read), Fields: map[string][]string{}}
	for _, f := range slices.Sorted(maps.Keys(a.Fields)) {
		fd := col.Field(f)
		switch {
		case fd == nil:
			return c.errorf(at+".fields."+f, "collection %q: access: fields: no visible field %q", name, f)
		case slices.Contains(col.Key, f):
			return c.errorf(at+".fields."+f, "collection %q: access: fields: %q is the key, which every record carries", name, f)
		case slices.ContainsFunc(col.DefaultSort, func(k engine.SortKey) bool { return k.Field == f }):
			if sortConfigured {
				return c.errorf(at+".fields."+f, "collection %q: access: fields: %q is in the default sort, which every reader uses; sort by another field", name, f)
			}
			col.DefaultSort = nil // the discovered sort: the key's order instead
		}
		out.Fields[f] = slices.Clone(a.Fields[f])
	}
	if strings.TrimSpace(a.Rule) != "" {
		rule, err := engine.ParseRule(col, a.Rule)
		if err != nil {
			var re *engine.RuleError
			if errors.As(err, &re) {
				return c.errorf(at+".rule", "collection %q: access: rule: at character %d: %s", name, re.Offset+1, re.Message)
			}
			return c.errorf(at+".rule", "collection %q: access: %v", name, err)
		}
		out.Rule = rule
	}
	col.Access = out
	return nil
}
