//go:build !linux

package fulldisk

import (
	"errors"
	"testing"
)

// Mount mounts a small tmpfs on Linux; elsewhere it reports that it cannot.
func Mount(t testing.TB, size int64) (string, error) {
	return "", errors.New("a tmpfs can be mounted on Linux only")
}

// Resize resizes a tmpfs on Linux; elsewhere there is none.
func Resize(dir string, size int64) error {
	return errors.New("a tmpfs can be mounted on Linux only")
}
