package agent

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Install copies the running executable to dest with mode 0755, atomically
// (a temporary file in dest's directory, synced, then renamed), so the init
// container needs no shell and a wrapped container never sees half a binary.
func Install(dest string) error {
	src, err := os.Executable()
	if err != nil {
		return fmt.Errorf("install: find own executable: %w", err)
	}
	return copyFile(src, dest)
}

func copyFile(src, dest string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-*")
	if err != nil {
		return fmt.Errorf("install: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = io.Copy(tmp, in); err != nil {
		return fmt.Errorf("install: copy to %s: %w", tmp.Name(), err)
	}
	if err = tmp.Chmod(0o755); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	if err = os.Rename(tmp.Name(), dest); err != nil {
		return fmt.Errorf("install: %w", err)
	}
	return nil
}
