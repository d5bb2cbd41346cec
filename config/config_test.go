package config

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"folio/engine"
)

func discovered() []*engine.Collection {
	return []*engine.Collection{
		{Name: "items", Table: "items", Key: []string{"id"}, Fields: []*engine.Field{
			{Name: "id", Column: "id", Type: engine.TypeInt, Sortable: true, Filterable: true},
			{Name: "title", Column: "title", Type: engine.TypeText, Sortable: true, Filterable: true},
			{Name: "secret", Column: "secret", Type: engine.TypeText, Sortable: true, Filterable: true},
			{Name: "tags", Column: "tags", Type: engine.TypeJSON, Filterable: true},
		}},
		{Name: "log", Table: "log", Fields: []*engine.Field{
			{Name: "code", Column: "code", Type: engine.TypeText, Sortable: true, Filterable: true},
			{Name: "at", Column: "at", Type: engine.TypeTime, Nullable: true, Sortable: true, Filterable: true},
		}},
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "collections:\n  items:\n    hiden: [secret]\n", "line 3"},
		{"unknown top key", "colections: {}\n", "line 1"},
		{"unknown dialect", "mounts:\n  - dialect: nomad2\n    path: /x\n    collection: items\n", `line 2: mount 1: unknown dialect "nomad2"`},
		{"path without slash", "mounts:\n  - dialect: native\n    path: v1\n", "must start with '/'"},
		{"path with trailing slash", "mounts:\n  - dialect: native\n    path: /v1/\n", "not end with '/'"},
		{"native twice", "mounts:\n  - dialect: native\n    path: /v1\n  - dialect: native\n    path: /v2\n", "line 4: mount 2: the native dialect is mounted twice"},
		{"native with collection", "mounts:\n  - dialect: native\n    path: /v1\n    collection: items\n", "takes no collection"},
		{"native with options", "mounts:\n  - dialect: native\n    path: /v1\n    options: {colour: red}\n", "line 2: mount 1: the native dialect has no options"},
		{"negative limit", "collections:\n  items:\n    max_limit: -1\n", "line 2"},
		{"default above max", "collections:\n  items:\n    default_limit: 50\n    max_limit: 10\n", "exceeds max_limit"},
		{"bad name", "collections:\n  items:\n    name: a/b\n", "must be letters"},
		{"wrong type", "collections:\n  items:\n    max_limit: many\n", "line 3"},
		{"exclude twice", "exclude:\n  - log\n  - items\n  - log\n", `line 4: exclude: "log" is listed twice`},
		{"exclude and configure", "collections:\n  items:\n    max_limit: 5\nexclude: [items]\n", `line 4: exclude: "items" is excluded and configured`},
		{"exclude nothing", "exclude:\n  - \"\"\n", "line 2: exclude: an empty name"},
		{"exclude not a list", "exclude: items\n", "line 1"},
		{"negative timeout", "limits:\n  query_timeout: -1s\n", "line 1: limits: query_timeout"},
		{"timeout not a duration", "limits:\n  query_timeout: soon\n", "line 2"},
		{"rate without per", "limits:\n  rate_limit: {requests: 5}\n", "per must be a positive duration"},
		{"rate of nothing", "limits:\n  rate_limit: {requests: 0, per: 1s}\n", "requests must be 1 or more"},
		{"collection rate", "collections:\n  items:\n    rate_limit: {requests: 5, per: 0s}\n", `line 2: collection "items": rate_limit: per`},
		{"key not names", "collections:\n  items:\n    key: {a: b}\n", "line 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "test.yaml")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestApply(t *testing.T) {
	y := `
collections:
  items:
    name: things
    hidden: [secret]
    default_sort: -title
    default_limit: 10
    max_limit: 50
    max_offset: 500
  log:
    key: code
mounts:
  - dialect: native
    path: /api
`
	cfg, err := Parse([]byte(y), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := discovered()
	out, err := Apply(in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	things, log := out[0], out[1]
	if things.Name != "things" || things.Table != "items" {
		t.Errorf("rename: got name %q table %q", things.Name, things.Table)
	}
	if things.Field("secret") != nil {
		t.Error("secret is still visible")
	}
	if in[0].Fields[2].Hidden || in[0].Name != "items" {
		t.Error("Apply changed its input")
	}
	if got := things.DefaultSort.String(); got != "-title" {
		t.Errorf("default sort %q", got)
	}
	if things.DefaultLimit != 10 || things.MaxLimit != 50 || things.MaxOffset != 500 {
		t.Errorf("limits %d %d %d", things.DefaultLimit, things.MaxLimit, things.MaxOffset)
	}
	if !log.Keyed() || !slices.Equal(log.Key, []string{"code"}) {
		t.Errorf("key override: %q", log.Key)
	}
	if m := cfg.NativeMount(); m.Path != "/api" {
		t.Errorf("native mount %+v", m)
	}
}

func TestApplyErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown collection", "collections:\n  itemz:\n    hidden: [x]\n", `line 2: collection "itemz" does not exist`},
		{"unknown hidden field", "collections:\n  items:\n    hidden: [nope]\n", `hidden: no field "nope"`},
		{"hide the key", "collections:\n  items:\n    hidden: [id]\n", "is the key"},
		{"unknown sort field", "collections:\n  items:\n    default_sort: -nope\n", `default_sort: no visible field "nope"`},
		{"sort on hidden", "collections:\n  items:\n    hidden: [secret]\n    default_sort: secret\n", `no visible field "secret"`},
		{"sort on json", "collections:\n  items:\n    default_sort: tags\n", "not sortable"},
		{"unknown key", "collections:\n  log:\n    key: nope\n", `key: no field "nope"`},
		{"json key", "collections:\n  items:\n    key: tags\n", "cannot be a key"},
		{"json in a key of two", "collections:\n  items:\n    key: [title, tags]\n", `field "tags" is JSON`},
		{"unknown in a key of two", "collections:\n  log:\n    key: [code, nope]\n", `key: no field "nope"`},
		{"key field twice", "collections:\n  log:\n    key: [code, code]\n", `"code" is named twice`},
		{"hide a key part", "collections:\n  log:\n    key: [code, at]\n    hidden: [at]\n", "is the key"},
		{"rename collision", "collections:\n  items:\n    name: log\n", `published as "log"`},
		{"limit over discovered max", "collections:\n  items:\n    default_limit: 2000\n", "exceeds max_limit"},
		{"exclude unknown", "exclude:\n  - items\n  - logs\n", `line 3: exclude: no table or view "logs"`},
		{"mount an excluded collection", "exclude: [log]\nmounts:\n  - dialect: gocdb\n    path: /g\n    collection: log\n", `line 3: mount 1: collection "log" is excluded`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tt.yaml), "t.yaml")
			if err != nil {
				t.Fatal(err)
			}
			cols := discovered()
			for _, c := range cols {
				c.Normalize()
			}
			_, err = Apply(cols, cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Apply error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestExclude: an excluded table or view is left out of what Apply
// returns, and what it was given is left as it was.
func TestExclude(t *testing.T) {
	cfg, err := Parse([]byte("exclude:\n  - log\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := discovered()
	out, err := Apply(in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 1 || out[0].Name != "items" {
		t.Errorf("published %d collections, want items alone", len(out))
	}
	if len(in) != 2 || in[1].Name != "log" {
		t.Error("Apply changed the discovered collections")
	}
}

func TestMountList(t *testing.T) {
	var none *Config
	if got := none.MountList(); len(got) != 1 || got[0].Path != NativePath {
		t.Errorf("nil config mounts %+v", got)
	}
	cfg, err := Parse([]byte("mounts:\n  - dialect: native\n    path: /data\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.MountList(); len(got) != 1 || got[0].Path != "/data" {
		t.Errorf("mounts %+v", got)
	}
}

func TestLoad(t *testing.T) {
	p := filepath.Join(t.TempDir(), "folio.yaml")
	if err := os.WriteFile(p, []byte("collections:\n  items:\n    hidden: [secret]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Collections["items"].Hidden; len(got) != 1 || got[0] != "secret" {
		t.Errorf("hidden %v", got)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.yaml")); err == nil {
		t.Error("missing file: no error")
	}
	if _, err := Parse(nil, "empty"); err != nil {
		t.Errorf("empty config: %v", err)
	}
}

func TestDemo(t *testing.T) {
	cfg := Demo()
	for _, name := range []string{"entries", "dois", "downtimes", "profiles"} {
		if cfg.Collections[name].DefaultSort == "" {
			t.Errorf("demo config has no default sort for %s", name)
		}
	}
}

// TestApplyKeyCaveat: a key the configuration names replaces the one the
// source found, and the caveat that came with it.
func TestApplyKeyCaveat(t *testing.T) {
	in := discovered()
	in[0].KeyCaveat = "implicit rowid"
	cfg, err := Parse([]byte("collections:\n  items:\n    key: title\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Apply(in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out[0].Key, []string{"title"}) || out[0].KeyCaveat != "" {
		t.Errorf("key %q with caveat %q, want title without one", out[0].Key, out[0].KeyCaveat)
	}
	kept, err := Apply(discoveredWithCaveat(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if kept[0].KeyCaveat == "" {
		t.Error("without a configured key the source's caveat is lost")
	}
}

func discoveredWithCaveat() []*engine.Collection {
	cols := discovered()
	cols[0].KeyCaveat = "implicit rowid"
	return cols
}

// TestApplyCompositeKey: key takes a list, whose order is the order the
// key ends every sort in; both fields become sortable.
func TestApplyCompositeKey(t *testing.T) {
	cfg, err := Parse([]byte("collections:\n  log:\n    key: [at, code]\n  items:\n    key: [title]\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	in := discovered()
	in[1].Fields[0].Sortable = false
	out, err := Apply(in, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(out[1].Key, []string{"at", "code"}) || !out[1].Composite() || len(out[1].KeyFields()) != 2 || !out[1].Fields[0].Sortable {
		t.Errorf("log: key %v, fields %v", out[1].Key, out[1].KeyFields())
	}
	if !slices.Equal(out[0].Key, []string{"title"}) || out[0].KeyField() == nil {
		t.Errorf("items: key %v", out[0].Key)
	}
}

// TestLimits: the limits section reads durations and rates, a burst
// defaults to the rate's requests, and an absent timeout is told apart
// from none.
func TestLimits(t *testing.T) {
	cfg, err := Parse([]byte("limits:\n  query_timeout: 2500ms\n  costly_queries: 3\n  rate_limit: {requests: 600, per: 1m}\ncollections:\n  items:\n    rate_limit: {requests: 2, per: 1s, burst: 10}\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	l := cfg.Limits
	if l.QueryTimeout == nil || *l.QueryTimeout != 2500*time.Millisecond || l.CostlyQueries != 3 {
		t.Errorf("limits %+v", l)
	}
	if r := l.RateLimit; r == nil || r.PerSecond() != 10 || r.Burst != 600 {
		t.Errorf("rate %+v", r)
	}
	if r := cfg.Collections["items"].RateLimit; r == nil || r.PerSecond() != 2 || r.Burst != 10 {
		t.Errorf("items rate %+v", r)
	}
	none, err := Parse([]byte("limits:\n  query_timeout: 0s\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if none.Limits.QueryTimeout == nil || *none.Limits.QueryTimeout != 0 {
		t.Errorf("query_timeout 0s: %v", none.Limits.QueryTimeout)
	}
	empty, err := Parse(nil, "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if empty.Limits.QueryTimeout != nil || empty.Limits.RateLimit != nil {
		t.Errorf("no limits section: %+v", empty.Limits)
	}
}
