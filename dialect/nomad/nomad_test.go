package nomad

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
	"folio/internal/golden"
)

// tiO is the seed's query: entries holding both Ti and O.
var tiO = map[string]any{"results.material.elements": map[string]any{"all": []string{"Ti", "O"}}}

func TestGolden(t *testing.T) {
	h := newFixture(t).h
	page := func(after any) string {
		return body(t, map[string]any{
			"query":      tiO,
			"pagination": map[string]any{"page_size": 3, "order_by": "upload_create_time", "order": "desc", "page_after_value": after},
		})
	}
	first := post(h, page(nil))
	middle := post(h, page(*decodeEnvelope(t, first).Pagination.NextPageAfterValue))

	// The last page: follow the cursor of a small result to its end.
	smallQ := map[string]any{"results.material.elements": map[string]any{"all": []string{"Ti", "O"}}, "results.material.n_elements:gte": 5}
	var last response
	var after any
	for n := 0; ; n++ {
		last = post(h, body(t, map[string]any{
			"query":      smallQ,
			"pagination": map[string]any{"page_size": 4, "order_by": "results.properties.electronic.band_gap.value", "page_after_value": after},
			"required":   map[string]any{"include": []string{"results.material"}},
		}))
		env := decodeEnvelope(t, last)
		if env.Pagination.NextPageAfterValue == nil {
			break
		}
		after = *env.Pagination.NextPageAfterValue
		if n > 1000 {
			t.Fatal("no end")
		}
	}

	tests := []struct {
		name string
		r    response
	}{
		{"first_page", first},
		{"middle_page", middle},
		{"last_page", last},
		{"empty", post(h, `{"query":{"results.material.elements":"Og"}}`)},
		{"count_only", post(h, `{"query":{"results.material.elements":["Ti","O"]},"pagination":{"page_size":0}}`)},
		{"seed_first_example", post(h, `{"query":{"results.material.elements":{"all":["Ti","O"]}},"pagination":{"page_size":1},"required":{"include":["entry_id"]}}`)},
		{"page_mode", post(h, `{"query":{"results.material.n_elements:lte":1},"pagination":{"page_size":2,"page":3,"order_by":"results.material.chemical_formula_hill"},"required":{"include":["entry_id"],"exclude":["entry_id","upload_id"]}}`)},
		{"get_page", get(h, "/api/v1/entries?page_size=2&page=2&order_by=upload_create_time&order=desc&results.material.elements=Ti&results.material.elements=O&include=results.material.chemical_formula_hill")},
		{"get_cursor", get(h, "/api/v1/entries?page_size=2&results.material.n_elements__gte=7&results.method.simulation.program_name=VASP&include=results.material.n_elements")},
		{"query_tree", post(h, `{"query":{"or":[{"results.material.n_elements":1},{"and":[{"results.material.elements:any":["Og","Ts"]}]}],"not":{"results.method.simulation.program_name":{"none":["VASP"]}}},"pagination":{"page_size":2},"required":{"include":["results.method.*"]}}`)},

		{"error_page_size", post(h, `{"pagination":{"page_size":10001}}`)},
		{"error_page_size_negative", post(h, `{"pagination":{"page_size":-1}}`)},
		{"error_page_size_type", post(h, `{"pagination":{"page_size":"ten"}}`)},
		{"error_order", post(h, `{"pagination":{"order":"up"}}`)},
		{"error_order_by", post(h, `{"pagination":{"order_by":"misspelled"}}`)},
		{"error_order_by_array", post(h, `{"pagination":{"order_by":"results.material.elements"}}`)},
		{"error_after_shape", post(h, `{"pagination":{"order_by":"upload_create_time","page_after_value":"some"}}`)},
		{"error_after_value", post(h, `{"pagination":{"order_by":"upload_create_time","page_after_value":"yesterday:abc"}}`)},
		{"error_root", post(h, `{"pagination":{"page":2,"page_after_value":"abc"}}`)},
		{"error_after_shape_id", post(h, `{"pagination":{"page_after_value":"1717097142713:zIaQ0vsZ0bx4tE8n6L7pDK7SyM-k"}}`)},
		{"error_aggregations", post(h, `{"aggregations":{"elements":{"terms":{"quantity":"results.material.elements"}},"n":{"terms":{"quantity":"results.material.n_elements"}}}}`)},
		{"error_page_zero_size", post(h, `{"pagination":{"page_size":0,"page":1}}`)},
		{"error_page_window", post(h, `{"pagination":{"page_size":100,"page":101}}`)},
		{"error_offset_window", post(h, `{"pagination":{"page_size":100,"page_offset":9901}}`)},
		{"error_owner", post(h, `{"owner":"visible"}`)},
		{"error_owner_enum", post(h, `{"owner":"everyone"}`)},
		{"error_json", post(h, `{"query": {`)},
		{"error_body_type", post(h, `[1,2]`)},
		{"error_body_missing", post(h, ``)},
		{"error_quantity", post(h, `{"query":{"results.material.colour":"red"}}`)},
		{"error_operator", post(h, `{"query":{"results.material.n_elements:between":[1,2]}}`)},
		{"error_value_type", post(h, `{"query":{"results.material.n_elements":{"gte":"many"}}}`)},
		{"error_twice", post(h, `{"query":{"results.material.n_elements":2,"results.material.n_elements:gte":1}}`)},
		{"error_include", post(h, `{"required":{"include":["results.material.colour"]}}`)},
		{"error_get_param", get(h, "/api/v1/entries?colour=red")},
		{"error_get_page_size", get(h, "/api/v1/entries?page_size=x")},
		{"error_method", get(h, "/api/v1/entries/query")},
		{"error_not_found", get(h, "/api/v1/entries/nothing/here")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			golden.Assert(t, tc.name, golden.Response{Method: tc.r.method, Target: tc.r.target, Status: tc.r.status, Header: tc.r.header, Body: golden.JSON(t, tc.r.body)}.Bytes())
		})
	}
}

// TestSeedExamples runs the seed document's requests as written: the
// first example's response shape, then the 120 most recently uploaded Ti+O
// entries, directly with page_size 120 and in batches of 5 following
// next_page_after_value.
func TestSeedExamples(t *testing.T) {
	h := newFixture(t).h

	// The first basic example: page_size 1, ordered by entry_id.
	env := decodeEnvelope(t, post(h, body(t, map[string]any{
		"query":      tiO,
		"pagination": map[string]any{"page_size": 1},
		"required":   map[string]any{"include": []string{"entry_id"}},
	})))
	if env.Owner != "public" || env.Pagination.OrderBy != "entry_id" || env.Pagination.Order != "asc" || len(env.Data) != 1 {
		t.Fatalf("first example: %+v", env)
	}
	if env.Pagination.NextPageAfterValue == nil || *env.Pagination.NextPageAfterValue != env.Data[0]["entry_id"] {
		t.Errorf("next_page_after_value %v, want the entry_id %v", env.Pagination.NextPageAfterValue, env.Data[0]["entry_id"])
	}
	if !slices.Equal(env.Required.Include, []string{"entry_id"}) || len(env.Data[0]) != 1 {
		t.Errorf("required %v, data %v: want entry_id alone", env.Required.Include, env.Data[0])
	}

	const desired = 120
	// Directly, using page_size.
	direct := decodeEnvelope(t, post(h, body(t, map[string]any{
		"query":      tiO,
		"pagination": map[string]any{"page_size": 120, "order_by": "upload_create_time", "order": "desc"},
		"required":   map[string]any{"include": []string{"entry_id"}},
	})))
	if len(direct.Data) != desired {
		t.Fatalf("page_size 120 gave %d entries", len(direct.Data))
	}
	if want := []string{"entry_id", "upload_create_time"}; !slices.Equal(direct.Required.Include, want) {
		t.Errorf("required.include echoed %v, want %v", direct.Required.Include, want)
	}
	want := oracleIDs(t, []engine.Filter{{Field: "elements", Op: engine.OpAll, Values: []engine.Value{"Ti", "O"}}},
		engine.Sort{{Field: "upload_create_time", Desc: true}, {Field: "entry_id", Desc: true}})[:desired]
	if got := ids(direct); !slices.Equal(got, want) {
		t.Fatalf("page_size 120: not the 120 most recent entries\ngot  %v\nwant %v", got[:5], want[:5])
	}

	// In batches, using a cursor: the seed's loop, as written.
	request := map[string]any{
		"query":      tiO,
		"pagination": map[string]any{"page_size": 5, "order_by": "upload_create_time", "order": "desc", "page_after_value": nil},
		"required":   map[string]any{"include": []string{"entry_id"}},
	}
	var batched []string
	for requests := 0; len(batched) < desired; requests++ {
		if requests > desired {
			t.Fatal("the loop does not end")
		}
		env := decodeEnvelope(t, post(h, body(t, request)))
		request["pagination"].(map[string]any)["page_after_value"] = env.Pagination.NextPageAfterValue
		for _, id := range ids(env) {
			batched = append(batched, id)
			if len(batched) >= desired {
				break
			}
		}
	}
	if !slices.Equal(batched, want) {
		t.Errorf("batches of 5 differ from page_size 120")
	}
}

// oracleIDs answers a query over the demo entries by brute force, public
// entries only, as owner=public asks.
func oracleIDs(t testing.TB, filters []engine.Filter, sort engine.Sort) []string {
	t.Helper()
	o := demodb.Shared(t, demodb.Rows).Oracle(t, "entries")
	filters = append(slices.Clone(filters), engine.Filter{Field: "public", Op: engine.OpEq, Values: []engine.Value{true}})
	var out []string
	for _, k := range o.Keys(o.Select(filters, sort)) {
		out = append(out, k.(string))
	}
	return out
}

// TestGetLinks follows GET's next_page_url to the end and checks the other
// links.
func TestGetLinks(t *testing.T) {
	h := newFixture(t).h
	target := "/api/v1/entries?page_size=50&order_by=results.material.n_elements&order=desc&results.material.elements__all=Ti&results.material.elements__all=O&include=entry_id"
	var got []string
	for n := 0; ; n++ {
		env := decodeEnvelope(t, get(h, target))
		got = append(got, ids(env)...)
		if env.Pagination.FirstPageURL == "" || env.Pagination.PageURL == "" {
			t.Fatalf("page %d: links missing: %+v", n, env.Pagination)
		}
		if env.Pagination.NextPageURL == "" {
			if env.Pagination.NextPageAfterValue != nil {
				t.Fatal("next_page_after_value without next_page_url")
			}
			break
		}
		u, err := url.Parse(env.Pagination.NextPageURL)
		if err != nil {
			t.Fatal(err)
		}
		target = u.RequestURI()
	}
	want := oracleIDs(t, []engine.Filter{{Field: "elements", Op: engine.OpAll, Values: []engine.Value{"Ti", "O"}}},
		engine.Sort{{Field: "n_elements", Desc: true}, {Field: "entry_id", Desc: true}})
	if !slices.Equal(got, want) {
		t.Errorf("GET harvest: %d entries, want %d (or order differs)", len(got), len(want))
	}

	env := decodeEnvelope(t, get(h, "/api/v1/entries?page_size=3&page=3"))
	if !strings.Contains(env.Pagination.PrevPageURL, "page=2") || strings.Contains(env.Pagination.FirstPageURL, "page=") {
		t.Errorf("page 3 links: prev %q first %q", env.Pagination.PrevPageURL, env.Pagination.FirstPageURL)
	}
	if env := decodeEnvelope(t, get(h, "/api/v1/entries?page_size=0")); env.Pagination.FirstPageURL != "" || env.Data == nil || len(env.Data) != 0 {
		t.Errorf("page_size 0: %+v", env)
	}
}

func TestNewRejectsBadMounts(t *testing.T) {
	e := newFixture(t).e
	with := func(edit func(m *config.Mount)) config.Mount {
		m := demoMount(t)
		if m.Options == nil {
			m.Options = map[string]string{}
		}
		edit(&m)
		return m
	}
	for name, m := range map[string]config.Mount{
		"no collection":     with(func(m *config.Mount) { m.Collection = "nope" }),
		"no field":          with(func(m *config.Mount) { m.Fields["results.x"] = "nope" }),
		"two names":         with(func(m *config.Mount) { m.Fields["results.formula"] = "formula" }),
		"value and section": with(func(m *config.Mount) { m.Fields["results.material"] = "upload_id" }),
		"operator in name":  with(func(m *config.Mount) { m.Fields["a:b"] = "upload_id" }),
		"unknown option":    with(func(m *config.Mount) { m.Options["colour"] = "red" }),
		"bad window":        with(func(m *config.Mount) { m.Options[OptionMaxResultWindow] = "-1" }),
		"public not bool":   with(func(m *config.Mount) { m.Options[OptionPublicField] = "formula" }),
	} {
		if _, err := New(e, m, demodb.Quiet()); err == nil {
			t.Errorf("%s: New accepted the mount", name)
		}
	}
	cfg, err := config.Parse([]byte("collections:\n  entries:\n    key: [upload_id, entry_id]\n"), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := New(demodb.NewEngine(t, e.Source(), cfg), demoMount(t), demodb.Quiet()); err == nil || !strings.Contains(err.Error(), "a key of 2 fields") {
		t.Errorf("a key of two fields: error %v", err)
	}
	if _, err := New(e, with(func(m *config.Mount) { m.Options[OptionPublicField] = "none" }), demodb.Quiet()); err != nil {
		t.Errorf("public_field none: %v", err)
	}
}

// TestOwnerPublic checks that owner=public hides unpublished entries.
func TestOwnerPublic(t *testing.T) {
	fx := newFixture(t)
	env := decodeEnvelope(t, post(fx.h, `{"query":{"published":false}}`))
	if *env.Pagination.Total != 0 {
		t.Errorf("owner public shows %d unpublished entries", *env.Pagination.Total)
	}
	m := demoMount(t)
	m.Options = map[string]string{OptionPublicField: "none"}
	all := demodb.Handler(t, New, fx.e, m)
	env = decodeEnvelope(t, post(all, `{"query":{"published":false}}`))
	if *env.Pagination.Total == 0 {
		t.Error("public_field none still hides unpublished entries")
	}
}
