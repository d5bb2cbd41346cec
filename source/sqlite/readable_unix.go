//go:build unix

package sqlite

import (
	"fmt"
	"syscall"
)

// readable reports whether the process may read the file at path, by
// access(2): opening the file instead would release the POSIX locks
// SQLite's own connections hold on it when the descriptor is closed.
func readable(path string) error {
	if err := syscall.Access(path, 4); err != nil { // R_OK
		return fmt.Errorf("access %s: %w", path, err)
	}
	return nil
}
