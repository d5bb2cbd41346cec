package config

import (
	"strings"
	"testing"

	"folio/engine"
)

func TestAccessErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown rule field", "collections:\n  items:\n    access:\n      rule: owner = $subject\n", `line 4: collection "items": access: rule: at character 1: collection "items" has no field "owner"`},
		{"rule syntax", "collections:\n  items:\n    access:\n      read: [authenticated]\n      rule: title = \n", `line 5: collection "items": access: rule: at character 8: expected a value`},
		{"rule type", "collections:\n  items:\n    access:\n      rule: id = 'x'\n", `line 4: collection "items": access: rule: at character 6: field "id" is integer`},
		{"field grant unknown", "collections:\n  items:\n    access:\n      fields:\n        title: [admin]\n        nope: [admin]\n", `line 6: collection "items": access: fields: no visible field "nope"`},
		{"field grant key", "collections:\n  items:\n    access:\n      fields:\n        id: [admin]\n", `line 5: collection "items": access: fields: "id" is the key`},
		{"field grant sorted", "collections:\n  items:\n    default_sort: title\n    access:\n      fields:\n        title: [admin]\n", `line 6: collection "items": access: fields: "title" is in the default sort`},
		{"field grant empty", "collections:\n  items:\n    access:\n      fields:\n        title: []\n", `line 5: collection "items": access: fields: "title" lists no one`},
		{"blank role", "collections:\n  items:\n    access:\n      read: [\" \"]\n", `line 3: collection "items": access: read: " " is no role`},
		{"unknown access key", "collections:\n  items:\n    access:\n      rules: x\n", "line 4"},
		{"jwt without keys", "auth:\n  jwt:\n    issuer: x\n", "line 1: auth: jwt: name the keys"},
		{"failures rate", "auth:\n  failures: {requests: 0, per: 1m}\n", "line 1: auth: failures: requests must be 1 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), "test.yaml")
			if err == nil {
				_, err = Apply(discovered(), c)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestAccessApply(t *testing.T) {
	c, err := Parse([]byte(`collections:
  items:
    hidden: [secret]
    access:
      read: [authenticated]
      fields:
        title: [admin]
      rule: secret = $subject OR 'admin' IN $roles OR $subject IN tags
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cols, err := Apply(discovered(), c)
	if err != nil {
		t.Fatal(err)
	}
	a := cols[0].Access
	if a == nil || a.Rule == nil || a.Read[0] != engine.GrantAuthenticated || a.Fields["title"][0] != "admin" {
		t.Fatalf("access = %+v", a)
	}
	// The rule may test a hidden field; bound to a subject it compares it.
	conds, ruled := a.Rule.Bind(engine.Principal{Subject: "ann"})
	if !ruled || len(conds) != 1 || !strings.Contains(conds[0].String(), "secret[eq]=ann") || !strings.Contains(conds[0].String(), "tags[any]=ann") {
		t.Fatalf("bound to ann: %v", conds)
	}
	if _, ruled := a.Rule.Bind(engine.Principal{Subject: "root", Roles: []string{"admin"}}); ruled {
		t.Fatal("the admin role does not lift the rule")
	}
	if cols[1].Access != nil {
		t.Fatal("a collection without access has some")
	}
}
