package nomad

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"folio/config"
	"folio/demo"
	"folio/engine"
	"folio/source/sqlite"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const testSecret = "nomad-test-secret-0123456789abcdef"

// demoRows is the size of the demo database the tests run against.
const demoRows = 20000

// demoMount is the mount proposed for config/demo.yaml; the tests use it
// as is, so that the report cannot drift from what was tested.
var demoMount = config.Mount{
	Dialect:    config.NOMAD,
	Path:       "/api/v1/entries",
	Collection: "entries",
	Fields: map[string]string{
		"results.material.elements":                               "elements",
		"results.material.chemical_formula_hill":                  "formula",
		"results.material.n_elements":                             "n_elements",
		"results.properties.structures.structure_original.nsites": "n_atoms",
		"results.properties.electronic.band_gap.value":            "band_gap",
		"results.method.method_name":                              "method",
		"results.method.simulation.program_name":                  "program_name",
		"published":                                               "public",
	},
}

// fixture is the demo database every test shares (read-only).
var fixture struct {
	dir  string
	path string
	e    *engine.Engine
	h    http.Handler
}

func TestMain(m *testing.M) {
	flag.Parse()
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	dir, err := os.MkdirTemp("", "nomad-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	fixture.dir = dir
	fixture.path = filepath.Join(dir, "demo.sqlite")
	ctx := context.Background()
	if err := sqlite.Load(ctx, fixture.path, demo.Tables(demoRows, demo.DefaultSeed), nil); err != nil {
		return 0, err
	}
	e, src, err := openEngine(ctx, fixture.path)
	if err != nil {
		return 0, err
	}
	defer src.Close()
	fixture.e = e
	if fixture.h, err = New(e, demoMount, quietLog()); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// openEngine serves the database at path with the demo configuration.
func openEngine(ctx context.Context, path string) (*engine.Engine, *sqlite.Source, error) {
	src, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return nil, nil, err
	}
	cols, err := src.Collections(ctx)
	if err != nil {
		src.Close()
		return nil, nil, err
	}
	if cols, err = config.Apply(cols, config.Demo()); err != nil {
		src.Close()
		return nil, nil, err
	}
	signer, err := engine.NewSigner([]byte(testSecret))
	if err != nil {
		src.Close()
		return nil, nil, err
	}
	e, err := engine.New(src, signer, cols)
	if err != nil {
		src.Close()
		return nil, nil, err
	}
	return e, src, nil
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type response struct {
	status int
	header http.Header
	body   []byte
}

func post(h http.Handler, body string) response {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "http://nomad-lab.eu/api/v1/entries/query", bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.Bytes()}
}

func get(h http.Handler, target string) response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return response{rec.Code, rec.Header(), rec.Body.Bytes()}
}

// envelope is NOMAD's response, decoded.
type envelope struct {
	Owner      string          `json:"owner"`
	Query      json.RawMessage `json:"query"`
	Pagination struct {
		PageSize           int     `json:"page_size"`
		OrderBy            string  `json:"order_by"`
		Order              string  `json:"order"`
		PageAfterValue     *string `json:"page_after_value"`
		Page               *int    `json:"page"`
		PageOffset         *int    `json:"page_offset"`
		Total              *int64  `json:"total"`
		NextPageAfterValue *string `json:"next_page_after_value"`
		PageURL            string  `json:"page_url"`
		NextPageURL        string  `json:"next_page_url"`
		PrevPageURL        string  `json:"prev_page_url"`
		FirstPageURL       string  `json:"first_page_url"`
	} `json:"pagination"`
	Required struct {
		Include []string `json:"include"`
		Exclude []string `json:"exclude"`
	} `json:"required"`
	Data []map[string]any `json:"data"`
}

func decodeEnvelope(t testing.TB, r response) envelope {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var env envelope
	if err := json.Unmarshal(r.body, &env); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, r.body)
	}
	return env
}

func ids(env envelope) []string {
	out := make([]string, len(env.Data))
	for i, d := range env.Data {
		out[i], _ = d["entry_id"].(string)
	}
	return out
}

// body marshals a request body the way Python's json.dumps would send it.
func body(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
