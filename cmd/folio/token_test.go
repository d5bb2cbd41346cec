package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTokenCommands, tried as a new user would: folio token create prints
// a token once, list shows it without it, folio serve with an access rule
// answers the token's principal with the rows the rule grants it, a
// revoked token is a 401, and bad command lines are usage errors.
func TestTokenCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "small.sqlite")
	if code, _, stderr := runFolio(t, nil, "demo", "--db", db, "--rows", "300"); code != 0 {
		t.Fatalf("folio demo: %s", stderr)
	}
	cfg := filepath.Join(dir, "folio.yaml")
	if err := os.WriteFile(cfg, []byte("collections:\n  entries:\n    access:\n      read: [authenticated]\n      rule: public = true OR 'curator' IN $roles\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runFolio(t, nil, "token", "create", "--db", db, "--name", "ann", "--role", "curator", "--expires", "30d")
	token := strings.TrimSpace(stdout)
	if code != 0 || !strings.HasPrefix(token, "folio_") || !strings.Contains(stderr, "shown only now") {
		t.Fatalf("token create: %d %q %s", code, stdout, stderr)
	}
	if st, err := os.Stat(db + ".folio-tokens"); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("tokens file: %v %v", st, err)
	}
	code, stdout, _ = runFolio(t, nil, "token", "list", "--db", db)
	if code != 0 || !strings.Contains(stdout, "ann") || !strings.Contains(stdout, "curator") || strings.Contains(stdout, token[6:]) {
		t.Fatalf("token list: %d %s", code, stdout)
	}
	s := startServe(t, folioBinary(t), os.Environ(), time.Minute, "serve", "--db", db, "--config", cfg, "--addr", "127.0.0.1:0")
	ask := func(authorization string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, s.public+"/v1/entries?limit=1&total=exact", nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b)
	}
	if code, body := ask(""); code != 404 {
		t.Fatalf("anonymous: %d %s", code, body)
	}
	if code, body := ask("Bearer " + token); code != 200 || !strings.Contains(body, `"total":300`) {
		t.Fatalf("the curator: %d %s", code, body)
	}
	if code, _, stderr := runFolio(t, nil, "token", "revoke", "--db", db, "--name", "ann"); code != 0 {
		t.Fatalf("revoke: %s", stderr)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := ask("Bearer " + token)
		if code == 401 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a revoked token after 5 s: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, args := range [][]string{{"token"}, {"token", "create", "--db", db}, {"token", "burn", "--db", db}, {"token", "create", "--db", db, "--name", "x", "--expires", "soon"}} {
		if code, _, _ := runFolio(t, nil, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
