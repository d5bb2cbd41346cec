package engine

import (
	"strings"
	"testing"
)

func ruleCollection() *Collection {
	return &Collection{Name: "docs", Key: []string{"id"}, Fields: []*Field{
		{Name: "id", Type: TypeInt, Sortable: true, Filterable: true},
		{Name: "owner", Type: TypeText, Nullable: true, Filterable: true},
		{Name: "public", Type: TypeBool, Filterable: true},
		{Name: "shared_with", Type: TypeJSON, Nullable: true, Filterable: true},
		{Name: "level", Type: TypeInt, Filterable: true},
		{Name: "embargo", Type: TypeTime, Nullable: true, Hidden: true},
		{Name: "odd name", Type: TypeText, Filterable: true},
	}}
}

func TestParseRuleErrors(t *testing.T) {
	tests := []struct{ rule, want string }{
		{"", "the rule is empty"},
		{"owner = ", "at character 9: expected a value for field \"owner\", found end of rule"},
		{"nobody = 1", "at character 1: collection \"docs\" has no field \"nobody\""},
		{"level = 'x'", "field \"level\" is integer: write the value without quotes"},
		{"level = x1", "expected a value for field \"level\""},
		{"public = 3", "field \"public\""},
		{"shared_with = 'a'", "field \"shared_with\" is a JSON array"},
		{"'a' IN owner", "field \"owner\" is not a JSON array"},
		{"owner = $roles", "for roles write owner IN $roles"},
		{"public = $subject", "field \"public\" is boolean: $subject compares with text or integer fields"},
		{"$user = owner", "unknown parameter \"$user\""},
		{"owner = 'a", "unterminated quote"},
		{"owner = 'a' AND", "expected a field, a value or a parameter, found end of rule"},
		{"(owner = 'a'", "expected ')'"},
		{"owner = 'a' owner = 'b'", "at character 13: unexpected \"owner\""},
		{"owner = NULL", "write owner IS NULL"},
		{"owner ! 'a'", "'!' must be followed by '='"},
		{"1 IN $roles", "IN $roles takes a role in quotes"},
		{"owner IN $subject", "IN takes a list of values or $roles"},
		{"owner ~ 'a'", "unexpected character '~'"},
		{strings.Repeat("NOT ", 40) + "public = true", "nests more than"},
		{strings.Repeat("public = true OR ", 70) + "public = true", "more than 64 tests"},
	}
	c := ruleCollection()
	for _, tt := range tests {
		_, err := ParseRule(c, tt.rule)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseRule(%q) = %v, want an error containing %q", tt.rule, err, tt.want)
		}
	}
}

func TestRuleBind(t *testing.T) {
	c := ruleCollection()
	anon := Principal{}
	ann := Principal{Subject: "ann", Roles: []string{"staff"}}
	admin := Principal{Subject: "root", Roles: []string{"admin"}}
	tests := []struct {
		rule  string
		p     Principal
		want  string // the conditions, joined; "" with ruled false: every row
		ruled bool
	}{
		{"public = true OR owner = $subject OR $subject IN shared_with", anon, "public[eq]=true", true},
		{"public = true OR owner = $subject OR $subject IN shared_with", ann, "or((public[eq]=true), (owner[eq]=ann), (shared_with[any]=ann))", true},
		{"public = true OR 'admin' IN $roles", admin, "", false},
		{"public = true AND 'admin' IN $roles", ann, "or()", true},
		{"$subject IS NOT NULL", ann, "", false},
		{"$subject IS NOT NULL", anon, "or()", true},
		{"NOT ($subject IS NULL) AND level >= 2", ann, "level[gte]=2", true},
		{"owner IN $roles", ann, "owner[in]=staff", true},
		{"owner IN $roles", anon, "or()", true},
		{"owner NOT IN ('a', 'b''c')", anon, "not((owner[in]=a,b'c))", true},
		{"$roles IN shared_with", admin, "shared_with[any]=admin", true},
		{"level = $subject", ann, "or()", true}, // "ann" is no integer
		{"level = $subject", Principal{Subject: "7"}, "level[eq]=7", true},
		{"embargo IS NULL or embargo < '2024-01-01T00:00:00Z'", anon, "or((embargo[null]=true), (embargo[lt]=2024-01-01T00:00:00Z))", true},
		{`"odd name" = 'x' and Public = TRUE`, anon, "", true},
	}
	for _, tt := range tests {
		r, err := ParseRule(c, tt.rule)
		if tt.rule == `"odd name" = 'x' and Public = TRUE` {
			// Field names are case-sensitive; keywords are not.
			if err == nil || !strings.Contains(err.Error(), `no field "Public"`) {
				t.Errorf("%q: %v", tt.rule, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseRule(%q): %v", tt.rule, err)
			continue
		}
		conds, ruled := r.Bind(tt.p)
		parts := make([]string, len(conds))
		for i, c := range conds {
			parts[i] = c.String()
		}
		if got := strings.Join(parts, " and "); got != tt.want || ruled != tt.ruled {
			t.Errorf("%q bound to %+v = %q (ruled %v), want %q (ruled %v)", tt.rule, tt.p, got, ruled, tt.want, tt.ruled)
		}
	}
}

func TestPrincipalKey(t *testing.T) {
	a := Principal{Subject: "ann", Roles: []string{"b", "a"}}
	b := Principal{Subject: "ann", Roles: []string{"a", "b", "a"}}
	if a.Key() != b.Key() {
		t.Error("the order of roles changes the key")
	}
	if a.Key() == (Principal{Subject: "ann"}).Key() || (Principal{Subject: "ann", Roles: []string{"b"}}).Key() == (Principal{Subject: "ann\x01b"}).Key() {
		t.Error("principals treated otherwise share a key")
	}
	if (Principal{}).Key() != "anon" {
		t.Error("anonymous key")
	}
}
