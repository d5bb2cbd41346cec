package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"folio/engine"
)

// TokenPrefix starts every API token folio issues, so that a token is
// recognised (by folio, and by secret scanners) without a lookup.
const TokenPrefix = "folio_"

// tokenBytes is the random part of a token: 256 bits, beyond guessing.
const tokenBytes = 32

// tokenLen is the length of a token as issued.
var tokenLen = len(TokenPrefix) + base64.RawURLEncoding.EncodedLen(tokenBytes)

// TokensPath returns where the tokens of the database at dbPath are kept,
// beside it, as the cursor key is: never in the database itself.
func TokensPath(dbPath string) string { return dbPath + ".folio-tokens" }

// Token is one issued API token as the store keeps it: its hash, never
// the token.
type Token struct {
	Name    string    `json:"name"`
	Roles   []string  `json:"roles,omitempty"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires,omitzero"` // zero: never
	Hash    string    `json:"sha256"`           // hex SHA-256 of the token
}

// Expired reports whether t has expired at now.
func (t Token) Expired(now time.Time) bool { return !t.Expires.IsZero() && !now.Before(t.Expires) }

// Tokens is the file of API tokens: a JSON list of Token, mode 0600. The
// server reads it again when it changes, so that a token created or
// revoked while it runs counts within a second.
type Tokens struct {
	path string

	mu      sync.Mutex
	checked time.Time  // when the file was last looked at
	stamp   fileStamp  // the file as last read
	tokens  []Token    // as last read
	hashes  [][32]byte // decoded Hash of each of tokens
	now     func() time.Time
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// recheck is how often a server looks at the tokens file for changes.
const recheck = time.Second

// OpenTokens returns the tokens kept at path; a file that does not exist
// holds none.
func OpenTokens(path string) *Tokens { return &Tokens{path: path, now: time.Now} }

// Path returns the file the tokens are kept in.
func (s *Tokens) Path() string { return s.path }

// List returns the tokens, by name.
func (s *Tokens) List() ([]Token, error) {
	ts, _, err := s.read()
	return ts, err
}

// Create issues a token for name with roles, expiring after ttl (0:
// never), and returns it: the only time it is ever shown.
func (s *Tokens) Create(name string, roles []string, ttl time.Duration) (string, Token, error) {
	if err := checkName(name); err != nil {
		return "", Token{}, err
	}
	for _, r := range roles {
		if strings.TrimSpace(r) == "" || r != strings.TrimSpace(r) {
			return "", Token{}, fmt.Errorf("token: role %q: a role is a word without surrounding spaces", r)
		}
	}
	if ttl < 0 {
		return "", Token{}, fmt.Errorf("token: expiry %v is in the past", ttl)
	}
	raw := make([]byte, tokenBytes)
	if _, err := rand.Read(raw); err != nil {
		return "", Token{}, fmt.Errorf("token: %w", err)
	}
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(secret))
	now := s.now().UTC().Truncate(time.Second)
	t := Token{Name: name, Roles: slices.Clone(roles), Created: now, Hash: hex.EncodeToString(sum[:])}
	if ttl > 0 {
		t.Expires = now.Add(ttl)
	}
	err := s.update(func(ts []Token) ([]Token, error) {
		if slices.ContainsFunc(ts, func(o Token) bool { return o.Name == name }) {
			return nil, fmt.Errorf("token: a token named %q exists; revoke it first or choose another name", name)
		}
		return append(ts, t), nil
	})
	if err != nil {
		return "", Token{}, err
	}
	return secret, t, nil
}

// Revoke removes the token named name.
func (s *Tokens) Revoke(name string) error {
	return s.update(func(ts []Token) ([]Token, error) {
		i := slices.IndexFunc(ts, func(o Token) bool { return o.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("token: no token named %q", name)
		}
		return slices.Delete(ts, i, i+1), nil
	})
}

func checkName(name string) error {
	if name == "" || len(name) > 200 || strings.TrimSpace(name) != name || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return fmt.Errorf("token: name %q: give a name of 1 to 200 characters without control characters or surrounding spaces", name)
	}
	return nil
}

// ErrInvalidToken is the cause of every failed verification: the client
// is told no more than that its token is not valid.
var ErrInvalidToken = errors.New("the token is not valid")

// Verify returns the principal of token: its name as the subject, with
// its roles. Every failure is ErrInvalidToken, and every stored hash is
// compared, in constant time, whether or not one matched already.
func (s *Tokens) Verify(token string) (engine.Principal, error) {
	if len(token) != tokenLen || !strings.HasPrefix(token, TokenPrefix) {
		return engine.Principal{}, ErrInvalidToken
	}
	if err := s.refresh(); err != nil {
		return engine.Principal{}, err
	}
	sum := sha256.Sum256([]byte(token))
	s.mu.Lock()
	defer s.mu.Unlock()
	found := -1
	for i := range s.hashes {
		if subtle.ConstantTimeCompare(s.hashes[i][:], sum[:]) == 1 {
			found = i
		}
	}
	if found < 0 || s.tokens[found].Expired(s.now()) {
		return engine.Principal{}, ErrInvalidToken
	}
	t := s.tokens[found]
	return engine.Principal{Subject: t.Name, Roles: slices.Clone(t.Roles)}, nil
}

// refresh reads the file again when it changed since it was last read,
// looking at most once a second.
func (s *Tokens) refresh() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if !s.checked.IsZero() && now.Sub(s.checked) < recheck {
		return nil
	}
	s.checked = now
	st, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		s.tokens, s.hashes, s.stamp = nil, nil, fileStamp{}
		return nil
	case err != nil:
		return fmt.Errorf("tokens: %w", err)
	}
	if (fileStamp{st.ModTime(), st.Size()}) == s.stamp && s.tokens != nil {
		return nil
	}
	ts, stamp, err := s.read()
	if err != nil {
		return err
	}
	hashes := make([][32]byte, len(ts))
	for i, t := range ts {
		b, err := hex.DecodeString(t.Hash)
		if err != nil || len(b) != 32 {
			return fmt.Errorf("tokens: %s: token %q has no SHA-256 hash", s.path, t.Name)
		}
		hashes[i] = [32]byte(b)
	}
	s.tokens, s.hashes, s.stamp = ts, hashes, stamp
	return nil
}

// read reads the file; one that does not exist holds no tokens.
func (s *Tokens) read() ([]Token, fileStamp, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return []Token{}, fileStamp{}, nil
	}
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("tokens: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("tokens: %w", err)
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fileStamp{}, fmt.Errorf("tokens: %s is readable by others (mode %v); run chmod 600 %s", s.path, st.Mode().Perm(), s.path)
	}
	ts := []Token{}
	if err := json.NewDecoder(f).Decode(&ts); err != nil {
		return nil, fileStamp{}, fmt.Errorf("tokens: %s: %w", s.path, err)
	}
	return ts, fileStamp{st.ModTime(), st.Size()}, nil
}

// update rewrites the file with change applied, atomically (a temporary
// file renamed over it) and with mode 0600.
func (s *Tokens) update(change func([]Token) ([]Token, error)) error {
	ts, _, err := s.read()
	if err != nil {
		return err
	}
	if ts, err = change(ts); err != nil {
		return err
	}
	slices.SortFunc(ts, func(a, b Token) int { return strings.Compare(a.Name, b.Name) })
	b, err := json.MarshalIndent(ts, "", "  ")
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".*")
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(append(b, '\n'))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o600)
	}
	if err == nil {
		err = os.Rename(f.Name(), s.path)
	}
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}
	s.mu.Lock()
	s.checked = time.Time{} // this process reads its own change at once
	s.mu.Unlock()
	return nil
}
