package nomad

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
)

func TestMain(m *testing.M) { os.Exit(demodb.Main(m)) }

// fixture is the demo database the test binary shares, with the handler of
// config/demo.yaml's NOMAD mount over it.
type fixture struct {
	d *demodb.Demo
	e *engine.Engine
	h http.Handler
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	d := demodb.Shared(t, demodb.Rows)
	h := demodb.Handler(t, New, d.Engine, demoMount(t))
	return fixture{d: d, e: d.Engine, h: h}
}

// demoMount is config/demo.yaml's NOMAD mount over the demo entries.
func demoMount(t testing.TB) config.Mount { return demodb.Mount(t, "/api/v1/entries") }

// response is what a handler answered to a request.
type response struct {
	method, target string
	status         int
	header         http.Header
	body           []byte
}

// serve sends req to h.
func serve(h http.Handler, req *http.Request) response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{req.Method, req.URL.RequestURI(), rec.Code, rec.Header(), rec.Body.Bytes()}
}

func post(h http.Handler, body string) response {
	req := httptest.NewRequest(http.MethodPost, "http://nomad-lab.eu/api/v1/entries/query", bytes.NewBufferString(body))
	req.Header.Set("Content-Type", "application/json")
	return serve(h, req)
}

func get(h http.Handler, target string) response {
	return serve(h, httptest.NewRequest(http.MethodGet, target, nil))
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
