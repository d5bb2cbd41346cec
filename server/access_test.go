package server

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"folio/auth"
	"folio/config"
	"folio/dataset"
	"folio/engine"
	"folio/internal/pgtest"
	"folio/source/conformance"
	"folio/source/postgres"
	"folio/source/sqlite"
)

// accessTables is the number of random tables the HTTP leak test serves.
const accessTables = 12

// TestAccessLeaksSQLite and TestAccessLeaksPostgres hold every route of
// the server to the oracle under random rules, grants and principals
// (conformance.RandomAccess): native pages followed by their links,
// totals exact and estimated, records by key, the three exports, the
// collection listing, JSON:API's cursor pages, and a cursor carried to
// another principal. A row the rule hides never appears, a field hidden
// from the principal is never sent, a hidden record's 404 is byte for byte
// that of a key that names nothing, and a collection the principal may not
// read answers as one that does not exist.
// FOLIO_ACCESS_CASES sets the number of cases (default 2,000).
func TestAccessLeaksSQLite(t *testing.T) {
	testAccessLeaks(t, func(t *testing.T, tables []*dataset.Table) engine.Source {
		path := filepath.Join(t.TempDir(), "access.sqlite")
		if err := sqlite.Load(context.Background(), path, tables, nil); err != nil {
			t.Fatal(err)
		}
		src, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src
	})
}

func TestAccessLeaksPostgres(t *testing.T) {
	testAccessLeaks(t, func(t *testing.T, tables []*dataset.Table) engine.Source {
		pg := pgtest.StartServer(t)
		url := pg.CreateDB(t)
		if err := postgres.Load(context.Background(), url, tables, nil); err != nil {
			t.Fatal(err)
		}
		src, err := postgres.Open(context.Background(), url, postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { src.Close() })
		return src
	})
}

// accessSecret signs the test's JWTs (HS256).
const accessSecret = "access-test-secret-0123456789abcdef"

func testAccessLeaks(t *testing.T, load func(*testing.T, []*dataset.Table) engine.Source) {
	cases := 2000
	if s := os.Getenv("FOLIO_ACCESS_CASES"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			t.Fatalf("FOLIO_ACCESS_CASES=%q: want a positive number", s)
		}
		cases = n
	}
	rng := rand.New(rand.NewPCG(29, 31))
	var tables []*dataset.Table
	var oracles []*conformance.Oracle
	for i := range accessTables {
		n := rng.IntN(40)
		if i%4 == 0 {
			n = 100 + rng.IntN(60)
		}
		tb := conformance.RandomTable(rng, fmt.Sprintf("lk%02d", i), n, conformance.KeyKind(i%3))
		tables = append(tables, tb)
		oracles = append(oracles, conformance.NewOracle(tb))
	}
	src := load(t, tables)
	found, err := src.Collections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "jwt-secret")
	if err := os.WriteFile(secretFile, []byte(accessSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	jwts, err := auth.NewJWTs(config.JWT{SecretFile: secretFile})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := engine.NewSigner([]byte("access-cursor-secret-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	var st leakStats
	for i := range cases {
		ti := rng.IntN(len(tables))
		ac := conformance.RandomAccess(rng)
		lc := &leakCase{t: t, rng: rng, tb: tables[ti], o: oracles[ti], ac: ac, other: conformance.RandomPrincipal(rng),
			limit: 1 + rng.IntN(15), stats: &st}
		lc.store = auth.OpenTokens(filepath.Join(dir, fmt.Sprintf("tokens-%d", i)))
		lc.serve(src, found, signer, &auth.Authenticator{Tokens: lc.store, JWTs: jwts})
		if err := lc.check(); err != nil {
			t.Fatalf("case %d: table %s, rule %q, read %v, fields %v, principal %+v: %v", i, lc.tb.Name, ac.Rule.Text, ac.Read, ac.Fields, ac.Principal, err)
		}
		st.cases++
	}
	t.Logf("%d cases (%d anonymous): %d rows served where the rule allows, %d hidden rows never served, %d hidden records answered 404, %d collections not readable, %d cursors refused to another principal, %d requests",
		st.cases, st.anonymous, st.rows, st.hidden, st.records404, st.unreadable, st.foreignCursors, st.requests)
	if st.rows == 0 || st.hidden == 0 || st.records404 == 0 || st.foreignCursors == 0 || st.unreadable == 0 {
		t.Errorf("the cases prove little: %+v", st)
	}
}

type leakStats struct {
	cases, anonymous, rows, hidden, records404, unreadable, foreignCursors, requests int
}

type leakCase struct {
	t     *testing.T
	rng   *rand.Rand
	tb    *dataset.Table
	o     *conformance.Oracle
	ac    conformance.AccessCase
	other engine.Principal
	limit int
	stats *leakStats
	store *auth.Tokens
	h     http.Handler
	c     *engine.Collection
	ja    bool // JSON:API is mounted at /ja
}

// serve builds the server folio serve would build from a configuration
// that gives the case's table the case's access.
func (lc *leakCase) serve(src engine.Source, found []*engine.Collection, signer *engine.Signer, a *auth.Authenticator) {
	t := lc.t
	var b strings.Builder
	fmt.Fprintf(&b, "collections:\n  %s:\n    access:\n", lc.tb.Name)
	if lc.ac.Read != nil {
		fmt.Fprintf(&b, "      read: %s\n", jsonText(lc.ac.Read))
	}
	if len(lc.ac.Fields) > 0 {
		fmt.Fprintf(&b, "      fields: %s\n", jsonText(lc.ac.Fields))
	}
	fmt.Fprintf(&b, "      rule: %s\n", jsonText(lc.ac.Rule.Text))
	lc.ja = len(lc.tb.Key) == 1
	if lc.ja {
		fmt.Fprintf(&b, "mounts:\n  - dialect: native\n    path: /v1\n  - dialect: jsonapi\n    path: /ja\n    collection: %s\n", lc.tb.Name)
	}
	cfg, err := config.Parse([]byte(b.String()), "access.yaml")
	if err != nil {
		t.Fatalf("%s\n%v", b.String(), err)
	}
	cols, err := config.Apply(found, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(src, signer, cols)
	if err != nil {
		t.Fatal(err)
	}
	if lc.c, err = e.Collection(lc.tb.Name); err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Engine: e, Mounts: cfg.MountList(), Logger: slog.New(slog.DiscardHandler), Auth: a, CacheBytes: 1 << 20,
		AuthFailures: &config.Rate{Requests: 1000, Per: time.Second, Burst: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	lc.h = srv.Handler()
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// credential returns an Authorization header value for p: a folio token
// or a JWT, alternately; "" for the anonymous principal.
func (lc *leakCase) credential(p engine.Principal) string {
	if p.Anonymous() {
		return ""
	}
	if lc.rng.IntN(2) == 0 {
		tok, _, err := lc.store.Create(p.Subject, p.Roles, 0)
		if err == nil {
			return "Bearer " + tok
		}
		// A second token for the same subject (other roles): a JWT instead.
	}
	roles := p.Roles
	if roles == nil {
		roles = []string{}
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"sub": p.Subject, "roles": roles, "exp": time.Now().Add(time.Hour).Unix()}).SignedString([]byte(accessSecret))
	if err != nil {
		lc.t.Fatal(err)
	}
	return "Bearer " + s
}

func (lc *leakCase) get(cred, target string) (int, http.Header, []byte) {
	lc.stats.requests++
	r := httptest.NewRequest(http.MethodGet, target, nil)
	if cred != "" {
		r.Header.Set("Authorization", cred)
	}
	w := httptest.NewRecorder()
	lc.h.ServeHTTP(w, r)
	return w.Code, w.Header(), w.Body.Bytes()
}

// keyText is a row's key as the test compares keys: its fields' values
// in text, joined by "/".
func (lc *leakCase) keyText(row []engine.Value) string {
	parts := make([]string, len(lc.tb.Key))
	for i, k := range lc.tb.Key {
		j := slices.IndexFunc(lc.tb.Columns, func(c dataset.Column) bool { return c.Name == k })
		parts[i] = engine.FormatValue(row[j])
	}
	return strings.Join(parts, "/")
}

// objectKey is the key of a record as JSON sent it.
func (lc *leakCase) objectKey(obj map[string]json.RawMessage) string {
	parts := make([]string, len(lc.tb.Key))
	for i, k := range lc.tb.Key {
		parts[i] = rawText(obj[k])
	}
	return strings.Join(parts, "/")
}

func rawText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func (lc *leakCase) check() error {
	ac := lc.ac
	p := ac.Principal
	cred := lc.credential(p)
	if p.Anonymous() {
		lc.stats.anonymous++
	}
	name := lc.tb.Name
	base := "/v1/" + name

	if !ac.Readable() {
		lc.stats.unreadable++
		lc.stats.hidden += len(lc.o.Rows)
		// Every route answers as for a collection that does not exist.
		for _, suffix := range []string{"", "?total=estimate&limit=0", ".ndjson", ".csv", ".json", "/1", "?bad=1"} {
			_, _, missing := lc.get(cred, "/v1/nothere"+suffix)
			want := bytes.ReplaceAll(missing, []byte("nothere"), []byte(name))
			code, _, body := lc.get(cred, base+suffix)
			if code != http.StatusNotFound || !bytes.Equal(body, want) {
				return fmt.Errorf("%s on a collection the principal may not read: %d %s, want 404 %s", base+suffix, code, body, want)
			}
		}
		if lc.ja {
			if code, _, body := lc.get(cred, "/ja"); code != http.StatusNotFound {
				return fmt.Errorf("JSON:API on a collection the principal may not read: %d %s", code, body)
			}
		}
		_, _, list := lc.get(cred, "/v1")
		if bytes.Contains(list, []byte(`"name":"`+name+`"`)) {
			return fmt.Errorf("the listing names a collection the principal may not read: %s", list)
		}
		return nil
	}

	var want []string
	allowed := map[string]bool{}
	for _, r := range lc.o.Select(nil, nil) {
		k := lc.keyText(r)
		if ac.Rule.Match(lc.tb, r, p) {
			want = append(want, k)
			allowed[k] = true
		}
	}
	lc.stats.rows += len(want)
	lc.stats.hidden += len(lc.o.Rows) - len(want)
	_, ruled := lc.c.Access.Rule.Bind(p)

	// The listing shows just the fields the principal may see.
	_, _, body := lc.get(cred, "/v1")
	var list struct {
		Data []struct {
			Name   string `json:"name"`
			Fields []struct {
				Name string `json:"name"`
			} `json:"fields"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return fmt.Errorf("listing: %w", err)
	}
	listed := false
	for _, d := range list.Data {
		if d.Name != name {
			continue
		}
		listed = true
		for _, f := range d.Fields {
			if !ac.Visible(f.Name) {
				return fmt.Errorf("the listing shows hidden field %s", f.Name)
			}
		}
	}
	if !listed {
		return fmt.Errorf("the listing leaves out a collection the principal may read")
	}

	// Native pages, by their next links, with the exact total.
	var got []string
	target := fmt.Sprintf("%s?limit=%d&total=exact", base, lc.limit)
	var firstNext string
	for pages := 0; target != ""; pages++ {
		code, _, body := lc.get(cred, target)
		if code != http.StatusOK {
			return fmt.Errorf("%s: %d %s", target, code, body)
		}
		var pg struct {
			Data []map[string]json.RawMessage `json:"data"`
			Page struct {
				Total    *int64 `json:"total"`
				Relation string `json:"total_relation"`
				Next     string `json:"next_cursor"`
			} `json:"page"`
			Links map[string]string `json:"links"`
		}
		if err := json.Unmarshal(body, &pg); err != nil {
			return fmt.Errorf("%s: %w", target, err)
		}
		if pages == 0 {
			firstNext = pg.Links["next"]
			if pg.Page.Total == nil || *pg.Page.Total != int64(len(want)) {
				return fmt.Errorf("exact total %v, want %d", pg.Page.Total, len(want))
			}
		}
		for _, obj := range pg.Data {
			if err := lc.fieldsShown(obj); err != nil {
				return err
			}
			got = append(got, lc.objectKey(obj))
		}
		target = pg.Links["next"]
		if pages > len(want)+1 {
			return fmt.Errorf("the pages do not end")
		}
	}
	if err := sameText(got, want); err != nil {
		return fmt.Errorf("native pages: %w", err)
	}

	// The estimate: under a rule, the exact count of the visible rows.
	if ruled {
		code, _, body := lc.get(cred, base+"?limit=1&total=estimate")
		want := fmt.Sprintf(`"total":%d,"total_relation":"eq"`, len(want))
		if code != http.StatusOK || !bytes.Contains(body, []byte(want)) {
			return fmt.Errorf("estimate under a rule: %d %s, want %s", code, body, want)
		}
	}

	// Records by key; one the rule hides is a 404 exactly as a missing key.
	if len(lc.tb.Key) == 1 && len(lc.o.Rows) > 0 {
		missingKey := "999999"
		if lc.c.KeyField().Type == engine.TypeText {
			missingKey = "zz-missing"
		}
		_, _, missing := lc.get(cred, base+"/"+missingKey)
		for range 4 {
			r := lc.o.Rows[lc.rng.IntN(len(lc.o.Rows))]
			k := lc.keyText(r)
			code, _, body := lc.get(cred, base+"/"+url.PathEscape(k))
			if allowed[k] {
				var rec struct {
					Data map[string]json.RawMessage `json:"data"`
				}
				if code != http.StatusOK || json.Unmarshal(body, &rec) != nil || lc.objectKey(rec.Data) != k {
					return fmt.Errorf("record %s: %d %s", k, code, body)
				}
				if err := lc.fieldsShown(rec.Data); err != nil {
					return err
				}
				continue
			}
			lc.stats.records404++
			wantBody := bytes.ReplaceAll(missing, []byte(jsonQuote(strconv.Quote(missingKey))), []byte(jsonQuote(strconv.Quote(k))))
			if code != http.StatusNotFound || !bytes.Equal(body, wantBody) {
				return fmt.Errorf("record %s outside the rule: %d %s, want 404 %s", k, code, body, wantBody)
			}
		}
	}

	// The three exports.
	for _, format := range []string{"ndjson", "json", "csv"} {
		code, _, body := lc.get(cred, base+"."+format)
		if code != http.StatusOK {
			return fmt.Errorf("export %s: %d %s", format, code, body)
		}
		keys, err := lc.exported(format, body)
		if err != nil {
			return fmt.Errorf("export %s: %w", format, err)
		}
		if err := sameText(keys, want); err != nil {
			return fmt.Errorf("export %s: %w", format, err)
		}
	}

	// JSON:API's cursor pages.
	if lc.ja {
		got = got[:0]
		target := fmt.Sprintf("/ja?page[cursor]=1&page[size]=%d", lc.limit)
		for pages := 0; target != ""; pages++ {
			code, _, body := lc.get(cred, target)
			if code != http.StatusOK {
				return fmt.Errorf("%s: %d %s", target, code, body)
			}
			var doc struct {
				Data []struct {
					ID         string                     `json:"id"`
					Attributes map[string]json.RawMessage `json:"attributes"`
				} `json:"data"`
				Links struct {
					Next string `json:"next"`
				} `json:"links"`
			}
			if err := json.Unmarshal(body, &doc); err != nil {
				return fmt.Errorf("%s: %w", target, err)
			}
			for _, d := range doc.Data {
				got = append(got, d.ID)
				for _, f := range []string{"f", "s"} {
					if v, ok := d.Attributes[f]; ok && !ac.Visible(f) && string(v) != "null" {
						return fmt.Errorf("JSON:API shows hidden field %s: %s", f, v)
					}
				}
			}
			target = ""
			if doc.Links.Next != "" {
				u, err := url.Parse(doc.Links.Next)
				if err != nil {
					return err
				}
				target = u.RequestURI()
			}
			if pages > len(want)+1 {
				return fmt.Errorf("JSON:API pages do not end")
			}
		}
		slices.Sort(got)
		sorted := slices.Clone(want)
		slices.Sort(sorted)
		if err := sameText(got, sorted); err != nil {
			return fmt.Errorf("JSON:API pages: %w", err)
		}
	}

	// The first page's cursor, carried to another principal.
	if firstNext != "" {
		u, err := url.Parse(firstNext)
		if err != nil {
			return err
		}
		oc := ac
		oc.Principal = lc.other
		code, _, body := lc.get(lc.credential(lc.other), u.RequestURI())
		mine, _ := lc.c.Access.Rule.Bind(p)
		theirs, _ := lc.c.Access.Rule.Bind(lc.other)
		switch {
		case !oc.Readable():
			if code != http.StatusNotFound {
				return fmt.Errorf("a cursor on a collection the other may not read: %d %s", code, body)
			}
		case fmt.Sprint(mine) != fmt.Sprint(theirs):
			if code != http.StatusBadRequest || !bytes.Contains(body, []byte("invalid_cursor")) {
				return fmt.Errorf("a cursor of %+v used by %+v: %d %s", p, lc.other, code, body)
			}
			lc.stats.foreignCursors++
		case code != http.StatusOK:
			return fmt.Errorf("a cursor used by a principal whose rule binds alike: %d %s", code, body)
		}
	}
	return nil
}

// jsonQuote is s as a JSON string's content shows it.
func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b[1 : len(b)-1])
}

// fieldsShown fails when obj holds a field hidden from the principal.
func (lc *leakCase) fieldsShown(obj map[string]json.RawMessage) error {
	for f := range obj {
		if !lc.ac.Visible(f) {
			return fmt.Errorf("hidden field %s is sent: %s", f, obj[f])
		}
	}
	return nil
}

// exported returns the keys of an export's records.
func (lc *leakCase) exported(format string, body []byte) ([]string, error) {
	var objs []map[string]json.RawMessage
	switch format {
	case "ndjson":
		for _, line := range bytes.Split(bytes.TrimSpace(body), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(line, &obj); err != nil {
				return nil, err
			}
			objs = append(objs, obj)
		}
	case "json":
		if err := json.Unmarshal(body, &objs); err != nil {
			return nil, err
		}
	case "csv":
		recs, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
		if err != nil {
			return nil, err
		}
		var keys []string
		for i, rec := range recs {
			if i == 0 {
				for _, h := range rec {
					if !lc.ac.Visible(h) {
						return nil, fmt.Errorf("hidden field %s is a column", h)
					}
				}
				continue
			}
			parts := make([]string, len(lc.tb.Key))
			for j, k := range lc.tb.Key {
				parts[j] = rec[slices.Index(recs[0], k)]
			}
			keys = append(keys, strings.Join(parts, "/"))
		}
		return keys, nil
	}
	keys := make([]string, len(objs))
	for i, obj := range objs {
		if err := lc.fieldsShown(obj); err != nil {
			return nil, err
		}
		keys[i] = lc.objectKey(obj)
	}
	return keys, nil
}

func sameText(got, want []string) error {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return fmt.Errorf("row %d: key %s, want %s (got %d rows, want %d)", i, got[i], want[i], len(got), len(want))
		}
	}
	if len(got) != len(want) {
		return fmt.Errorf("got %d rows, want %d", len(got), len(want))
	}
	return nil
}
