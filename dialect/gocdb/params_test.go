package gocdb

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
)

// demoRow reads the demo downtimes the oracle holds by column name.
type demoRow struct {
	cols map[string]int
	row  []engine.Value
}

func (fx fixture) rows() []demoRow {
	cols := map[string]int{}
	for i, c := range fx.oracle.Columns {
		cols[c.Name] = i
	}
	out := make([]demoRow, len(fx.oracle.Rows))
	for i, r := range fx.oracle.Rows {
		out[i] = demoRow{cols, r}
	}
	return out
}

func (r demoRow) id() int64               { return r.row[r.cols["id"]].(int64) }
func (r demoRow) text(name string) string { return r.row[r.cols[name]].(string) }
func (r demoRow) time(name string) time.Time {
	return r.row[r.cols[name]].(time.Time)
}
func (r demoRow) scopes() []string {
	var tags []string
	if err := json.Unmarshal([]byte(r.text("scopes")), &tags); err != nil {
		panic(err)
	}
	return tags
}

// ids returns the ids of the rows that keep, ascending.
func (fx fixture) idsWhere(keep func(demoRow) bool) []int64 {
	var out []int64
	for _, r := range fx.rows() {
		if keep(r) {
			out = append(out, r.id())
		}
	}
	slices.Sort(out)
	return out
}

// clockHandler serves the demo mount (with opts changed) at a fixed time.
func clockHandler(t testing.TB, fx fixture, now time.Time, opts map[string]string) http.Handler {
	t.Helper()
	h, err := newGroup(fx.e, []config.Mount{mountWith(t, opts)}, demodb.Quiet(), func() time.Time { return now })
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// TestDowntimeParameters holds get_downtime's own parameters to GOCDB's
// semantics (GetDowntime.php), each written here as a predicate over the
// demo rows: paged and unpaged answers both give exactly those rows.
func TestDowntimeParameters(t *testing.T) {
	fx := newFixture(t)
	rows := fx.rows()
	// "now" falls inside a downtime of several hours, so that something is
	// ongoing; the window ends on the day another downtime starts, to
	// show the day GOCDB adds to windowend.
	var long, later demoRow
	for _, r := range rows {
		if d := r.time("end_date").Sub(r.time("start_date")); d > 3*time.Hour && r.id() > 300 && long.row == nil {
			long = r
		}
		if r.id() == 700 {
			later = r
		}
	}
	if long.row == nil || later.row == nil || later.time("start_date").Hour() == 0 {
		t.Fatal("the demo has no downtime to set the clock by")
	}
	now := long.time("start_date").Add(time.Hour).Add(30 * time.Second)
	h := clockHandler(t, fx, now, nil)
	day := func(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
	from, to := day(long.time("start_date")).AddDate(0, 0, -40), day(later.time("start_date"))
	monthAgo := now.AddDate(0, -1, 0).AddDate(0, 0, -1)
	site, host, ngi := later.text("site"), later.text("hostname"), later.text("ngi")
	has := func(r demoRow, tags ...string) int {
		n := 0
		for _, tag := range tags {
			if slices.Contains(r.scopes(), tag) {
				n++
			}
		}
		return n
	}

	tests := []struct {
		query    string
		keep     func(demoRow) bool
		volatile bool
		must     int64 // an id that must be in the answer (0: none)
	}{
		{"ongoing_only=yes", func(r demoRow) bool {
			return r.time("start_date").Before(now) && r.time("end_date").After(now)
		}, true, long.id()},
		{"ongoing_only=no", func(demoRow) bool { return true }, false, 0},
		{"startdate=" + from.Format(time.DateOnly), func(r demoRow) bool { return r.time("start_date").After(from) }, false, later.id()},
		{"enddate=" + to.Format(time.DateOnly), func(r demoRow) bool { return r.time("end_date").Before(to) }, false, long.id()},
		{"windowstart=" + from.Format(time.DateOnly) + "&windowend=" + to.Format(time.DateOnly), func(r demoRow) bool {
			return r.time("end_date").After(from) && r.time("start_date").Before(to.AddDate(0, 0, 1))
		}, false, later.id()},
		{"all_lastmonth=", func(r demoRow) bool { return r.time("start_date").After(monthAgo) }, true, long.id()},
		{"all_lastmonth=no&scope=&topentity=" + url.QueryEscape(ngi), func(r demoRow) bool {
			return r.time("start_date").After(monthAgo) && r.text("ngi") == ngi
		}, true, 0},
		{"topentity=" + site, func(r demoRow) bool { return r.text("site") == site }, false, later.id()},
		{"topentity=" + host, func(r demoRow) bool { return r.text("hostname") == host }, false, later.id()},
		{"topentity=" + ngi, func(r demoRow) bool { return r.text("ngi") == ngi }, false, later.id()},
		{"topentity=NOWHERE", func(demoRow) bool { return false }, false, 0},
		{"servicelist=" + host + "&ngilist=" + ngi + ",NGI_NONE", func(r demoRow) bool {
			return r.text("hostname") == host && r.text("ngi") == ngi
		}, false, later.id()},
		{"scope=", func(demoRow) bool { return true }, false, 0},
		{"scope=Local", func(r demoRow) bool { return has(r, "Local") == 1 }, false, 0},
		{"scope=wlcg,cms", func(r demoRow) bool { return has(r, "wlcg", "cms") == 2 }, false, 0},
		{"scope=wlcg,cms&scope_match=all", func(r demoRow) bool { return has(r, "wlcg", "cms") == 2 }, false, 0},
		{"scope=cms,Local&scope_match=any", func(r demoRow) bool { return has(r, "cms", "Local") > 0 }, false, 0},
		{"scope=%2CLocal%2C", func(r demoRow) bool { return has(r, "Local") == 1 }, false, 0},
		{"scope_match=any&scope=EGI,Local&windowstart=" + from.Format(time.DateOnly), func(r demoRow) bool {
			return has(r, "EGI", "Local") > 0 && r.time("end_date").After(from)
		}, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			want := fx.idsWhere(tt.keep)
			if tt.must != 0 && !slices.Contains(want, tt.must) {
				t.Fatalf("the test's own predicate misses %d", tt.must)
			}
			if strings.Contains(tt.query, "scope=") && !strings.HasPrefix(tt.query, "scope=&") && tt.query != "scope=" && (len(want) == 0 || len(want) == len(rows)) {
				t.Fatalf("a scope that selects %d of %d rows tells nothing", len(want), len(rows))
			}
			start := "/gocdbpi/public/?method=get_downtime&" + tt.query + "&next_cursor=0"
			var got []int64
			for link := start; ; {
				r := get(h, link)
				if cc := r.header.Get("Cache-Control"); (cc == "no-store") != tt.volatile {
					t.Errorf("%s: Cache-Control %q", link, cc)
				}
				d := parseDoc(t, r)
				if d.Meta.Count == 0 {
					break
				}
				got = append(got, d.ids()...)
				next := d.link("next")
				// GOCDB's links carry every parameter given, "scope=" too.
				if q, _ := url.ParseQuery(strings.SplitN(next, "?", 2)[1]); len(q) != len(parseQuery(strings.SplitN(start, "?", 2)[1])) {
					t.Fatalf("next link %s lost a parameter of %s", next, start)
				}
				link = target(t, next)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("harvest: %d ids %v\nwant %d %v", len(got), head(got), len(want), head(want))
			}
			d := parseDoc(t, get(h, "/gocdbpi/public/?method=get_downtime&"+tt.query))
			if !slices.Equal(d.ids(), want) {
				t.Fatalf("unpaged: %d ids, want %d", len(d.ids()), len(want))
			}
		})
	}

	// all_lastmonth reaches back a month and a day: a downtime that started
	// a month and half a day before the clock is still in.
	var edge demoRow
	for _, r := range rows {
		if st := r.time("start_date"); st.Day() <= 28 && r.id() > 100 {
			edge = r
			break
		}
	}
	edgeNow := edge.time("start_date").AddDate(0, 1, 0).Add(12 * time.Hour)
	if d := parseDoc(t, get(clockHandler(t, fx, edgeNow, nil), "/gocdbpi/public/?method=get_downtime&all_lastmonth=yes")); !slices.Contains(d.ids(), edge.id()) {
		t.Errorf("all_lastmonth at %v leaves out downtime %d, which started %v", edgeNow, edge.id(), edge.time("start_date"))
	}

	// A mount's default scope applies when the request names none; the
	// empty scope lifts it.
	egi := clockHandler(t, fx, now, map[string]string{"default_scope": "EGI"})
	if d, want := parseDoc(t, get(egi, "/gocdbpi/public/?method=get_downtime")), fx.idsWhere(func(r demoRow) bool { return has(r, "EGI") == 1 }); !slices.Equal(d.ids(), want) || len(want) == len(rows) {
		t.Errorf("default scope EGI: %d rows, want %d of %d", len(d.ids()), len(want), len(rows))
	}
	if d := parseDoc(t, get(egi, "/gocdbpi/public/?method=get_downtime&scope=")); len(d.ids()) != len(rows) {
		t.Errorf("default scope EGI, scope=: %d rows, want every one (%d)", len(d.ids()), len(rows))
	}
	any := clockHandler(t, fx, now, map[string]string{"default_scope_match": "any"})
	if d, want := parseDoc(t, get(any, "/gocdbpi/public/?method=get_downtime&scope=cms,Local")), fx.idsWhere(func(r demoRow) bool { return has(r, "cms", "Local") > 0 }); !slices.Equal(d.ids(), want) {
		t.Errorf("default_scope_match any: %d rows, want %d", len(d.ids()), len(want))
	}
}

func head(ids []int64) []int64 { return ids[:min(len(ids), 10)] }

// TestScopeWithoutTags: a method over a collection without scope tags
// takes scope and scope_match, as every GOCDB method does, and filters
// nothing, so that GOCDB's own links ("scope=" on every page) work.
func TestScopeWithoutTags(t *testing.T) {
	fx := newFixture(t)
	profiles := config.Mount{Dialect: config.GOCDB, Path: "/gocdbpi/public", Collection: "profiles",
		Options: map[string]string{"method": "get_profile", "filters": "city=CITY"}}
	h := demodb.Handler(t, New, fx.e, profiles)
	ids := regexp.MustCompile(`<PROFILE ID="[0-9]+"`)
	all := ids.FindAll(get(h, "/gocdbpi/public/?method=get_profile&city=Amsterdam&next_cursor=0").body, -1)
	for _, q := range []string{"scope=", "scope=EGI", "scope=EGI,Local&scope_match=any"} {
		r := get(h, "/gocdbpi/public/?method=get_profile&city=Amsterdam&"+q+"&next_cursor=0")
		if got := ids.FindAll(r.body, -1); r.status != 200 || len(got) == 0 || !slices.EqualFunc(got, all, bytes.Equal) {
			t.Errorf("%s: %d, %d rows, want the %d without it", q, r.status, len(got), len(all))
		}
	}
	if r := get(h, "/gocdbpi/public/?method=get_profile&ongoing_only=yes"); r.status != 400 || !strings.Contains(string(r.body), "Unsupported parameter: ongoing_only") {
		t.Errorf("a time parameter on a method without a period: %d %s", r.status, r.body)
	}
}
