package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"folio/auth"
	"folio/config"
)

// tokenCmd is folio token create|list|revoke: the API tokens a server
// accepts, kept as hashes in a file beside the database (or where
// --tokens or the configuration's auth.tokens says).
func tokenCmd(_ context.Context, fs *flag.FlagSet, args []string) error {
	db := fs.String("db", "", "the SQLite database the tokens are for: they are kept beside it (default: the demo database)")
	path := fs.String("tokens", "", "the tokens file (default: the configuration's auth.tokens, else beside --db)")
	cfgPath := fs.String("config", "", "configuration file (YAML), for its auth.tokens")
	name := fs.String("name", "", "the token's name: the subject its requests are made as (create, revoke)")
	var roles listFlag
	fs.Var(&roles, "role", "a `ROLE` the token grants (repeatable; create)")
	expires := fs.String("expires", "", "how long the token is valid, such as 720h or 30d (create; default: until revoked)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("name one action: create, list or revoke")
	}
	file, err := tokensFile(*path, *cfgPath, *db)
	if err != nil {
		return err
	}
	store := auth.OpenTokens(file)
	switch pos[0] {
	case "create":
		if *name == "" {
			return usagef("create needs --name")
		}
		ttl, err := parseExpiry(*expires)
		if err != nil {
			return usagef("--expires: %v", err)
		}
		secret, t, err := store.Create(*name, roles, ttl)
		if err != nil {
			return err
		}
		fmt.Println(secret)
		until := "until revoked"
		if !t.Expires.IsZero() {
			until = "until " + t.Expires.Format(time.RFC3339)
		}
		fmt.Fprintf(os.Stderr, "token %q (roles: %s) is valid %s; it is shown only now, and %s keeps only its hash.\n"+
			"send it as: curl -H 'Authorization: Bearer %s' ...\n", t.Name, rolesText(t.Roles), until, file, secret)
	case "list":
		ts, err := store.List()
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tROLES\tCREATED\tEXPIRES")
		for _, t := range ts {
			exp := "never"
			switch {
			case t.Expired(time.Now()):
				exp = "expired " + t.Expires.Format(time.RFC3339)
			case !t.Expires.IsZero():
				exp = t.Expires.Format(time.RFC3339)
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", t.Name, rolesText(t.Roles), t.Created.Format(time.RFC3339), exp)
		}
		return w.Flush()
	case "revoke":
		if *name == "" {
			return usagef("revoke needs --name")
		}
		if err := store.Revoke(*name); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "token %q is revoked; a running server refuses it within a second.\n", *name)
	default:
		return usagef("unknown action %q: create, list or revoke", pos[0])
	}
	return nil
}

// tokensFile is where the tokens are kept: explicit, else the
// configuration's auth.tokens, else beside the SQLite database (the demo's
// without --db).
func tokensFile(explicit, cfgPath, db string) (string, error) {
	if explicit != "" {
		return explicit, nil
	}
	if cfgPath != "" {
		cfg, err := config.Load(cfgPath)
		if err != nil {
			return "", err
		}
		if cfg.Auth.Tokens != "" {
			return cfg.Auth.Tokens, nil
		}
	}
	switch {
	case isPostgres(db):
		return "", usagef("a PostgreSQL database has no file to keep tokens beside: give --tokens or the configuration's auth.tokens")
	case db == "":
		path, err := demoPath()
		if err != nil {
			return "", err
		}
		db = path
	}
	return auth.TokensPath(db), nil
}

// parseExpiry reads a duration such as 720h, or whole days such as 30d;
// empty is 0 (never).
func parseExpiry(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n <= 0 {
			return 0, fmt.Errorf("%q: want a number of days such as 30d", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("want a positive duration such as 720h or 30d")
	}
	return d, nil
}

func rolesText(roles []string) string {
	if len(roles) == 0 {
		return "none"
	}
	return strings.Join(roles, ", ")
}

// authenticator is what serve verifies credentials with: the tokens file
// (explicit, the configuration's, else beside a SQLite database) and the
// configuration's JWT keys.
func authenticator(cfg *config.Config, explicit, db string) (*auth.Authenticator, error) {
	a := &auth.Authenticator{}
	path := explicit
	if path == "" {
		path = cfg.Auth.Tokens
	}
	if path == "" && !isPostgres(db) {
		path = auth.TokensPath(db)
	}
	if path != "" {
		a.Tokens = auth.OpenTokens(path)
		if _, err := a.Tokens.List(); err != nil {
			return nil, err
		}
	}
	if cfg.Auth.JWT != nil {
		j, err := auth.NewJWTs(*cfg.Auth.JWT)
		if err != nil {
			return nil, err
		}
		a.JWTs = j
	}
	return a, nil
}
