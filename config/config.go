// Package config reads folio's configuration file: per-collection overrides
// (name, hidden fields, key, default sort, page limits), the tables and
// views not to publish, and the list of dialect mounts. Load parses and validates the file on its own; Apply checks
// it against the collections a source discovered.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Config is the whole configuration file.
type Config struct {
	// Collections maps a discovered collection name (the table or view name)
	// to its overrides.
	Collections map[string]Collection `yaml:"collections"`
	// Exclude lists tables and views, by their name in the database, that
	// are not published at all: no collection, no mount, no export.
	Exclude []string `yaml:"exclude"`
	// Mounts lists the dialects to serve and where. With no native mount,
	// the native API is served at /v1.
	Mounts []Mount `yaml:"mounts"`
	// Limits bound the work each request may cause and the rate each
	// client may send requests at.
	Limits Limits `yaml:"limits"`
	// BaseURL, TrustedProxies and CORS configure the HTTP edge (edge.go).
	BaseURL        string   `yaml:"base_url"`
	TrustedProxies []string `yaml:"trusted_proxies"`
	CORS           CORS     `yaml:"cors"`
	// Auth says how principals authenticate (tokens, JWTs); each
	// collection's access says what they may read.
	Auth Auth `yaml:"auth"`
	// CacheControl sets the Cache-Control of each kind of answer
	// (cachecontrol.go).
	CacheControl CacheControl `yaml:"cache_control"`

	// lines records where each collection entry and mount was written, so
	// that errors found by Apply can point at the file.
	lines map[string]int
	file  string
}

// Collection holds the overrides for one collection. Zero values keep what
// the source discovered and the engine's defaults.
type Collection struct {
	Name         string   `yaml:"name"`          // name on the wire
	Hidden       []string `yaml:"hidden"`        // fields never published
	Key          KeyNames `yaml:"key"`           // unique, non-null field(s) ending every sort
	DefaultSort  string   `yaml:"default_sort"`  // e.g. "-created,id"
	DefaultLimit int      `yaml:"default_limit"` // page size when the client names none
	MaxLimit     int      `yaml:"max_limit"`     // largest page size a client may ask for
	MaxOffset    int      `yaml:"max_offset"`    // deepest row offset paging may reach
	// RateLimit bounds the requests each client may send for this
	// collection, in place of limits.rate_limit.
	RateLimit *Rate `yaml:"rate_limit"`
	// Access says who may read the collection, which of its fields and
	// which rows; absent: everyone, everything.
	Access *Access `yaml:"access"`
}

// KeyNames names a key's fields: `key: id` for one, `key: [member, group]`
// for a key of several fields, in the order they end every sort.
type KeyNames []string

// UnmarshalYAML accepts one name or a list of names.
func (k *KeyNames) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		var s string
		if err := n.Decode(&s); err != nil {
			return err
		}
		*k = KeyNames{s}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return fmt.Errorf("key: a field name or a list of field names: %w", err)
	}
	*k = l
	return nil
}

// Mount serves one dialect under a path.
type Mount struct {
	Dialect string `yaml:"dialect"`
	// Path is the URL path prefix, e.g. /v1 or /api/v1/entries.
	Path string `yaml:"path"`
	// Collection is the published collection a single-collection dialect
	// serves; the native dialect serves every collection and leaves it empty.
	Collection string `yaml:"collection"`
	// Fields maps the dialect's field names to the collection's fields.
	Fields map[string]string `yaml:"fields"`
	// Options are dialect-specific settings (for example copernica's
	// `stream: true`, gocdb's `page_size: 100`); each dialect checks its own
	// and rejects unknown ones.
	Options map[string]string `yaml:"options"`
}

// Native is the name of folio's own dialect.
const Native = "native"

// NativePath is where the native API is mounted when no mount names it.
const NativePath = "/v1"

// knownDialect reports whether a mount may name the dialect; each dialect
// added to the server is added here.
func knownDialect(name string) bool {
	switch name {
	case Native, NOMAD, Copernica, JSONAPI, GOCDB:
		return true
	}
	return false
}

// The dialects a mount may name besides Native.
const (
	NOMAD     = "nomad"
	Copernica = "copernica"
	JSONAPI   = "jsonapi"
	GOCDB     = "gocdb"
)

//go:embed demo.yaml
var demoYAML []byte

// Demo returns the configuration of the demo database.
func Demo() *Config {
	c, err := Parse(demoYAML, "demo.yaml")
	if err != nil {
		panic("config: embedded demo.yaml is invalid: " + err.Error())
	}
	return c
}

// Load reads and validates the configuration file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(b, path)
}

// Parse decodes and validates a configuration; name labels errors.
// Unknown keys are errors that give their line.
func Parse(b []byte, name string) (*Config, error) {
	c := &Config{file: name}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	c.lines = lines(&root)
	if err := c.validate(); err != nil {
		return nil, err
	}
	return c, nil
}

// NativeMount returns the mount of the native dialect.
func (c *Config) NativeMount() Mount {
	if c != nil {
		for _, m := range c.Mounts {
			if m.Dialect == Native {
				return m
			}
		}
	}
	return Mount{Dialect: Native, Path: NativePath}
}

// MountList returns the mounts to serve: the configured ones, plus the
// native API at /v1 when none names it.
func (c *Config) MountList() []Mount {
	var out []Mount
	if c != nil {
		out = append(out, c.Mounts...)
	}
	for _, m := range out {
		if m.Dialect == Native {
			return out
		}
	}
	return append(out, Mount{Dialect: Native, Path: NativePath})
}

func (c *Config) errorf(key, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if n, ok := c.lines[key]; ok {
		return fmt.Errorf("config %s: line %d: %s", c.file, n, msg)
	}
	return fmt.Errorf("config %s: %s", c.file, msg)
}

func (c *Config) validate() error {
	if err := c.validateEdge(); err != nil {
		return err
	}
	if err := c.validateCacheControl(); err != nil {
		return err
	}
	for name, col := range c.Collections {
		at := "collections." + name
		switch {
		case col.DefaultLimit < 0:
			return c.errorf(at, "collection %q: default_limit must be positive, got %d", name, col.DefaultLimit)
		case col.MaxLimit < 0:
			return c.errorf(at, "collection %q: max_limit must be positive, got %d", name, col.MaxLimit)
		case col.MaxOffset < 0:
			return c.errorf(at, "collection %q: max_offset must be positive, got %d", name, col.MaxOffset)
		case col.MaxLimit > 0 && col.DefaultLimit > col.MaxLimit:
			return c.errorf(at, "collection %q: default_limit %d exceeds max_limit %d", name, col.DefaultLimit, col.MaxLimit)
		case col.Name != "" && !validName(col.Name):
			return c.errorf(at, "collection %q: name %q must be letters, digits, '_', '-' or '.'", name, col.Name)
		}
		if col.Access != nil {
			if err := c.validateAccess(name, col.Access); err != nil {
				return err
			}
		}
	}
	if err := c.validateLimits(); err != nil {
		return err
	}
	if err := c.validateAuth(); err != nil {
		return err
	}
	excluded := map[string]bool{}
	for i, name := range c.Exclude {
		at := fmt.Sprintf("exclude.%d", i)
		switch {
		case name == "":
			return c.errorf(at, "exclude: an empty name")
		case excluded[name]:
			return c.errorf(at, "exclude: %q is listed twice", name)
		}
		if _, ok := c.Collections[name]; ok {
			return c.errorf(at, "exclude: %q is excluded and configured under collections; it cannot be both", name)
		}
		excluded[name] = true
	}
	paths := map[string]string{} // path -> dialect
	natives := 0
	for i, m := range c.Mounts {
		at := fmt.Sprintf("mounts.%d", i)
		if !knownDialect(m.Dialect) {
			return c.errorf(at, "mount %d: unknown dialect %q (known: %s)", i+1, m.Dialect, strings.Join([]string{Native, NOMAD, Copernica, JSONAPI, GOCDB}, ", "))
		}
		if !strings.HasPrefix(m.Path, "/") || strings.HasSuffix(m.Path, "/") || strings.ContainsAny(m.Path, "{}? \t") {
			return c.errorf(at, "mount %d: path %q must start with '/', not end with '/', and hold no '{', '}', '?' or spaces", i+1, m.Path)
		}
		// GOCDB serves several methods under one path, so gocdb mounts may
		// share theirs; any other repeat is a mistake.
		if prev, ok := paths[m.Path]; ok && !(prev == GOCDB && m.Dialect == GOCDB) {
			return c.errorf(at, "mount %d: path %q is mounted twice", i+1, m.Path)
		}
		paths[m.Path] = m.Dialect
		if m.Dialect == Native {
			natives++
			if natives > 1 {
				return c.errorf(at, "mount %d: the native dialect is mounted twice", i+1)
			}
			if m.Collection != "" || len(m.Fields) > 0 {
				return c.errorf(at, "mount %d: the native dialect serves every collection; it takes no collection or fields", i+1)
			}
			if len(m.Options) > 0 {
				return c.errorf(at, "mount %d: the native dialect has no options", i+1)
			}
		} else if m.Collection == "" {
			return c.errorf(at, "mount %d: dialect %q needs a collection", i+1, m.Dialect)
		}
	}
	return nil
}

func validName(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return false
		}
	}
	return s != ""
}

// lines maps each top-level key, "collections.NAME", "exclude.I" and
// "mounts.I" to their line in the file.
func lines(root *yaml.Node) map[string]int {
	out := map[string]int{}
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return out
	}
	doc := root.Content[0]
	if doc.Kind != yaml.MappingNode {
		return out
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		k, v := doc.Content[i], doc.Content[i+1]
		out[k.Value] = k.Line
		switch {
		case k.Value == "collections" && v.Kind == yaml.MappingNode:
			for j := 0; j+1 < len(v.Content); j += 2 {
				at := "collections." + v.Content[j].Value
				out[at] = v.Content[j].Line
				accessLines(out, at, v.Content[j+1])
			}
		case k.Value == "limits":
			out["limits"] = k.Line
		case (k.Value == "mounts" || k.Value == "exclude") && v.Kind == yaml.SequenceNode:
			for j, m := range v.Content {
				out[fmt.Sprintf("%s.%d", k.Value, j)] = m.Line
			}
		}
	}
	return out
}

// accessLines records the lines of a collection's access section, its
// rule and its field grants, under at+".access".
func accessLines(out map[string]int, at string, col *yaml.Node) {
	if col.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(col.Content); i += 2 {
		if col.Content[i].Value != "access" {
			continue
		}
		at += ".access"
		out[at] = col.Content[i].Line
		a := col.Content[i+1]
		if a.Kind != yaml.MappingNode {
			return
		}
		for j := 0; j+1 < len(a.Content); j += 2 {
			k, v := a.Content[j], a.Content[j+1]
			out[at+"."+k.Value] = v.Line
			if k.Value == "fields" && v.Kind == yaml.MappingNode {
				for n := 0; n+1 < len(v.Content); n += 2 {
					out[at+".fields."+v.Content[n].Value] = v.Content[n].Line
				}
			}
		}
	}
}
