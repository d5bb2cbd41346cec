package nomad

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"folio/config"
	"folio/engine"
	"folio/internal/demodb"
	"folio/source/sqlite"
)

// ownedEntry is one row of the owner test's table.
type ownedEntry struct {
	id               string
	published, embar bool
	author           string
	coauthors        []string
}

// TestOwnerScopes: each of NOMAD's owner values selects what NOMAD
// selects for the signed-in principal (public: published and not under
// embargo; user: theirs; shared: theirs and shared with them; staging:
// theirs, unpublished; visible and all: public, theirs and shared; admin:
// everything, for the admin role), anonymous principals get NOMAD's 401
// for every value but public, and the collection's access rule still
// applies on top.
func TestOwnerScopes(t *testing.T) {
	var rows []ownedEntry
	people := []string{"ann", "bob", "cy"}
	for i := range 60 {
		var co []string
		for j, p := range people {
			if (i+j)%4 == 0 {
				co = append(co, p)
			}
		}
		rows = append(rows, ownedEntry{fmt.Sprintf("e%02d", i), i%3 != 0, i%5 == 0, people[i%3], co})
	}
	path := filepath.Join(t.TempDir(), "owned.db")
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE entries (entry_id TEXT PRIMARY KEY NOT NULL, upload_create_time DATETIME NOT NULL,
		published BOOLEAN NOT NULL, with_embargo BOOLEAN NOT NULL, main_author TEXT NOT NULL, coauthors JSON NOT NULL, secret BOOLEAN NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		co := `[` + strings.Join(func() []string {
			var q []string
			for _, c := range r.coauthors {
				q = append(q, `"`+c+`"`)
			}
			return q
		}(), ",") + `]`
		if _, err := db.Exec(`INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?)`, r.id, fmt.Sprintf("2024-01-01T00:00:%02dZ", i), r.published, r.embar, r.author, co, i%7 == 0); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	cfg, err := config.Parse([]byte(`collections:
  entries:
    access:
      rule: secret = false OR 'admin' IN $roles
`), "t.yaml")
	if err != nil {
		t.Fatal(err)
	}
	src, err := sqlite.Open(context.Background(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	e := demodb.NewEngine(t, src, cfg)
	h, err := New(e, config.Mount{Dialect: config.NOMAD, Path: "/api/v1/entries", Collection: "entries",
		Options: map[string]string{OptionOwnerField: "main_author", OptionSharedField: "coauthors", OptionEmbargoField: "with_embargo"}}, demodb.Quiet())
	if err != nil {
		t.Fatal(err)
	}
	ask := func(p engine.Principal, owner string) response {
		req := httptest.NewRequest(http.MethodGet, "/api/v1/entries?page_size=100&owner="+owner, nil)
		req = req.WithContext(engine.WithPrincipal(req.Context(), p))
		return serve(h, req)
	}
	secret := func(i int) bool { return i%7 == 0 }
	for _, p := range []engine.Principal{{Subject: "ann"}, {Subject: "bob", Roles: []string{"admin"}}, {}} {
		for _, owner := range []string{"public", "visible", "all", "shared", "user", "staging", "admin"} {
			t.Run(fmt.Sprintf("%s/%s", p.Subject, owner), func(t *testing.T) {
				var want []string
				for i, r := range rows {
					mine := r.author == p.Subject
					shared := mine || slices.Contains(r.coauthors, p.Subject)
					public := r.published && !r.embar
					in := map[string]bool{"public": public, "visible": public || shared, "all": public || shared,
						"shared": shared, "user": mine, "staging": mine && !r.published, "admin": true}[owner]
					if in && (!secret(i) || slices.Contains(p.Roles, "admin")) {
						want = append(want, r.id)
					}
				}
				resp := ask(p, owner)
				needsUser := owner != "public" && (p.Anonymous() || owner == "admin" && !slices.Contains(p.Roles, "admin"))
				if needsUser {
					if resp.status != http.StatusUnauthorized {
						t.Fatalf("status %d, want 401: %s", resp.status, resp.body)
					}
					return
				}
				env := decodeEnvelope(t, resp)
				var got []string
				for _, d := range env.Data {
					got = append(got, fmt.Sprint(d["entry_id"]))
				}
				slices.Sort(got)
				if !slices.Equal(got, want) {
					t.Errorf("got %v\nwant %v", got, want)
				}
			})
		}
	}
}
