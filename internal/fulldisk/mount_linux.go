package fulldisk

import (
	"fmt"
	"syscall"
	"testing"
)

// Mount mounts a tmpfs of size bytes on a new temporary directory and
// returns the directory; the test's cleanup unmounts it. It needs root
// (CAP_SYS_ADMIN); the error says why it could not mount.
func Mount(t testing.TB, size int64) (string, error) {
	t.Helper()
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		return "", fmt.Errorf("mount a %d-byte tmpfs on %s: %w", size, dir, err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", dir, err)
		}
	})
	return dir, nil
}

// Resize gives the tmpfs that Mount mounted on dir a new size, as an
// operator who frees space on a full disk would.
func Resize(dir string, size int64) error {
	if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT|syscall.MS_NOSUID|syscall.MS_NODEV, fmt.Sprintf("size=%d,mode=0755", size)); err != nil {
		return fmt.Errorf("resize the tmpfs on %s to %d bytes: %w", dir, size, err)
	}
	return nil
}
