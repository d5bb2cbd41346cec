package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"folio/internal/demotest"
)

// recordKey returns member k of a harvested record, nested by path.
func recordKey(t testing.TB, r Record, path ...string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal(r, &v); err != nil {
		t.Fatalf("record %.200s: %v", r, err)
	}
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("record %.200s has no %v", r, path)
		}
		v = m[k]
	}
	return fmt.Sprint(v)
}

// harvestCase is one way of harvesting the demo server, with the engine
// query that selects the same rows.
type harvestCase struct {
	name       string
	dialect    string
	req        Request
	pageSize   int
	key        []string
	collection string
	filters    url.Values
}

func harvestCases(base string) []harvestCase {
	return []harvestCase{
		{"native", Native, Request{URL: base + "/v1/entries?sort=-upload_create_time"}, 77, []string{"entry_id"}, "entries", nil},
		{"native filtered", Native, Request{URL: base + "/v1/entries?elements[all]=O&band_gap[gte]=1"}, 50, []string{"entry_id"}, "entries", url.Values{"elements[all]": {"O"}, "band_gap[gte]": {"1"}}},
		{"nomad POST", Nomad, Request{Method: "POST", URL: base + "/api/v1/entries/query", Body: `{"pagination":{"order_by":"upload_create_time","order":"desc"}}`}, 83, []string{"entry_id"}, "entries", url.Values{"public": {"true"}}},
		{"nomad GET", Nomad, Request{URL: base + "/api/v1/entries"}, 100, []string{"entry_id"}, "entries", url.Values{"public": {"true"}}},
		{"copernica", Copernica, Request{URL: base + "/v2/database/42/profiles"}, 99, []string{"ID"}, "profiles", url.Values{"database_id": {"42"}}},
		{"copernica by offset", Copernica, Request{URL: base + "/v2/database/42/profiles?orderby=modified&order=desc"}, 101, []string{"ID"}, "profiles", url.Values{"database_id": {"42"}}},
		{"copernica stream", Copernica, Request{URL: base + "/stream/v2/database/42/profiles"}, 500, []string{"ID"}, "profiles", url.Values{"database_id": {"42"}}},
		{"jsonapi", JSONAPI, Request{URL: base + "/dois"}, 31, []string{"id"}, "dois", nil},
		{"gocdb", GOCDB, Request{URL: base + "/gocdbpi/public/?method=get_downtime"}, 0, []string{"ID"}, "downtimes", nil},
		{"link", Link, Request{URL: base + "/v1/dois?limit=45"}, 0, []string{"id"}, "dois", nil},
		// A sort and a filter with commas: the Link header carries them as %2C.
		{"link, two sort keys", Link, Request{URL: base + "/v1/dois?limit=45&sort=-created,id&state[in]=findable,draft"}, 0, []string{"id"}, "dois", url.Values{"state[in]": {"findable,draft"}}},
	}
}

// harvestAll harvests hc in dialect with c to the end and returns the
// records' keys, the number of pages and the last checkpoint.
func harvestAll(t *testing.T, c *Client, hc harvestCase, dialect string) (keys []string, pages int, last Checkpoint) {
	t.Helper()
	cp, err := Start(hc.req, dialect, hc.pageSize)
	if err != nil {
		t.Fatal(err)
	}
	for p, err := range c.Pages(context.Background(), cp) {
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, r := range p.Records {
			keys = append(keys, recordKey(t, r, hc.key...))
		}
		last = p.After
	}
	return keys, pages, last
}

// TestDialects harvests the real server in every dialect, named and
// detected, and compares the keys with the engine's own full result.
func TestDialects(t *testing.T) {
	ts, e := demotest.Serve(t, demoRows)
	c := New(Options{})
	for _, hc := range harvestCases(ts.URL) {
		want := demotest.Keys(t, e, hc.collection, hc.filters)
		if len(want) < 100 {
			t.Fatalf("%s: the oracle has only %d rows", hc.name, len(want))
		}
		for _, dialect := range []string{hc.dialect, "auto"} {
			t.Run(hc.name+"/"+dialect, func(t *testing.T) {
				got, pages, last := harvestAll(t, c, hc, dialect)
				if last.Dialect != hc.dialect && !(hc.dialect == Link && last.Dialect == Native) {
					t.Errorf("dialect %q, want %q", last.Dialect, hc.dialect)
				}
				if int(last.Records) != len(got) || int(last.Pages) != pages {
					t.Errorf("checkpoint says %d records in %d pages, saw %d in %d", last.Records, last.Pages, len(got), pages)
				}
				if pages < 3 {
					t.Errorf("only %d pages: the case does not page", pages)
				}
				demotest.ExactlyOnce(t, got, want)
			})
		}
	}
}

// TestResumeFromCheckpoint stops a harvest after some pages, serialises
// its checkpoint, and continues from the decoded copy: together the two
// runs hold every record exactly once.
func TestResumeFromCheckpoint(t *testing.T) {
	ts, e := demotest.Serve(t, demoRows)
	c := New(Options{})
	for _, hc := range harvestCases(ts.URL) {
		t.Run(hc.name, func(t *testing.T) {
			want := demotest.Keys(t, e, hc.collection, hc.filters)
			cp, err := Start(hc.req, "auto", hc.pageSize)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			var saved []byte
			for p, err := range c.Pages(context.Background(), cp) {
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range p.Records {
					got = append(got, recordKey(t, r, hc.key...))
				}
				if p.After.Pages == 2 {
					saved, _ = json.Marshal(p.After)
					break
				}
			}
			var back Checkpoint
			if err := json.Unmarshal(saved, &back); err != nil {
				t.Fatal(err)
			}
			// Each way of paging is the one the dialect's answers call for.
			if want, ok := map[string]string{
				"copernica": "ID%3E%3D", "copernica by offset": "start=", "jsonapi": "page%5Bcursor%5D=",
				"gocdb": "next_cursor=", "nomad GET": "page_after_value=", "native": "cursor=",
			}[hc.name]; ok && !strings.Contains(back.Next.URL, want) {
				t.Errorf("the third request %s lacks %s", back.Next.URL, want)
			}
			if hc.name == "nomad POST" && !strings.Contains(back.Next.Body, `"page_after_value"`) {
				t.Errorf("the third request's body %s lacks page_after_value", back.Next.Body)
			}
			if len(saved) > 2048 {
				t.Errorf("checkpoint of %d bytes: %s", len(saved), saved)
			}
			for r, err := range c.Records(context.Background(), back) {
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, recordKey(t, r, hc.key...))
			}
			demotest.ExactlyOnce(t, got, want)
		})
	}
}

// TestCancel stops a harvest by its context.
func TestCancel(t *testing.T) {
	ts, _ := demotest.Serve(t, demoRows)
	c := New(Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cp, _ := Start(Request{URL: ts.URL + "/v1/entries"}, Native, 10)
	n := 0
	var last error
	for _, err := range c.Records(ctx, cp) {
		if err != nil {
			last = err
			break
		}
		n++
		if n == 15 {
			cancel()
		}
	}
	if last != context.Canceled {
		t.Fatalf("harvest ended with %v after %d records, want context.Canceled", last, n)
	}
	if n != 20 {
		t.Errorf("%d records before the cancelled page, want 20", n)
	}
}
