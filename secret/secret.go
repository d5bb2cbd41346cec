// Package secret provides the key that signs cursors. Every node that
// serves a database must use the same key, and the key must survive
// restarts, or clients' cursors stop working; so it is given explicitly or
// kept in a file beside the database.
package secret

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// MinLen is the shortest key accepted, in bytes.
const MinLen = 16

// FilePath returns where the key of the database at dbPath is kept.
func FilePath(dbPath string) string { return dbPath + ".folio-secret" }

// Load returns the signing key: explicit when it is not empty (its bytes as
// given, at least MinLen of them), else the key in the file at path, which
// is created with 32 random bytes and mode 0600 if it does not exist.
func Load(explicit, path string) ([]byte, error) {
	if explicit != "" {
		if len(explicit) < MinLen {
			return nil, fmt.Errorf("secret: the given secret has %d bytes; use at least %d", len(explicit), MinLen)
		}
		return []byte(explicit), nil
	}
	key, err := read(path)
	if errors.Is(err, fs.ErrNotExist) {
		key, err = create(path)
		if errors.Is(err, fs.ErrExist) {
			key, err = read(path) // another process created it first
		}
	}
	return key, err
}

func read(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("secret: %s is readable by others (mode %v); run chmod 600 %s", path, st.Mode().Perm(), path)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("secret: read key file: %w", err)
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < MinLen {
		return nil, fmt.Errorf("secret: %s does not hold a hex key of at least %d bytes; delete it to make a new one (issued cursors stop working)", path, MinLen)
	}
	return key, nil
}

func create(path string) ([]byte, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("secret: %w", err)
	}
	// O_EXCL: two servers starting at once must not each write their own key.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		return nil, fmt.Errorf("secret: create key file: %w", err)
	}
	_, err = f.WriteString(hex.EncodeToString(key) + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("secret: write key file: %w", err)
	}
	return key, nil
}
