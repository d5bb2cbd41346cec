package face_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"folio/face"
	"folio/internal/demodb"
	"folio/internal/demotest"
	"folio/internal/openapitest"
)

func TestMain(m *testing.M) { os.Exit(demodb.Main(m)) }

const browser = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

// get fetches target with Accept accept (none when empty), without
// following redirects, and validates the answer against the server's
// OpenAPI document.
func get(t *testing.T, v *openapitest.Validator, target, accept string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusSeeOther {
		v.Check(t, req, resp, body)
	}
	return resp, body
}

func TestWantsHTML(t *testing.T) {
	for _, tc := range []struct {
		accept, query string
		want          bool
	}{
		{"", "", false},
		{"*/*", "", false},
		{"application/json", "", false},
		{browser, "", true},
		{"text/html", "", true},
		{"application/json, text/html;q=0.5", "", false},
		{"text/html;q=0", "", false},
		{browser, "format=json", false},
		{"", "format=html", true},
		{"*/*", "limit=5&format=html", true},
	} {
		r, _ := http.NewRequest("GET", "/v1/entries?"+tc.query, nil)
		if tc.accept != "" {
			r.Header.Set("Accept", tc.accept)
		}
		if got := face.WantsHTML(r); got != tc.want {
			t.Errorf("Accept %q, query %q: HTML %v, want %v", tc.accept, tc.query, got, tc.want)
		}
	}
}

// TestNegotiation: API clients get exactly the JSON they got before;
// browsers (or format=html) get a page; exports stay exports; the page
// cache keeps the two forms apart.
func TestNegotiation(t *testing.T) {
	ts, _ := demotest.Serve(t, demodb.Rows)
	v := openapitest.Fetch(t, ts.URL)
	target := ts.URL + "/v1/entries?limit=3&sort=-n_elements"
	_, plain := get(t, v, target, "")
	for i := 0; i < 2; i++ { // the second time from the cache
		for _, tc := range []struct {
			target, accept, ctype string
			same                  bool // the body is the plain JSON's
		}{
			{target, "*/*", "application/json", true},
			{target, "application/json", "application/json", true},
			{target, browser, "text/html; charset=utf-8", false},
			{target + "&format=json", browser, "application/json", false},
			{target + "&format=html", "", "text/html; charset=utf-8", false},
			{ts.URL + "/v1/entries.csv?limit=2", browser, "text/csv; charset=utf-8", false},
			{ts.URL + "/v1", browser, "text/html; charset=utf-8", false},
			{ts.URL + "/", browser, "text/html; charset=utf-8", false},
			{ts.URL + "/", "", "application/json", false},
			{ts.URL + "/docs", browser, "text/html; charset=utf-8", false},
			{ts.URL + "/openapi.yaml", "", "application/yaml", false},
		} {
			resp, body := get(t, v, tc.target, tc.accept)
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != tc.ctype {
				t.Errorf("%s (Accept %q): %d %s, want 200 %s", tc.target, tc.accept, resp.StatusCode, resp.Header.Get("Content-Type"), tc.ctype)
			}
			if tc.same && !bytes.Equal(body, plain) {
				t.Errorf("%s (Accept %q): the JSON differs from an API client's", tc.target, tc.accept)
			}
		}
	}
}

// cells returns the text of every cell of the page's rows table, and the
// classes of the values in them.
func cells(t *testing.T, body []byte) (headers []string, rows [][]string) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var table *html.Node
	var find func(n *html.Node)
	find = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "table" && attr(n, "class") == "rows" {
			table = n
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(doc)
	if table == nil {
		t.Fatalf("no rows table in %s", body)
	}
	walk(table, func(n *html.Node) {
		switch {
		case n.Data == "th":
			headers = append(headers, attr(n, "data-field"))
		case n.Data == "tr" && n.Parent.Data == "tbody":
			var r []string
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				if c.Type == html.ElementNode && c.Data == "td" && attr(c, "colspan") == "" {
					r = append(r, cellText(c))
				}
			}
			if r != nil {
				rows = append(rows, r)
			}
		}
	})
	return headers, rows
}

func walk(n *html.Node, f func(*html.Node)) {
	if n.Type == html.ElementNode {
		f(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func attr(n *html.Node, k string) string {
	for _, a := range n.Attr {
		if a.Key == k {
			return a.Val
		}
	}
	return ""
}

// cellText is what a cell says: NULL, "" for an empty string, a list's
// items joined by "|", a long text in full.
func cellText(n *html.Node) string {
	var b strings.Builder
	var items []string
	var rec func(n *html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch {
			case attr(n, "class") == "null":
				b.WriteString("\x00NULL")
				return
			case n.Data == "summary":
				return // the cut text; the full one follows
			case n.Data == "li":
				var s strings.Builder
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					s.WriteString(c.Data)
				}
				items = append(items, s.String())
				return
			}
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	if items != nil {
		return "[" + strings.Join(items, "|") + "]"
	}
	return b.String()
}

// jsonCell is what cellText must read for a JSON value.
func jsonCell(raw json.RawMessage) string {
	var v any
	json.Unmarshal(raw, &v)
	switch x := v.(type) {
	case nil:
		return "\x00NULL"
	case string:
		if x == "" {
			return `""`
		}
		return x
	case []any:
		if len(x) == 0 {
			return "[ ]"
		}
		var items []json.RawMessage
		json.Unmarshal(raw, &items)
		out := make([]string, len(items))
		for i, it := range items {
			var s string
			if it[0] == '"' && json.Unmarshal(it, &s) == nil {
				out[i] = s
			} else {
				out[i] = string(it) // an object or number as the API has it
			}
		}
		return "[" + strings.Join(out, "|") + "]"
	}
	return string(raw)
}

// SameRows fails t unless the page at target shows the rows the JSON API
// returns for the same URL, field for field. Exported to the browser test
// through the package's test files.
func sameRows(t *testing.T, v *openapitest.Validator, target string, body []byte) {
	t.Helper()
	u, _ := url.Parse(target)
	q := u.Query()
	q.Set("format", "json")
	u.RawQuery = q.Encode()
	_, js := get(t, v, u.String(), "")
	var page struct {
		Data []map[string]json.RawMessage
	}
	if err := json.Unmarshal(js, &page); err != nil {
		t.Fatalf("%s: %v", u, err)
	}
	headers, rows := cells(t, body)
	if len(rows) != len(page.Data) {
		t.Fatalf("%s: %d rows shown, the API returns %d", target, len(rows), len(page.Data))
	}
	for i, r := range rows {
		if len(r) != len(page.Data[i]) || len(r) != len(headers) {
			t.Fatalf("%s: row %d has %d cells, the API %d fields", target, i, len(r), len(page.Data[i]))
		}
		for j, h := range headers {
			if want := jsonCell(page.Data[i][h]); r[j] != want {
				t.Errorf("%s: row %d %s shows %q, the API %q", target, i, h, r[j], want)
			}
		}
	}
}

// TestPagesShowTheAPIRows: sorted, filtered, projected and paged pages
// show exactly the API's rows for the same URL, NULLs and empty strings
// apart, arrays as lists.
func TestPagesShowTheAPIRows(t *testing.T) {
	ts, _ := demotest.Serve(t, demodb.Rows)
	v := openapitest.Fetch(t, ts.URL)
	for _, target := range []string{
		"/v1/entries?limit=7",
		"/v1/entries?limit=5&sort=band_gap.nullsfirst",
		"/v1/entries?limit=5&elements[any]=O,Fe&sort=-n_elements&fields=entry_id,elements,band_gap,formula",
		"/v1/dois?limit=4&sort=created",
		"/v1/profiles?limit=6&offset=12",
		"/v1/downtimes?limit=5",
	} {
		link := ts.URL + target
		for i := 0; i < 3 && link != ""; i++ {
			resp, body := get(t, v, link, browser)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %d %s", link, resp.StatusCode, body)
			}
			sameRows(t, v, link, body)
			link = relLink(t, body, "next")
		}
	}
}

// relLink is the href of the page's pager link rel.
func relLink(t *testing.T, body []byte, rel string) string {
	doc, err := html.Parse(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var href string
	walk(doc, func(n *html.Node) {
		if n.Data == "a" && attr(n, "data-rel") == rel && href == "" {
			href = attr(n, "href")
		}
	})
	return href
}

// TestFilterForm: the builder's form redirects to the URL the API takes.
func TestFilterForm(t *testing.T) {
	ts, _ := demotest.Serve(t, demodb.Rows)
	v := openapitest.Fetch(t, ts.URL)
	form := url.Values{
		"form": {"1"}, "ff": {"n_elements", "band_gap", ""}, "fo": {"gte", "null", "eq"}, "fv": {"3", "false", ""},
		"fc": {"entry_id", "n_elements"}, "limit": {"10"}, "total": {"exact"}, "sort": {"-n_elements"},
	}
	resp, _ := get(t, v, ts.URL+"/v1/entries?"+form.Encode(), browser)
	want := ts.URL + "/v1/entries?band_gap%5Bnull%5D=false&fields=entry_id%2Cn_elements&limit=10&n_elements%5Bgte%5D=3&sort=-n_elements&total=exact"
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
		t.Fatalf("%d %s, want 303 %s", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	resp, body := get(t, v, want, browser)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	sameRows(t, v, want, body)
	if !bytes.Contains(body, []byte("(exact)")) {
		t.Error("the total is not labelled exact")
	}
}

// TestErrorsAsPages: a bad parameter is the API's 400, as a page naming it.
func TestErrorsAsPages(t *testing.T) {
	ts, _ := demotest.Serve(t, demodb.Rows)
	v := openapitest.Fetch(t, ts.URL)
	for _, tc := range []struct {
		target string
		status int
		says   string
	}{
		{"/v1/entries?limit=0", 400, "limit"},
		{"/v1/entries?n_elements[prefix]=1", 400, "n_elements[prefix]"},
		{"/v1/entries/no-such-entry", 404, "no-such-entry"},
		{"/v1/entries?<script>=1", 400, "&lt;script&gt;"},
	} {
		resp, body := get(t, v, ts.URL+tc.target, browser)
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte(tc.says)) {
			t.Errorf("%s: %d %s, want %d naming %s:\n%s", tc.target, resp.StatusCode, resp.Header.Get("Content-Type"), tc.status, tc.says, body)
		}
	}
}

// TestUnknownFormat: a format the face does not have is the API's 400
// naming the parameter, not a silent choice.
func TestUnknownFormat(t *testing.T) {
	ts, _ := demotest.Serve(t, demodb.Rows)
	v := openapitest.Fetch(t, ts.URL)
	resp, body := get(t, v, ts.URL+"/v1/entries?format=xml", browser)
	if resp.StatusCode != http.StatusBadRequest || !bytes.Contains(body, []byte(`"parameter":"format"`)) {
		t.Errorf("format=xml: %d %s", resp.StatusCode, body)
	}
}

// TestRecordPage: a record of each collection, NULL apart from empty.
func TestRecordPage(t *testing.T) {
	ts, _ := demotest.Serve(t, demodb.Rows)
	v := openapitest.Fetch(t, ts.URL)
	for _, coll := range []string{"entries", "dois", "profiles", "downtimes"} {
		_, body := get(t, v, ts.URL+"/v1/"+coll+"?limit=1", browser)
		_, rows := cells(t, body)
		link := ""
		doc, _ := html.Parse(bytes.NewReader(body))
		walk(doc, func(n *html.Node) {
			if n.Data == "a" && link == "" && strings.Contains(attr(n, "href"), "/v1/"+coll+"/") {
				link = attr(n, "href")
			}
		})
		if link == "" || len(rows) != 1 {
			t.Fatalf("%s: no record link in the first page", coll)
		}
		resp, page := get(t, v, link, browser)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", link, resp.StatusCode, page)
		}
		sameRecord(t, v, link, page)
	}
}

// sameRecord fails t unless the record page at link shows each field of
// the JSON API's record for the same URL, as the API has it.
func sameRecord(t *testing.T, v *openapitest.Validator, link string, page []byte) {
	t.Helper()
	_, js := get(t, v, link+"?format=json", "")
	var rec struct{ Data map[string]json.RawMessage }
	if err := json.Unmarshal(js, &rec); err != nil || len(rec.Data) == 0 {
		t.Fatalf("%s as JSON: %v %s", link, err, js)
	}
	doc, _ := html.Parse(bytes.NewReader(page))
	n := 0
	walk(doc, func(n2 *html.Node) {
		if f := attr(n2, "data-field"); n2.Data == "td" && f != "" {
			n++
			if got, want := cellText(n2), jsonCell(rec.Data[f]); got != want {
				t.Errorf("%s: %s shows %q, the API %q", link, f, got, want)
			}
		}
	})
	if n != len(rec.Data) {
		t.Errorf("%s: %d fields shown, the API %d", link, n, len(rec.Data))
	}
}

// TestLandingExamples: the index lists every collection and mount, and
// each mount's example link works (and validates against the document).
func TestLandingExamples(t *testing.T) {
	ts, e := demotest.Serve(t, demodb.Rows)
	v := openapitest.Fetch(t, ts.URL)
	_, body := get(t, v, ts.URL+"/", "")
	var index struct {
		Collections []struct {
			Name string
			URL  string
			Rows *int64 `json:"rows_estimate"`
		}
		Mounts []struct{ Dialect, Path, Example string }
	}
	if err := json.Unmarshal(body, &index); err != nil {
		t.Fatal(err)
	}
	if len(index.Collections) != len(e.Collections()) || len(index.Mounts) < 5 {
		t.Fatalf("index: %d collections, %d mounts: %s", len(index.Collections), len(index.Mounts), body)
	}
	for _, c := range index.Collections {
		if c.Rows == nil || *c.Rows <= 0 {
			t.Errorf("%s: no row estimate", c.Name)
		}
	}
	for _, m := range index.Mounts {
		resp, b := get(t, v, m.Example, "")
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s %s: example %s: %d %s", m.Dialect, m.Path, m.Example, resp.StatusCode, b)
		}
	}
}
