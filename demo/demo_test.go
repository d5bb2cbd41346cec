package demo

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"hash"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"folio/dataset"
	"folio/engine"
)

func tableByName(t testing.TB, tables []*dataset.Table, name string) *dataset.Table {
	t.Helper()
	for _, tb := range tables {
		if tb.Name == name {
			return tb
		}
	}
	t.Fatalf("no table %q", name)
	return nil
}

// col returns a function that reads a column of a row by name.
func col(t testing.TB, tb *dataset.Table) func(row []engine.Value, name string) engine.Value {
	return func(row []engine.Value, name string) engine.Value {
		for i, c := range tb.Columns {
			if c.Name == name {
				return row[i]
			}
		}
		t.Fatalf("table %s has no column %q", tb.Name, name)
		return nil
	}
}

func TestTableSizes(t *testing.T) {
	tests := []struct {
		rows                               int
		entries, dois, downtimes, profiles int
	}{
		{DefaultRows, 1_000_000, 200_000, 50_000, 300_000},
		{100_000, 100_000, 20_000, 5_000, 30_000},
		{2000, 2000, 400, minDowntimes, minProfiles},
		{1, 1, minDOIs, minDowntimes, minProfiles},
		{0, 1, minDOIs, minDowntimes, minProfiles},
		{-5, 1, minDOIs, minDowntimes, minProfiles},
	}
	for _, tt := range tests {
		tables := Tables(tt.rows, DefaultSeed)
		var got []string
		for _, tb := range tables {
			got = append(got, fmt.Sprintf("%s=%d", tb.Name, tb.Len))
		}
		want := []string{
			fmt.Sprintf("entries=%d", tt.entries), fmt.Sprintf("dois=%d", tt.dois),
			fmt.Sprintf("downtimes=%d", tt.downtimes), fmt.Sprintf("profiles=%d", tt.profiles),
		}
		if !slices.Equal(got, want) {
			t.Errorf("Tables(%d): %v, want %v", tt.rows, got, want)
		}
	}
}

// valueOK reports whether v is a value of column c: the Go type the engine
// expects, NULL only where allowed, finite floats, UTC times with at most
// microsecond precision, valid UTF-8 text.
func valueOK(c dataset.Column, v engine.Value) error {
	if v == nil {
		if c.Nullable {
			return nil
		}
		return fmt.Errorf("NULL in non-nullable column")
	}
	switch c.Type {
	case engine.TypeText:
		if s, ok := v.(string); !ok || !utf8.ValidString(s) {
			return fmt.Errorf("%T %q is not valid text", v, v)
		}
	case engine.TypeJSON:
		s, ok := v.(string)
		if !ok || !json.Valid([]byte(s)) {
			return fmt.Errorf("%T %v is not JSON text", v, v)
		}
	case engine.TypeInt:
		if _, ok := v.(int64); !ok {
			return fmt.Errorf("%T is not int64", v)
		}
	case engine.TypeFloat:
		f, ok := v.(float64)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%T %v is not a finite float64", v, v)
		}
	case engine.TypeBool:
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%T is not bool", v)
		}
	case engine.TypeTime:
		tm, ok := v.(time.Time)
		if !ok || tm.Location() != time.UTC || tm.Nanosecond()%1000 != 0 {
			return fmt.Errorf("%T %v is not a UTC time in whole microseconds", v, v)
		}
	default:
		return fmt.Errorf("unexpected column type %v", c.Type)
	}
	return nil
}

func TestRowsMatchSchema(t *testing.T) {
	for _, tb := range Tables(2000, DefaultSeed) {
		t.Run(tb.Name, func(t *testing.T) {
			key := slices.IndexFunc(tb.Columns, func(c dataset.Column) bool { return slices.Equal([]string{c.Name}, tb.Key) })
			if key < 0 || tb.Columns[key].Nullable {
				t.Fatalf("key %q missing or nullable", tb.Key)
			}
			for _, ix := range tb.Indexes {
				if !strings.HasPrefix(ix.Name, tb.Name+"_") {
					t.Errorf("index %s not named after its table", ix.Name)
				}
				for _, name := range ix.Columns {
					if !slices.ContainsFunc(tb.Columns, func(c dataset.Column) bool { return c.Name == strings.TrimPrefix(name, "-") }) {
						t.Errorf("index %s names unknown column %q", ix.Name, name)
					}
				}
			}
			seen := make(map[engine.Value]bool, tb.Len)
			n := 0
			for row := range tb.Rows {
				n++
				if len(row) != len(tb.Columns) {
					t.Fatalf("row %d has %d values for %d columns", n, len(row), len(tb.Columns))
				}
				for i, c := range tb.Columns {
					if err := valueOK(c, row[i]); err != nil {
						t.Fatalf("row %d, column %s: %v", n, c.Name, err)
					}
				}
				if seen[row[key]] {
					t.Fatalf("row %d: duplicate key %v", n, row[key])
				}
				seen[row[key]] = true
			}
			if n != tb.Len {
				t.Errorf("Rows yielded %d rows, Len is %d", n, tb.Len)
			}
		})
	}
}

func TestRowsStopEarly(t *testing.T) {
	for _, tb := range Tables(2000, DefaultSeed) {
		n := 0
		for range tb.Rows {
			n++
			if n == 10 {
				break
			}
		}
		if n != 10 {
			t.Errorf("%s: stopped after %d rows, want 10", tb.Name, n)
		}
	}
}

// digest hashes every value of a table with its type.
func digest(tb *dataset.Table) string {
	var h hash.Hash = sha256.New()
	for row := range tb.Rows {
		for _, v := range row {
			fmt.Fprintf(h, "%T:%s|", v, engine.FormatValue(v))
		}
		h.Write([]byte{'\n'})
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestDeterministic(t *testing.T) {
	const rows = 3000
	a, b, other := Tables(rows, 7), Tables(rows, 7), Tables(rows, 8)
	for i := range a {
		da := digest(a[i])
		if db := digest(b[i]); da != db {
			t.Errorf("%s: two generations with the same seed differ", a[i].Name)
		}
		if again := digest(a[i]); da != again {
			t.Errorf("%s: iterating the same table twice gives different rows", a[i].Name)
		}
		if do := digest(other[i]); da == do {
			t.Errorf("%s: seeds 7 and 8 give the same rows", a[i].Name)
		}
	}
}

var (
	nomadIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{28}$`)
	symbolPattern  = regexp.MustCompile(`([A-Z][a-z]?)([0-9]*)`)
)

// parseFormula splits a formula into its symbols, in order, and the sum of
// its counts.
func parseFormula(t *testing.T, f string) (syms []string, atoms int) {
	t.Helper()
	if got := strings.Join(symbolPattern.FindAllString(f, -1), ""); got != f {
		t.Fatalf("formula %q does not parse (%q)", f, got)
	}
	for _, m := range symbolPattern.FindAllStringSubmatch(f, -1) {
		syms = append(syms, m[1])
		n := 1
		if m[2] != "" {
			fmt.Sscan(m[2], &n)
			if n < 2 {
				t.Fatalf("formula %q writes a count below 2", f)
			}
		}
		atoms += n
	}
	return syms, atoms
}

// hillOrder is the order of symbols in a Hill formula.
func hillOrder(syms []string) []string {
	s := slices.Clone(syms)
	slices.Sort(s)
	if !slices.Contains(s, "C") {
		return s
	}
	out := []string{"C"}
	if slices.Contains(s, "H") {
		out = append(out, "H")
	}
	for _, x := range s {
		if x != "C" && x != "H" {
			out = append(out, x)
		}
	}
	return out
}

func TestEntries(t *testing.T) {
	const rows = 50_000
	tb := tableByName(t, Tables(rows, DefaultSeed), "entries")
	get := col(t, tb)
	var (
		nullGap, zeroGap, public, tiO int
		uploadTime                    = map[string]time.Time{}
		perUpload                     = map[string]int{}
		timeRows                      = map[time.Time]int{}
		methods, programs             = map[string]bool{}, map[string]bool{}
	)
	for row := range tb.Rows {
		id, upload := get(row, "entry_id").(string), get(row, "upload_id").(string)
		if !nomadIDPattern.MatchString(id) || !nomadIDPattern.MatchString(upload) {
			t.Fatalf("ids %q, %q are not 28 base64url characters", id, upload)
		}
		ut, et := get(row, "upload_create_time").(time.Time), get(row, "entry_create_time").(time.Time)
		if et.Before(ut) {
			t.Fatalf("%s: entry created %v before its upload %v", id, et, ut)
		}
		if ut.Year() < 2014 || ut.Year() > 2025 {
			t.Fatalf("%s: upload time %v outside 2014–2025", id, ut)
		}
		if prev, ok := uploadTime[upload]; ok && !prev.Equal(ut) {
			t.Fatalf("upload %s has two times %v and %v", upload, prev, ut)
		}
		uploadTime[upload] = ut
		perUpload[upload]++
		timeRows[ut]++

		var elements []string
		if err := json.Unmarshal([]byte(get(row, "elements").(string)), &elements); err != nil {
			t.Fatal(err)
		}
		if !slices.IsSorted(elements) || len(slices.Compact(slices.Clone(elements))) != len(elements) || len(elements) == 0 {
			t.Fatalf("%s: elements %v not sorted, unique and non-empty", id, elements)
		}
		if n := get(row, "n_elements").(int64); n != int64(len(elements)) {
			t.Fatalf("%s: n_elements %d for %v", id, n, elements)
		}
		formula := get(row, "formula").(string)
		syms, atoms := parseFormula(t, formula)
		if !slices.Equal(syms, hillOrder(elements)) {
			t.Fatalf("%s: formula %q is not the Hill formula of %v", id, formula, elements)
		}
		if n := get(row, "n_atoms").(int64); n <= 0 || n%int64(atoms) != 0 {
			t.Fatalf("%s: n_atoms %d is not a multiple of the %d atoms of %s", id, n, atoms, formula)
		}
		if slices.Contains(elements, "Ti") && slices.Contains(elements, "O") {
			tiO++
		}

		switch g := get(row, "band_gap").(type) {
		case nil:
			nullGap++
		case float64:
			if g < 0 {
				t.Fatalf("%s: negative band gap %v", id, g)
			}
			if g == 0 {
				zeroGap++
			}
		}
		if get(row, "public").(bool) {
			public++
		}
		methods[get(row, "method").(string)] = true
		programs[get(row, "program_name").(string)] = true
	}

	share := func(n int) float64 { return float64(n) / rows }
	if s := share(nullGap); s < 0.28 || s > 0.32 {
		t.Errorf("NULL band_gap share %.3f, want about 0.30", s)
	}
	if s := share(public); s < 0.88 || s > 0.92 {
		t.Errorf("public share %.3f, want about 0.90", s)
	}
	if zeroGap == 0 {
		t.Error("no band gap is exactly 0")
	}
	// NOMAD's seed example finds tens of thousands of Ti+O entries; the demo
	// needs thousands at its default size.
	if s := share(tiO); s < 0.005 {
		t.Errorf("Ti and O together in %d entries (%.4f), want at least 0.5%%", tiO, s)
	}
	biggest, shared := 0, 0
	for _, n := range perUpload {
		if n < 1 || n > maxUploadSize {
			t.Errorf("upload of %d entries", n)
		}
		biggest = max(biggest, n)
	}
	for _, n := range timeRows {
		if n > 1 {
			shared += n
		}
	}
	if biggest < 100 || share(shared) < 0.5 {
		t.Errorf("largest upload %d, %d entries share their upload time: want common ties", biggest, shared)
	}
	if len(timeRows) != len(perUpload) {
		t.Errorf("%d uploads but %d distinct upload times", len(perUpload), len(timeRows))
	}
	if len(methods) < 5 || len(programs) < 10 {
		t.Errorf("only %d methods and %d programs", len(methods), len(programs))
	}
}

func TestHill(t *testing.T) {
	tests := []struct {
		syms   []string // sorted by symbol
		counts []int
		want   string
	}{
		{[]string{"O", "Sr", "Ti"}, []int{3, 1, 1}, "O3SrTi"},
		{[]string{"O", "Ti"}, []int{2, 1}, "O2Ti"},
		{[]string{"H", "O"}, []int{2, 1}, "H2O"},
		{[]string{"Cl", "Na"}, []int{1, 1}, "ClNa"},
		{[]string{"C", "H", "O"}, []int{2, 6, 1}, "C2H6O"},
		{[]string{"C", "O"}, []int{1, 2}, "CO2"},
		{[]string{"Br", "C", "H"}, []int{1, 1, 3}, "CH3Br"},
		{[]string{"C", "Cl", "H"}, []int{1, 3, 1}, "CHCl3"},
		{[]string{"Br", "H"}, []int{1, 1}, "BrH"},
		{[]string{"C", "Si"}, []int{1, 1}, "CSi"},
		{[]string{"Ca", "Cd", "H"}, []int{1, 1, 12}, "CaCdH12"}, // Ca and Cd are not carbon
		{[]string{"Fe"}, []int{1}, "Fe"},
		{[]string{"C"}, []int{60}, "C60"},
		{[]string{"Al", "C", "H", "N", "O"}, []int{2, 10, 20, 1, 4}, "C10H20Al2NO4"},
	}
	for _, tt := range tests {
		if got := string(appendHill(nil, tt.syms, tt.counts)); got != tt.want {
			t.Errorf("appendHill(%v, %v) = %q, want %q", tt.syms, tt.counts, got, tt.want)
		}
	}
}

func TestElementTableSorted(t *testing.T) {
	syms := make([]string, len(elementTable))
	for i, e := range elementTable {
		syms[i] = e.symbol
	}
	if !slices.IsSorted(syms) || len(slices.Compact(slices.Clone(syms))) != len(syms) {
		t.Errorf("elementTable is not sorted by symbol without duplicates: %v", syms)
	}
}

func TestDOIs(t *testing.T) {
	tb := tableByName(t, Tables(50_000, DefaultSeed), "dois")
	get := col(t, tb)
	doi := regexp.MustCompile(`^10\.[0-9]{4,5}/[a-z0-9./-]+$`)
	var (
		providers, types = map[string]int{}, map[string]bool{}
		states           = map[string]int{}
		unicodeTitles    int
		n                int
	)
	for row := range tb.Rows {
		n++
		id := get(row, "id").(string)
		if !doi.MatchString(id) || id != strings.ToLower(id) {
			t.Fatalf("id %q is not a lower-case DOI", id)
		}
		provider, client := get(row, "provider_id").(string), get(row, "client_id").(string)
		if !strings.HasPrefix(client, provider+".") {
			t.Fatalf("%s: client %q is not under provider %q", id, client, provider)
		}
		providers[provider]++
		created, updated := get(row, "created").(time.Time), get(row, "updated").(time.Time)
		if updated.Before(created) {
			t.Fatalf("%s: updated %v before created %v", id, updated, created)
		}
		state := get(row, "state").(string)
		states[state]++
		switch y := get(row, "published").(type) {
		case nil:
			if state != "draft" {
				t.Fatalf("%s: %s DOI without a publication year", id, state)
			}
		case int64:
			if y < 1950 || y > int64(created.Year()) {
				t.Fatalf("%s: published %d, created %v", id, y, created)
			}
		}
		if title := get(row, "title").(string); utf8.RuneCountInString(title) != len(title) {
			unicodeTitles++
		}
		types[get(row, "resource_type_id").(string)] = true
	}
	if len(providers) < 40 || len(providers) > 50 {
		t.Errorf("%d providers, want about 50", len(providers))
	}
	if providers["cern"] < n/10 {
		t.Errorf("cern has %d of %d DOIs: provider sizes are not skewed", providers["cern"], n)
	}
	if states["findable"] < n*85/100 || states["registered"] == 0 || states["draft"] == 0 {
		t.Errorf("states %v, want mostly findable", states)
	}
	if unicodeTitles == 0 || len(types) < 8 {
		t.Errorf("%d non-ASCII titles, %d resource types", unicodeTitles, len(types))
	}
}

func TestDowntimes(t *testing.T) {
	tb := tableByName(t, Tables(100_000, DefaultSeed), "downtimes")
	get := col(t, tb)
	pk := regexp.MustCompile(`^[0-9]+G0$`)
	host := regexp.MustCompile(`^[a-z0-9-]+\.grid\.[a-z-]+\.example$`)
	keys := map[string]bool{}
	want := int64(1)
	sharedStart := map[time.Time]int{}
	endpointHost, hostScopes := map[int64]string{}, map[string]string{}
	affectedCounts, tagCounts := map[int]int{}, map[string]int{}
	for row := range tb.Rows {
		if id := get(row, "id").(int64); id != want {
			t.Fatalf("id %d, want %d", id, want)
		}
		want++
		k := get(row, "primary_key").(string)
		if !pk.MatchString(k) || keys[k] {
			t.Fatalf("primary_key %q malformed or repeated", k)
		}
		keys[k] = true
		if c := get(row, "classification"); c != "SCHEDULED" && c != "UNSCHEDULED" {
			t.Fatalf("classification %v", c)
		}
		if s := get(row, "severity"); s != "OUTAGE" && s != "WARNING" {
			t.Fatalf("severity %v", s)
		}
		start, end := get(row, "start_date").(time.Time), get(row, "end_date").(time.Time)
		if !end.After(start) {
			t.Fatalf("%s: end %v not after start %v", k, end, start)
		}
		sharedStart[start]++
		h := get(row, "hostname").(string)
		if !host.MatchString(h) {
			t.Fatalf("hostname %q", h)
		}

		// What GOCDB derives from the service.
		kind := get(row, "service_type").(string)
		if e := get(row, "endpoint"); e != h+kind {
			t.Fatalf("%s: endpoint %v, want hostname and service type run together", k, e)
		}
		if u := get(row, "portal_url"); u != fmt.Sprintf("https://gocdb.example/portal/index.php?Page_Type=Downtime&id=%d", want-1) {
			t.Fatalf("%s: portal_url %v", k, u)
		}
		var affected []struct {
			ID            *int64
			NAME, URL     string
			INTERFACENAME string
			MONITORED     string `json:"ENDPOINT_MONITORED"`
		}
		if err := json.Unmarshal([]byte(get(row, "affected_endpoints").(string)), &affected); err != nil || affected == nil {
			t.Fatalf("%s: affected_endpoints %v: %v", k, get(row, "affected_endpoints"), err)
		}
		for _, a := range affected {
			if a.ID == nil || !strings.HasPrefix(a.NAME, strings.SplitN(h, ".", 2)[0]+"-") || a.INTERFACENAME != kind ||
				a.URL != "" && !strings.Contains(a.URL, "://"+h) || a.MONITORED != "Y" && a.MONITORED != "N" {
				t.Fatalf("%s: affected endpoint %+v of %s", k, a, h)
			}
			if prev, ok := endpointHost[*a.ID]; ok && prev != h {
				t.Fatalf("endpoint %d belongs to %s and %s", *a.ID, prev, h)
			}
			endpointHost[*a.ID] = h
		}
		affectedCounts[len(affected)]++
		if ngi := get(row, "ngi").(string); !strings.HasPrefix(ngi, "NGI_") && ngi != "AsiaPacific" && ngi != "ROC_Canada" {
			t.Fatalf("%s: ngi %q", k, ngi)
		}
		sc := get(row, "scopes").(string)
		var tags []string
		if err := json.Unmarshal([]byte(sc), &tags); err != nil || len(tags) == 0 {
			t.Fatalf("%s: scopes %q: %v", k, sc, err)
		}
		if prev, ok := hostScopes[h]; ok && prev != sc {
			t.Fatalf("host %s has scopes %s and %s", h, prev, sc)
		}
		hostScopes[h] = sc
		for _, tag := range tags {
			tagCounts[tag]++
		}
	}
	if len(sharedStart) == tb.Len {
		t.Error("no two downtimes start together: start_date sorts have no ties")
	}
	if affectedCounts[0] == 0 || affectedCounts[1] == 0 || affectedCounts[2] == 0 {
		t.Errorf("affected endpoints per downtime: %v, want downtimes with none, one and two", affectedCounts)
	}
	for _, tag := range []string{"EGI", "wlcg", "cms", "Local"} {
		if tagCounts[tag] == 0 || tagCounts[tag] == tb.Len {
			t.Errorf("scope tag %s on %d of %d downtimes", tag, tagCounts[tag], tb.Len)
		}
	}

	// The columns from before the GOCDB elements keep their values, so that
	// what was pinned over them (golden files) still holds.
	h := sha256.New()
	for row := range tb.Rows {
		for _, v := range row[:11] {
			fmt.Fprintf(h, "%T:%s|", v, engine.FormatValue(v))
		}
		h.Write([]byte{'\n'})
	}
	if got := fmt.Sprintf("%x", h.Sum(nil)); got != "f6a08aa918bdc2a27962d6ad46100c5099bf455bc6cc601efe164e4bdeec1084" {
		t.Errorf("the first eleven columns changed: digest %s", got)
	}
}

func TestProfiles(t *testing.T) {
	rows := []int{1, 20_000}
	if !testing.Short() {
		rows = append(rows, DefaultRows)
	}
	for _, r := range rows {
		tb := tableByName(t, Tables(r, DefaultSeed), "profiles")
		get := col(t, tb)
		email := regexp.MustCompile(`^[a-z.']+[0-9]*@([a-z]+\.)?example\.(com|org|net)$`)
		perDB := map[int64]int{}
		want := int64(1)
		for row := range tb.Rows {
			if id := get(row, "id").(int64); id != want {
				t.Fatalf("rows %d: id %d, want %d", r, id, want)
			}
			want++
			perDB[get(row, "database_id").(int64)]++
			if m, c := get(row, "modified").(time.Time), get(row, "created").(time.Time); m.Before(c) {
				t.Fatalf("rows %d: modified %v before created %v", r, m, c)
			}
			if e := get(row, "email").(string); !email.MatchString(e) {
				t.Fatalf("email %q", e)
			}
		}
		if perDB[database42] != Database42Profiles {
			t.Errorf("rows %d: database 42 has %d profiles, want %d", r, perDB[database42], Database42Profiles)
		}
		if len(perDB) < 10 {
			t.Errorf("rows %d: only %d databases", r, len(perDB))
		}
	}
}

// BenchmarkTables measures generation alone (no loading) at the default size.
func BenchmarkTables(b *testing.B) {
	tables := Tables(DefaultRows, DefaultSeed)
	run := func(b *testing.B, tables ...*dataset.Table) {
		b.ReportAllocs()
		n := 0
		for b.Loop() {
			for _, tb := range tables {
				for range tb.Rows {
					n++
				}
			}
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	}
	for _, tb := range tables {
		b.Run(tb.Name, func(b *testing.B) { run(b, tb) })
	}
	b.Run("all", func(b *testing.B) { run(b, tables...) })
}
