package nomad

import (
	"testing"
	"time"

	"folio/engine"
)

// TestQueryForms checks each form of NOMAD's query language against the
// oracle, by total and by the first page.
func TestQueryForms(t *testing.T) {
	fx := newFixture(t)
	y2024 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	y2025 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	eq := func(f string, v engine.Value) engine.Filter {
		return engine.Filter{Field: f, Op: engine.OpEq, Values: []engine.Value{v}}
	}
	cases := []struct {
		name    string
		post    string // a POST body, or
		get     string // a GET query string
		filters []engine.Filter
	}{
		{"scalar list is one of", `{"query":{"results.method.simulation.program_name":["VASP","ABINIT"]}}`, "",
			[]engine.Filter{{Field: "program_name", Op: engine.OpIn, Values: []engine.Value{"VASP", "ABINIT"}}}},
		{"array scalar holds it", `{"query":{"results.material.elements":"Ti"}}`, "",
			[]engine.Filter{{Field: "elements", Op: engine.OpAll, Values: []engine.Value{"Ti"}}}},
		{"none on array", `{"query":{"results.material.elements":{"none":["O","H"]}}}`, "",
			[]engine.Filter{{Field: "elements", Op: engine.OpNone, Values: []engine.Value{"O", "H"}}}},
		{"none on scalar", `{"query":{"results.method.simulation.program_name:none":["VASP"]}}`, "",
			[]engine.Filter{{Op: engine.OpNot, Sub: [][]engine.Filter{{{Field: "program_name", Op: engine.OpIn, Values: []engine.Value{"VASP"}}}}}}},
		{"all on scalar", `{"query":{"results.material.n_elements:all":[2]}}`, "",
			[]engine.Filter{eq("n_elements", int64(2))}},
		{"ranges combine", `{"query":{"results.properties.electronic.band_gap.value":{"gt":1,"lte":2.5}}}`, "",
			[]engine.Filter{{Field: "band_gap", Op: engine.OpGt, Values: []engine.Value{1.0}}, {Field: "band_gap", Op: engine.OpLte, Values: []engine.Value{2.5}}}},
		{"dates, text and epoch ms", `{"query":{"and":[{"upload_create_time:gte":"2024-01-01"},{"upload_create_time:lt":1735689600000}]}}`, "",
			[]engine.Filter{{Field: "upload_create_time", Op: engine.OpGte, Values: []engine.Value{y2024}}, {Field: "upload_create_time", Op: engine.OpLt, Values: []engine.Value{y2025}}}},
		{"or and not", `{"query":{"or":[{"results.material.n_elements":1},{"results.material.elements:any":["Ti","Fe"]}],"not":{"results.method.method_name":"DFT"}}}`, "",
			[]engine.Filter{
				{Op: engine.OpOr, Sub: [][]engine.Filter{{eq("n_elements", int64(1))}, {{Field: "elements", Op: engine.OpAny, Values: []engine.Value{"Ti", "Fe"}}}}},
				{Op: engine.OpNot, Sub: [][]engine.Filter{{eq("method", "DFT")}}},
			}},
		{"GET repeated is all", "", "results.material.elements=Ti&results.material.elements=O",
			[]engine.Filter{{Field: "elements", Op: engine.OpAll, Values: []engine.Value{"Ti", "O"}}}},
		{"GET ops", "", "results.material.n_elements__gte=3&results.material.elements__any=Ti&results.material.elements__any=Fe&upload_create_time__lt=2020-01-01",
			[]engine.Filter{
				{Field: "n_elements", Op: engine.OpGte, Values: []engine.Value{int64(3)}},
				{Field: "elements", Op: engine.OpAny, Values: []engine.Value{"Ti", "Fe"}},
				{Field: "upload_create_time", Op: engine.OpLt, Values: []engine.Value{time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}},
			}},
		{"GET q and json_query", "", `q=results.material.n_elements__lte__2&json_query={"results.method.simulation.program_name":"VASP"}`,
			[]engine.Filter{{Field: "n_elements", Op: engine.OpLte, Values: []engine.Value{int64(2)}}, eq("program_name", "VASP")}},
	}
	sort := engine.Sort{{Field: "entry_id"}}
	for _, tc := range cases {
		want := oracleIDs(t, tc.filters, sort)
		var r response
		if tc.post != "" {
			r = post(fx.h, tc.post)
		} else {
			r = get(fx.h, "/api/v1/entries?"+tc.get)
		}
		env := decodeEnvelope(t, r)
		if *env.Pagination.Total != int64(len(want)) {
			t.Errorf("%s: total %d, want %d", tc.name, *env.Pagination.Total, len(want))
			continue
		}
		if len(want) == 0 {
			t.Errorf("%s: the oracle finds nothing; the case proves little", tc.name)
		}
		got := ids(env)
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("%s: row %d is %s, want %s", tc.name, i, got[i], want[i])
				break
			}
		}
	}
}
