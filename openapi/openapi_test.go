package openapi_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"folio/config"
	"folio/internal/demodb"
	"folio/internal/demotest"
	"folio/internal/openapitest"
	"folio/openapi"
)

func TestMain(m *testing.M) { os.Exit(demodb.Main(m)) }

// TestDocumentValidates builds the demo's document and holds it to the
// OpenAPI 3.1 schema with a maintained validator.
func TestDocumentValidates(t *testing.T) {
	d := demodb.Shared(t, demodb.Rows)
	doc, err := openapi.Build(d.Engine, config.Demo().MountList())
	if err != nil {
		t.Fatal(err)
	}
	b, err := doc.JSON("http://folio.test")
	if err != nil {
		t.Fatal(err)
	}
	openapitest.New(t, b) // fails the test on a document that does not validate
	y, err := doc.YAML("http://folio.test")
	if err != nil {
		t.Fatal(err)
	}
	var fromJSON, fromYAML any
	if err := json.Unmarshal(b, &fromJSON); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(y, &fromYAML); err != nil {
		t.Fatal(err)
	}
	jy, _ := json.Marshal(fromYAML)
	jj, _ := json.Marshal(fromJSON)
	if !bytes.Equal(jy, jj) {
		t.Error("the YAML document differs from the JSON one")
	}
}

// TestDocumentFollowsTheTables checks that the document says what the
// parsers take: a sortable field's terms in sort's enum, a filter per
// operator of engine.Field.Ops, the limits of each collection.
func TestDocumentFollowsTheTables(t *testing.T) {
	d := demodb.Shared(t, demodb.Rows)
	doc, err := openapi.Build(d.Engine, config.Demo().MountList())
	if err != nil {
		t.Fatal(err)
	}
	paths := doc.Paths()
	for _, c := range d.Engine.Collections() {
		op, ok := paths["/v1/"+c.Name].(map[string]any)["get"].(map[string]any)
		if !ok {
			t.Fatalf("no GET /v1/%s", c.Name)
		}
		params := map[string]map[string]any{}
		for _, p := range op["parameters"].([]any) {
			p := p.(map[string]any)
			params[p["name"].(string)] = p
		}
		if max := params["limit"]["schema"].(map[string]any)["maximum"]; max != c.MaxLimit {
			t.Errorf("%s: limit's maximum %v, want %d", c.Name, max, c.MaxLimit)
		}
		sortEnum := params["sort"]["schema"].(map[string]any)["items"].(map[string]any)["enum"].([]any)
		for _, f := range c.Visible() {
			want := f.Sortable && f.Type.Scalar()
			has := false
			for _, s := range sortEnum {
				has = has || s == "-"+f.Name
			}
			if has != want {
				t.Errorf("%s: sort enum has -%s: %v, want %v", c.Name, f.Name, has, want)
			}
			if !f.Filterable {
				continue
			}
			for _, op := range f.Ops() {
				name := f.Name + "[" + string(op) + "]"
				if op == "eq" {
					name = f.Name
				}
				if params[name] == nil {
					t.Errorf("%s: no parameter %s", c.Name, name)
				}
			}
		}
	}
}

// TestGoldenResponsesValidate replays the request of every golden file of
// every dialect (the envelopes and the errors their tests hold) against
// the demo served as folio serve serves it, and validates each response
// against the document the same server publishes at /openapi.json.
func TestGoldenResponsesValidate(t *testing.T) {
	ts, _ := demotest.Serve(t, demodb.Rows)
	v := openapitest.Fetch(t, ts.URL)
	files, err := filepath.Glob("../dialect/*/testdata/*.golden")
	if err != nil || len(files) < 50 {
		t.Fatalf("golden files: %d, %v", len(files), err)
	}
	dialects := map[string]int{}
	for _, file := range files {
		method, target := requestLine(t, file)
		if method == "" || !strings.HasPrefix(target, "/") {
			continue
		}
		req, err := http.NewRequest(method, ts.URL+target, nil)
		if err != nil {
			continue // a golden of a request no client could send
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("%s %s: %d", method, target, resp.StatusCode)
		}
		v.Check(t, req, resp, body)
		dialects[filepath.Base(filepath.Dir(filepath.Dir(file)))]++
	}
	for _, d := range []string{"native", "nomad", "jsonapi", "copernica", "gocdb"} {
		if dialects[d] == 0 {
			t.Errorf("no golden request of %s replayed", d)
		}
	}
	t.Logf("replayed %v", dialects)
}

// requestLine reads "METHOD target" from the first line of a golden file.
func requestLine(t *testing.T, file string) (string, string) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	if !s.Scan() {
		return "", ""
	}
	method, target, _ := strings.Cut(s.Text(), " ")
	switch method {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH":
		return method, target
	}
	return "", ""
}

// TestValidatorCatchesDrift shows that the check above can fail: a page
// whose row gains a field the collection does not have, or whose number
// turns into a string, no longer validates.
func TestValidatorCatchesDrift(t *testing.T) {
	ts, _ := demotest.Serve(t, demodb.Rows)
	v := openapitest.Fetch(t, ts.URL)
	req, _ := http.NewRequest("GET", ts.URL+"/v1/entries?limit=2&fields=entry_id,n_elements", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if errs := v.Errors(req, resp, body); len(errs) > 0 {
		t.Fatalf("the real page does not validate: %v", errs)
	}
	for _, tc := range []struct{ name, from, to string }{
		{"unknown field", `"n_elements":`, `"n_elementz":`},
		{"number as string", `"n_elements":`, `"n_elements":"1","x":`},
		{"page without count", `"count":`, `"kount":`},
	} {
		bad := bytes.Replace(body, []byte(tc.from), []byte(tc.to), 1)
		if bytes.Equal(bad, body) {
			t.Fatalf("%s: %s not in %s", tc.name, tc.from, body)
		}
		if errs := v.Errors(req, resp, bad); len(errs) == 0 {
			t.Errorf("%s: validates", tc.name)
		}
	}
}

// TestSecuritySchemes: the description names the credentials folio takes,
// each optional (a request without one is anonymous).
func TestSecuritySchemes(t *testing.T) {
	d := demodb.Shared(t, demodb.Rows)
	doc, err := openapi.Build(d.Engine, config.Demo().MountList())
	if err != nil {
		t.Fatal(err)
	}
	b, err := doc.JSON("http://example.org")
	if err != nil {
		t.Fatal(err)
	}
	var root struct {
		Security   []map[string]any `json:"security"`
		Components struct {
			SecuritySchemes map[string]struct{ Type, Scheme, In, Name string } `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal(b, &root); err != nil {
		t.Fatal(err)
	}
	s := root.Components.SecuritySchemes
	if s["bearer"].Scheme != "bearer" || s["basic"].Scheme != "basic" || s["accessToken"].In != "query" || s["accessToken"].Name != "access_token" {
		t.Errorf("security schemes %+v", s)
	}
	if len(root.Security) == 0 || len(root.Security[0]) != 0 {
		t.Errorf("security %v: want anonymous (an empty requirement) first", root.Security)
	}
}
