package gocdb

import (
	"bytes"
	"database/sql"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
	"folio/internal/golden"
	"folio/source/conformance"
)

// mountPath is where config/demo.yaml mounts GOCDB's legacy get_downtime
// rendering (GetDowntime.php, not nested) over the demo downtimes; its
// filters are get_downtime's parameters that the table can answer.
const mountPath = "/gocdbpi/public"

func TestMain(m *testing.M) { os.Exit(demodb.Main(m)) }

// fixture is the demo database the test binary shares, with the handler of
// its GOCDB mount.
type fixture struct {
	d      *demodb.Demo
	e      *engine.Engine
	h      http.Handler // demoMount
	oracle *conformance.Oracle
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	d := demodb.Shared(t, demodb.Rows)
	h := demodb.Handler(t, New, d.Engine, demoMount(t))
	return fixture{d: d, e: d.Engine, h: h, oracle: d.Oracle(t, "downtimes")}
}

// demoMount is config/demo.yaml's GOCDB mount.
func demoMount(t testing.TB) config.Mount { return demodb.Mount(t, mountPath) }

// mountWith returns the demo mount with some options changed.
func mountWith(t testing.TB, opts map[string]string) config.Mount {
	t.Helper()
	m := demoMount(t)
	if m.Options == nil {
		m.Options = map[string]string{}
	}
	maps.Copy(m.Options, opts)
	return m
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func get(h http.Handler, target string) response {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return response{rec.Code, rec.Header(), rec.Body.Bytes()}
}

// document is a GOCDB results document as a client reads it.
type document struct {
	XMLName xml.Name `xml:"results"`
	Meta    *struct {
		Links []struct {
			Rel  string `xml:"rel,attr"`
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Count       int `xml:"count"`
		MaxPageSize int `xml:"max_page_size"`
	} `xml:"meta"`
	Rows []struct {
		ID             int64  `xml:"ID,attr"`
		PrimaryKey     string `xml:"PRIMARY_KEY,attr"`
		Classification string `xml:"CLASSIFICATION,attr"`
		Severity       string `xml:"SEVERITY"`
		HostedBy       string `xml:"HOSTED_BY"`
		StartDate      int64  `xml:"START_DATE"`
	} `xml:"DOWNTIME"`
}

func (d document) link(rel string) string {
	if d.Meta == nil {
		return ""
	}
	for _, l := range d.Meta.Links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

func (d document) ids() []int64 {
	out := make([]int64, len(d.Rows))
	for i, r := range d.Rows {
		out[i] = r.ID
	}
	return out
}

func parseDoc(t testing.TB, r response) document {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != ContentType {
		t.Fatalf("Content-Type %q", ct)
	}
	var d document
	if err := xml.Unmarshal(r.body, &d); err != nil {
		t.Fatalf("body is not a results document: %v\n%s", err, r.body)
	}
	return d
}

// target turns an absolute link into the request target to send.
func target(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil || u.Host != "example.com" {
		t.Fatalf("link %q is not an absolute link to this server", link)
	}
	return u.RequestURI()
}

// oracleIDs returns the ids of the demo rows that match filters, ascending.
func (fx fixture) oracleIDs(filters ...engine.Filter) []int64 {
	var out []int64
	for _, r := range fx.oracle.Select(filters, engine.Sort{{Field: "id"}}) {
		out = append(out, r[0].(int64))
	}
	return out
}

func TestGolden(t *testing.T) {
	fx := newFixture(t)
	small := demodb.Handler(t, New, fx.e, mountWith(t, map[string]string{"page_size": "3"}))
	const base = "/gocdbpi/public/?method=get_downtime"
	tests := []struct {
		name   string
		method string
		target string
	}{
		{"first_page", "GET", base + "&next_cursor=0"},
		{"middle_page", "GET", base + "&next_cursor=500"},
		{"last_page", "GET", base + "&next_cursor=998"},
		{"past_end", "GET", base + "&next_cursor=1000"},
		{"prev_page", "GET", base + "&prev_cursor=500"},
		{"before_start", "GET", base + "&prev_cursor=1"},
		{"filtered_page", "GET", "/gocdbpi/public?sitelist=UKI-ALDERHOLM,IN2P3-BRIGHTWATER&method=get_downtime&severity=WARNING&next_cursor=007"},
		{"unpaged", "GET", base + "&id=42"},
		{"unpaged_empty", "GET", base + "&severity=NONE"},
		{"error_method", "GET", "/gocdbpi/public/?method=get_nope"},
		{"error_no_method", "GET", "/gocdbpi/public/"},
		{"error_parameter", "GET", base + "&page_size=10"},
		{"error_character", "GET", base + "&severity=O'UTAGE"},
		{"error_both_cursors", "GET", base + "&next_cursor=1&prev_cursor=5"},
		{"error_next_cursor", "GET", base + "&next_cursor=-1"},
		{"error_prev_cursor", "GET", base + "&prev_cursor=1.5"},
		{"error_filter_value", "GET", base + "&startdate=yesterday"},
		{"error_path", "GET", "/gocdbpi/public/downtimes"},
		{"error_http_method", "POST", base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			small.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
			if err := wellFormed(rec.Body.Bytes()); err != nil {
				t.Errorf("body is not well-formed XML: %v", err)
			}
			golden.Assert(t, tt.name, golden.Response{Method: tt.method, Target: tt.target, Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}.Bytes())
		})
	}
}

// wellFormed reads every token of an XML document.
func wellFormed(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	roots := 0
	for depth := 0; ; {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			if roots != 1 || depth != 0 {
				return fmt.Errorf("%d root elements, depth %d at the end", roots, depth)
			}
			return nil
		}
		if err != nil {
			return err
		}
		switch tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
			}
			depth++
		case xml.EndElement:
			depth--
		}
	}
}

// TestSeedNextThenPrev follows the seed document as written: start with
// next_cursor=0, read next links until the count hits zero, then walk the
// prev links back to the start.
func TestSeedNextThenPrev(t *testing.T) {
	fx := newFixture(t)
	want := fx.oracleIDs()
	var got []int64
	link := "http://example.com/gocdbpi/public/?method=get_downtime&next_cursor=0"
	var d document
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatal("next links do not end")
		}
		d = parseDoc(t, get(fx.h, target(t, link)))
		if d.Meta == nil || d.Meta.MaxPageSize != 100 || d.Meta.Count != len(d.Rows) {
			t.Fatalf("page %d: meta %+v with %d rows", pages, d.Meta, len(d.Rows))
		}
		if d.Meta.Count == 0 {
			if d.link("next") != "" {
				t.Fatalf("the empty page has a next link %s", d.link("next"))
			}
			break
		}
		// "if this figure is less than max_page_size then you have come to
		// the end ... the next page will show no results"
		if d.Meta.Count < d.Meta.MaxPageSize && len(got)+d.Meta.Count != len(want) {
			t.Fatalf("a short page (%d rows) before the end", d.Meta.Count)
		}
		got = append(got, d.ids()...)
		if link = d.link("next"); link == "" {
			t.Fatalf("page %d has rows but no next link", pages)
		}
		if d.link("start") != "http://example.com/gocdbpi/public/?method=get_downtime&next_cursor=0" {
			t.Fatalf("start link %s", d.link("start"))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("forward harvest: %d ids, want %d (oracle)", len(got), len(want))
	}

	var back []int64
	link = d.link("prev")
	for pages := 0; ; pages++ {
		if pages > len(want) {
			t.Fatal("prev links do not end")
		}
		d = parseDoc(t, get(fx.h, target(t, link)))
		if d.Meta.Count == 0 {
			if d.link("prev") != "" || !strings.HasSuffix(d.link("next"), "&next_cursor=0") {
				t.Fatalf("before the start: prev %q, next %q", d.link("prev"), d.link("next"))
			}
			break
		}
		if !slices.IsSorted(d.ids()) {
			t.Fatalf("a prev page is not in ascending order: %v", d.ids())
		}
		back = append(d.ids(), back...)
		link = d.link("prev")
	}
	if !slices.Equal(back, want) {
		t.Fatalf("backward harvest: %d ids, want %d (oracle)", len(back), len(want))
	}
}

// TestFilteredHarvest pages through filtered results; each equals the oracle.
func TestFilteredHarvest(t *testing.T) {
	fx := newFixture(t)
	tests := []struct {
		query   string
		filters []engine.Filter
	}{
		{"severity=OUTAGE", []engine.Filter{{Field: "severity", Op: engine.OpEq, Values: []engine.Value{"OUTAGE"}}}},
		{"classification=UNSCHEDULED&service_type_list=SRM,ARC-CE", []engine.Filter{
			{Field: "classification", Op: engine.OpEq, Values: []engine.Value{"UNSCHEDULED"}},
			{Field: "service_type", Op: engine.OpIn, Values: []engine.Value{"SRM", "ARC-CE"}},
		}},
		{"sitelist=UKI-ALDERHOLM", []engine.Filter{{Field: "site", Op: engine.OpEq, Values: []engine.Value{"UKI-ALDERHOLM"}}}},
		{"id=7", []engine.Filter{{Field: "id", Op: engine.OpEq, Values: []engine.Value{int64(7)}}}},
		{"classification=NONE", []engine.Filter{{Field: "classification", Op: engine.OpEq, Values: []engine.Value{"NONE"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			want := fx.oracleIDs(tt.filters...)
			got := harvest(t, fx.h, "/gocdbpi/public/?method=get_downtime&"+tt.query+"&next_cursor=0")
			if !slices.Equal(got, want) {
				t.Fatalf("harvest %v, want %v", got, want)
			}
			// Unpaged, the same rows in one document.
			d := parseDoc(t, get(fx.h, "/gocdbpi/public/?method=get_downtime&"+tt.query))
			if d.Meta != nil || !slices.Equal(d.ids(), want) {
				t.Fatalf("unpaged: meta %v, ids %v, want %v", d.Meta, d.ids(), want)
			}
		})
	}
	if n := len(fx.oracleIDs(tests[2].filters...)); n <= 100 {
		t.Errorf("the site filter matches %d rows; pick a site with more than a page", n)
	}
}

// harvest follows next links from start until the count is zero.
func harvest(t testing.TB, h http.Handler, start string) []int64 {
	t.Helper()
	var got []int64
	link := start
	for {
		d := parseDoc(t, get(h, link))
		if d.Meta.Count == 0 {
			return got
		}
		got = append(got, d.ids()...)
		link = target(t, d.link("next"))
	}
}

// TestHarvestWhileInserting harvests while another connection inserts rows:
// every row there at the start appears exactly once, in id order. Then,
// past the end, the last next link picks up rows inserted later.
func TestHarvestWhileInserting(t *testing.T) {
	fx := newFixture(t)
	path := fx.d.Copy(t)
	h := demodb.Handler(t, New, demodb.Open(t, path, config.Demo()), demoMount(t))
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var maxID int64
	if err := db.QueryRow("SELECT max(id) FROM downtimes").Scan(&maxID); err != nil {
		t.Fatal(err)
	}
	// insert copies n existing rows under new ids above every other.
	next := maxID
	insert := func(n int) {
		for range n {
			next++
			if _, err := db.Exec(`INSERT INTO downtimes SELECT ?, primary_key || '-' || ?, classification, severity,
				description, insert_date, start_date, end_date, hostname, service_type, site,
				endpoint, portal_url, affected_endpoints, ngi, scopes
				FROM downtimes WHERE id = ?`, next, next, next%maxID+1); err != nil {
				t.Error(err)
				return
			}
		}
	}
	want := fx.oracleIDs()

	// The writer runs beside the harvest until the harvest has passed every
	// row that existed at the start.
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
				insert(3)
			}
		}
	}()
	var got []int64
	link := "/gocdbpi/public/?method=get_downtime&next_cursor=0"
	last := link
	for {
		d := parseDoc(t, get(h, link))
		if d.Meta.Count == 0 {
			break
		}
		got = append(got, d.ids()...)
		if len(got) >= len(want) && stop != nil {
			close(stop)
			<-done
			stop = nil
		}
		last = target(t, d.link("next"))
		link = last
	}
	if stop != nil {
		close(stop)
		<-done
	}
	if next == maxID {
		t.Fatal("the writer inserted nothing during the harvest")
	}
	if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
		t.Fatal("the harvest is out of order or holds a duplicate")
	}
	if !slices.Equal(got[:len(want)], want) {
		t.Fatal("the rows present at the start do not appear exactly once")
	}
	if int64(len(got)) != next {
		t.Fatalf("harvested %d rows; %d exist", len(got), next)
	}

	// Past the end: the last next link stays valid and finds new rows.
	before := next
	end := parseDoc(t, get(h, link))
	if end.Meta.Count != 0 || end.link("next") != "" {
		t.Fatalf("past the end: count %d, next %q", end.Meta.Count, end.link("next"))
	}
	insert(5)
	d := parseDoc(t, get(h, last))
	if !slices.Equal(d.ids(), []int64{before + 1, before + 2, before + 3, before + 4, before + 5}) {
		t.Fatalf("following the last next link again: %v, want the 5 new rows after %d", d.ids(), before)
	}
}

// TestStreamUnpaged asks for everything without a cursor over a real
// connection: chunked, no Content-Length, every row, no <meta>.
func TestStreamUnpaged(t *testing.T) {
	fx := newFixture(t)
	srv := httptest.NewServer(fx.h)
	defer srv.Close()
	for _, path := range []string{"/gocdbpi/public/", "/gocdbpi/public"} {
		resp, err := http.Get(srv.URL + path + "?method=get_downtime")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if resp.ContentLength != -1 || !slices.Contains(resp.TransferEncoding, "chunked") {
			t.Errorf("%s: Content-Length %d, Transfer-Encoding %v; want a chunked stream", path, resp.ContentLength, resp.TransferEncoding)
		}
		d := parseDoc(t, response{resp.StatusCode, resp.Header, body})
		if d.Meta != nil {
			t.Errorf("%s: an unpaged document has <meta>", path)
		}
		if !slices.Equal(d.ids(), fx.oracleIDs()) {
			t.Errorf("%s: %d rows, want %d", path, len(d.Rows), len(fx.oracleIDs()))
		}
		if !bytes.HasPrefix(body, []byte(xmlDecl+"<results>\n  <DOWNTIME ID=\"1\" ")) {
			t.Errorf("%s: document starts %q", path, body[:min(len(body), 120)])
		}
	}
}

// TestLinks pins GOCDB's link building: self as sent (its escapes and
// order kept, a raw comma percent-encoded), next_cursor kept in place,
// prev_cursor and next_cursor appended, PHP's urlencode.
func TestLinks(t *testing.T) {
	fx := newFixture(t)
	tests := []struct {
		target                 string
		self, next, prev, strt string
	}{
		{
			"/gocdbpi/public/?next_cursor=0&method=get_downtime&severity=OUTAGE",
			"?next_cursor=0&method=get_downtime&severity=OUTAGE",
			"?next_cursor=NEXT&method=get_downtime&severity=OUTAGE",
			"?method=get_downtime&severity=OUTAGE&prev_cursor=PREV",
			"?method=get_downtime&severity=OUTAGE&next_cursor=0",
		},
		{
			"/gocdbpi/public/?method=get_downtime&prev_cursor=500&sitelist=UKI-ALDERHOLM%2CDE-ESKVALE&windowstart=2010-01-01+00%3A00%3A00",
			"?method=get_downtime&prev_cursor=500&sitelist=UKI-ALDERHOLM%2CDE-ESKVALE&windowstart=2010-01-01+00%3A00%3A00",
			"?method=get_downtime&sitelist=UKI-ALDERHOLM%2CDE-ESKVALE&windowstart=2010-01-01+00%3A00%3A00&next_cursor=NEXT",
			"?method=get_downtime&sitelist=UKI-ALDERHOLM%2CDE-ESKVALE&windowstart=2010-01-01+00%3A00%3A00&prev_cursor=PREV",
			"?method=get_downtime&sitelist=UKI-ALDERHOLM%2CDE-ESKVALE&windowstart=2010-01-01+00%3A00%3A00&next_cursor=0",
		},
		{
			"/gocdbpi/public/?method=get_downtime&sitelist=UKI-ALDERHOLM,DE-ESKVALE&next_cursor=0&windowstart=2010-01-01+00:00:00",
			"?method=get_downtime&sitelist=UKI-ALDERHOLM%2CDE-ESKVALE&next_cursor=0&windowstart=2010-01-01+00%3A00%3A00",
			"?method=get_downtime&sitelist=UKI-ALDERHOLM%2CDE-ESKVALE&next_cursor=NEXT&windowstart=2010-01-01+00%3A00%3A00",
			"?method=get_downtime&sitelist=UKI-ALDERHOLM%2CDE-ESKVALE&windowstart=2010-01-01+00%3A00%3A00&prev_cursor=PREV",
			"?method=get_downtime&sitelist=UKI-ALDERHOLM%2CDE-ESKVALE&windowstart=2010-01-01+00%3A00%3A00&next_cursor=0",
		},
	}
	for _, tt := range tests {
		d := parseDoc(t, get(fx.h, tt.target))
		if len(d.Rows) == 0 {
			t.Fatalf("%s: no rows", tt.target)
		}
		ids := d.ids()
		base := "http://example.com/gocdbpi/public/"
		want := map[string]string{
			"self":  base + tt.self,
			"next":  base + strings.Replace(tt.next, "NEXT", fmt.Sprint(ids[len(ids)-1]), 1),
			"prev":  base + strings.Replace(tt.prev, "PREV", fmt.Sprint(ids[0]), 1),
			"start": base + tt.strt,
		}
		var rels []string
		for _, l := range d.Meta.Links {
			rels = append(rels, l.Rel)
			if l.Href != want[l.Rel] {
				t.Errorf("%s: %s link\n got %s\nwant %s", tt.target, l.Rel, l.Href, want[l.Rel])
			}
		}
		if !slices.Equal(rels, []string{"self", "next", "prev", "start"}) {
			t.Errorf("%s: links %v", tt.target, rels)
		}
	}
}

func TestWholeNumber(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"007", 7, true}, {"+7", 7, true}, {"1e3", 1000, true}, {"5.0", 5, true},
		{" 12 ", 12, true}, {"-0", 0, true}, {"9223372036854775807", 9223372036854775807, true},
		{"", 0, false}, {"1.5", 0, false}, {"-1", 0, false}, {"abc", 0, false}, {"0x1A", 0, false},
		{"7abc", 0, false}, {"1e", 0, false}, {".", 0, false}, {"9223372036854775808", 0, false},
		{"1e300", 0, false}, {"inf", 0, false}, {"NaN", 0, false}, {"1_000", 0, false},
	}
	for _, tt := range tests {
		n, ok := wholeNumber(tt.in)
		if ok != tt.ok || ok && n != tt.want {
			t.Errorf("wholeNumber(%q) = %d, %v; want %d, %v", tt.in, n, ok, tt.want, tt.ok)
		}
	}
}

func TestParseQuery(t *testing.T) {
	got := parseQuery("a=1&&b&a=2&c+d=x%2By&e=%zz&=skip&f.g=%41")
	want := params{{"a", "2"}, {"b", ""}, {"c_d", "x+y"}, {"e", "%zz"}, {"f_g", "A"}}
	if !slices.Equal(got, want) {
		t.Errorf("parseQuery = %v, want %v", got, want)
	}
	if s := string(want.appendEncoded(nil)); s != "a=2&b=&c_d=x%2By&e=%25zz&f_g=A" {
		t.Errorf("encoded %s", s)
	}
	if s := string(phpEncode(nil, "a b~é")); s != "a+b%7E%C3%A9" {
		t.Errorf("phpEncode %s", s)
	}
}

// TestBadInput: every bad request is a 4xx <error> document, never a 500.
func TestBadInput(t *testing.T) {
	fx := newFixture(t)
	const base = "/gocdbpi/public/?method=get_downtime"
	tests := []struct {
		target string
		status int
		msg    string
	}{
		{"/gocdbpi/public/?method=", 400, "Unable to find method: "},
		{"/gocdbpi/public/?method=get_site&next_cursor=0", 400, "Unable to find method: get_site"},
		{"/gocdbpi/public/?method=%3Cb%3E", 400, "Unable to find method: <b>"},
		{base + "&page_size=5&next_cursor=0", 400, "Unsupported parameter: page_size"},
		{base + "&page=2", 400, "Unsupported parameter: page"},
		{base + "&limit=1000", 400, "Unsupported parameter: limit"},
		{base + "&severity=%22x%22", 400, `Unsuported chracter in value: "x"`},
		{base + "&next_cursor=`1`", 400, "Unsuported chracter in value: `1`"},
		{base + "&next_cursor=1&prev_cursor=2", 400, "It is invalid to specify both 'next_cursor' and 'prev_cursor' parameters in the same query"},
		{base + "&next_cursor=", 400, "Invalid 'next_cursor' parameter - must be a whole number greater than or equal to zero"},
		{base + "&next_cursor=abc", 400, "Invalid 'next_cursor' parameter - must be a whole number greater than or equal to zero"},
		{base + "&next_cursor=99999999999999999999", 400, "Invalid 'next_cursor' parameter - must be a whole number greater than or equal to zero"},
		{base + "&prev_cursor=-5", 400, "Invalid 'prev_cursor' parameter - must be a whole number greater than or equal to zero"},
		{base + "&prev_cursor=AQID", 400, "Invalid 'prev_cursor' parameter - must be a whole number greater than or equal to zero"},
		{base + "&id=x7", 400, `Invalid 'id' parameter - "x7" is not an integer`},
		{base + "&startdate=2024-13-45&next_cursor=0", 400, "Invalid 'startdate' parameter - "},
		{base + "&ongoing_only=maybe", 400, "Invalid ongoing_only value - must be 'yes' or 'no'"},
		{base + "&ongoing_only=", 400, "Invalid ongoing_only value - must be 'yes' or 'no'"},
		{base + "&enddate=2024-01-01&ongoing_only=yes", 400, "Invalid parameter combination - do not specify startdate or enddate with ongoing_only"},
		{base + "&ongoing_only=yes&next_cursor=x", 400, "Invalid 'next_cursor' parameter"},
		{base + "&all_lastmonth=1&windowend=2024-01-01", 400, "Invalid parameters - only scope, scope_match,\n                   topentity params allowed when specifying all_lastmonth"},
		{base + "&all_lastmonth&ongoing_only=no", 400, "Invalid parameters - only scope, scope_match,"},
		{base + "&windowend=next+week", 400, "Invalid 'windowend' parameter - "},
		{base + "&scope=EGI&scope_match=some", 400, "Invalid scope_match value - must be 'all' or 'any'"},
		{base + "&scope=O'Neil", 400, "Unsuported chracter in value: O'Neil"},
		{base + "&site_extensions=(K=V)", 400, "Unsupported parameter: site_extensions"},
		{"/gocdbpi/public/other?method=get_downtime", 404, "Not found: "},
	}
	for _, tt := range tests {
		r := get(fx.h, tt.target)
		var e struct {
			XMLName xml.Name `xml:"error"`
			Text    string   `xml:",chardata"`
		}
		if err := xml.Unmarshal(r.body, &e); err != nil {
			t.Errorf("%s: body is not an <error> document: %v: %s", tt.target, err, r.body)
			continue
		}
		if r.status != tt.status || !strings.HasPrefix(e.Text, tt.msg) || r.header.Get("Content-Type") != ContentType {
			t.Errorf("%s: %d %q (%s); want %d %q", tt.target, r.status, e.Text, r.header.Get("Content-Type"), tt.status, tt.msg)
		}
	}
}

// TestEdgeCursors: cursors past every id and at the largest id still answer.
func TestEdgeCursors(t *testing.T) {
	fx := newFixture(t)
	for _, q := range []string{"next_cursor=9223372036854775807", "prev_cursor=9223372036854775807", "prev_cursor=0", "next_cursor=1e3"} {
		d := parseDoc(t, get(fx.h, "/gocdbpi/public/?method=get_downtime&"+q))
		if d.Meta == nil {
			t.Errorf("%s: no meta", q)
		}
	}
	d := parseDoc(t, get(fx.h, "/gocdbpi/public/?method=get_downtime&next_cursor=9223372036854775807"))
	if !strings.HasSuffix(d.link("prev"), "prev_cursor=9223372036854775808") {
		t.Errorf("prev link past the largest id: %s", d.link("prev"))
	}
	d = parseDoc(t, get(fx.h, "/gocdbpi/public/?method=get_downtime&prev_cursor=0"))
	if !strings.HasSuffix(d.link("next"), "next_cursor=0") || d.Meta.Count != 0 {
		t.Errorf("prev_cursor=0: count %d, next %s", d.Meta.Count, d.link("next"))
	}
}

// TestGroup mounts two methods on one path, the second with every default.
func TestGroup(t *testing.T) {
	fx := newFixture(t)
	profiles := config.Mount{Dialect: config.GOCDB, Path: "/gocdbpi/public", Collection: "profiles",
		Options: map[string]string{"method": "get_profile", "page_size": "2"}}
	h, err := NewGroup(fx.e, []config.Mount{demoMount(t), profiles}, demodb.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	if d := parseDoc(t, get(h, "/gocdbpi/public/?method=get_downtime&next_cursor=0")); len(d.Rows) != 100 {
		t.Errorf("get_downtime: %d rows", len(d.Rows))
	}
	r := get(h, "/gocdbpi/public/?method=get_profile&city=Amsterdam&next_cursor=0")
	body := string(r.body)
	if r.status != 200 || !strings.Contains(body, "<max_page_size>2</max_page_size>") || !strings.Contains(body, "\n  <PROFILE ID=\"") ||
		!strings.Contains(body, "    <CITY>Amsterdam</CITY>\n") || strings.Contains(body, "    <ID>") {
		t.Errorf("get_profile: %d\n%s", r.status, body)
	}
	if r := get(h, "/gocdbpi/public/?method=get_profile&severity=OUTAGE"); r.status != 400 || !strings.Contains(string(r.body), "Unsupported parameter: severity") {
		t.Errorf("a parameter of another method: %d %s", r.status, r.body)
	}
}

// TestBadMount: a mount that does not fit the collections is an error.
func TestBadMount(t *testing.T) {
	fx := newFixture(t)
	tests := []struct {
		name string
		m    config.Mount
		want string
	}{
		{"unknown option", mountWith(t, map[string]string{"stream": "true"}), "unknown option"},
		{"no method", mountWith(t, map[string]string{"method": ""}), "option method"},
		{"page size zero", mountWith(t, map[string]string{"page_size": "0"}), "page_size"},
		{"page size over max", mountWith(t, map[string]string{"page_size": "100000"}), "page_size"},
		{"unknown element", mountWith(t, map[string]string{"elements": "NOPE"}), "NOPE"},
		{"unknown attribute", mountWith(t, map[string]string{"attributes": "ID,NOPE"}), "NOPE"},
		{"bad element name", mountWith(t, map[string]string{"element": "1X"}), "XML element name"},
		{"bad filter op", mountWith(t, map[string]string{"filters": "severity=SEVERITY:like"}), "unknown operator"},
		{"bad filter", mountWith(t, map[string]string{"filters": "severity"}), "param=NAME"},
		{"reserved filter", mountWith(t, map[string]string{"filters": "next_cursor=ID"}), "reserved"},
		{"duplicate filter", mountWith(t, map[string]string{"filters": "a=ID,a=SEVERITY"}), "twice"},
		{"prefix on a time", mountWith(t, map[string]string{"filters": "a=START_DATE:prefix"}), "text field"},
		{"period of one field", mountWith(t, map[string]string{"period": "START_DATE"}), "start and the end"},
		{"period of text", mountWith(t, map[string]string{"period": "START_DATE,HOSTNAME"}), "not a filterable time"},
		{"topentity on a time", mountWith(t, map[string]string{"topentity": "HOSTNAME,START_DATE"}), "not filterable text"},
		{"topentity empty", mountWith(t, map[string]string{"topentity": ""}), "names no field"},
		{"scope of text", mountWith(t, map[string]string{"scope": "HOSTNAME"}), "not a filterable JSON array"},
		{"default scope without tags", config.Mount{Dialect: config.GOCDB, Path: "/g", Collection: "profiles", Options: map[string]string{"method": "get_p", "default_scope": "EGI"}}, "needs option scope"},
		{"bad default scope match", mountWith(t, map[string]string{"default_scope_match": "most"}), "all or any"},
		{"nested not an element", mountWith(t, map[string]string{"nested": "SCOPES=SCOPE"}), "not one of the elements"},
		{"nested text", mountWith(t, map[string]string{"nested": "HOSTNAME=H"}), "not JSON"},
		{"nested without item", mountWith(t, map[string]string{"nested": "AFFECTED_ENDPOINTS"}), "NAME=ITEM"},
		{"filter on a time parameter", mountWith(t, map[string]string{"filters": "startdate=START_DATE:gt"}), "reserved"},
		{"filter on scope", mountWith(t, map[string]string{"filters": "scope=SEVERITY"}), "reserved"},
		{"text key", config.Mount{Dialect: config.GOCDB, Path: "/g", Collection: "dois", Options: map[string]string{"method": "get_doi"}}, "integer key"},
		{"no collection", config.Mount{Dialect: config.GOCDB, Path: "/g", Collection: "nope", Options: map[string]string{"method": "get_x"}}, "does not exist"},
		{"bad field map", func() config.Mount {
			m := demoMount(t)
			m.Fields = map[string]string{"HOSTED_BY": "nope"}
			return m
		}(), "no visible field"},
	}
	for _, tt := range tests {
		_, err := New(fx.e, tt.m, demodb.Quiet())
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
	other := demoMount(t)
	other.Path = "/elsewhere"
	if _, err := NewGroup(fx.e, []config.Mount{demoMount(t), demoMount(t)}, demodb.Quiet()); err == nil {
		t.Error("the same method twice: no error")
	}
	if _, err := NewGroup(fx.e, []config.Mount{demoMount(t), other}, demodb.Quiet()); err == nil {
		t.Error("two paths in one group: no error")
	}
}

// TestUnavailable: a source failure is a 503 <error> with Retry-After.
func TestUnavailable(t *testing.T) {
	e := demodb.Open(t, newFixture(t).d.Copy(t), config.Demo())
	h := demodb.Handler(t, New, e, demoMount(t))
	e.Source().(interface{ Close() error }).Close()
	for _, q := range []string{"&next_cursor=0", ""} {
		r := get(h, "/gocdbpi/public/?method=get_downtime"+q)
		if r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" || !bytes.HasPrefix(r.body, []byte("<error>")) {
			t.Errorf("%q: %d %v %s", q, r.status, r.header, r.body)
		}
	}
}
