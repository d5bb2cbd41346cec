// Package layering holds folio's import rules (docs/ARCHITECTURE.md) as a
// test: dialects and sources depend on the engine, never the reverse and
// never on each other, so the next capability is built in one room.
package layering

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const module = "folio"

// allowed lists, for each package (or package prefix ending in "/"), the
// folio packages its non-test files may import. A package not listed here
// fails the test, so a new one has to take its place in the map.
var allowed = map[string][]string{
	"engine":                   {},
	"secret":                   {},
	"baseurl":                  {},
	"client":                   {},
	"wire":                     {"engine"},
	"httperr":                  {"engine", "wire"},
	"dataset":                  {"engine"},
	"config":                   {"engine", "baseurl"},
	"auth":                     {"engine", "config"},
	"demo":                     {"engine", "dataset"},
	"export":                   {"engine", "wire"},
	"source/sqlgen":            {"engine"},
	"source/sqlgen/sqlgentest": {"engine", "dataset"},
	"source/sqlite":            {"engine", "dataset", "source/sqlgen", "source/sqlite/fts5"},
	"source/sqlite/fts5":       {},
	"source/postgres":          {"engine", "dataset", "source/sqlgen"},
	"source/conformance":       {"engine", "dataset"},
	"dialect/native":           {"engine", "wire", "httperr", "export", "baseurl"},
	"dialect/":                 {"engine", "wire", "httperr", "config", "baseurl"},
	"openapi":                  {"engine", "config", "baseurl", "export", "dialect/native", "dialect/nomad", "dialect/copernica", "dialect/jsonapi", "dialect/gocdb"},
	"face":                     {"engine", "config", "httperr", "baseurl", "wire", "export", "openapi", "dialect/native"},
	"server":                   {"engine", "config", "httperr", "baseurl", "auth", "dialect/native", "dialect/nomad", "dialect/copernica", "dialect/jsonapi", "dialect/gocdb", "openapi", "face"},
	"reload":                   {"engine", "config", "server"},
	"harvest":                  {"client"},
	"cmd/":                     {"*"},
	"internal/":                {"*"},
	"bench":                    {"*"},
	"scaleout":                 {"*"},
	"failover":                 {"*"},
	"tools/":                   {"*"},
}

func rule(pkg string) ([]string, bool) {
	if r, ok := allowed[pkg]; ok {
		return r, true
	}
	for prefix, r := range allowed {
		if strings.HasSuffix(prefix, "/") && strings.HasPrefix(pkg, prefix) {
			return r, true
		}
	}
	return nil, false
}

func TestImports(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	imports := map[string]map[string]bool{} // package → folio packages it imports
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); p != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			if p != root {
				if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
					return filepath.SkipDir // a module of its own
				}
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, filepath.Dir(p))
		pkg := filepath.ToSlash(rel)
		if imports[pkg] == nil {
			imports[pkg] = map[string]bool{}
		}
		for _, spec := range f.Imports {
			imp, _ := strconv.Unquote(spec.Path.Value)
			if imp == module || strings.HasPrefix(imp, module+"/") {
				imports[pkg][strings.TrimPrefix(imp, module+"/")] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(imports) < 10 {
		t.Fatalf("found only %d packages under %s", len(imports), root)
	}
	for pkg, imps := range imports {
		r, ok := rule(pkg)
		if !ok {
			t.Errorf("package %s has no import rule: give it one in layering_test.go and docs/ARCHITECTURE.md", pkg)
			continue
		}
		if slices.Contains(r, "*") {
			continue
		}
		for imp := range imps {
			if !slices.Contains(r, imp) {
				t.Errorf("%s imports %s, which it may not (allowed: %v)", pkg, imp, r)
			}
		}
	}
	// The rule must bite: a dialect importing a source, or the engine a
	// dialect, is refused.
	for pkg, imp := range map[string]string{"dialect/nomad": "source/sqlite", "engine": "dialect/native", "server": "source/postgres"} {
		if r, _ := rule(pkg); slices.Contains(r, imp) || slices.Contains(r, "*") {
			t.Errorf("the rules let %s import %s", pkg, imp)
		}
	}
}
