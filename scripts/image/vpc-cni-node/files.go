package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vpc-cni/vpc-cni/cni/conflist"
)

// installPlugin copies the binary from into dir under its own name,
// atomically (a runtime running the old plugin meanwhile sees the old file
// or the new one), mode 0755.
func installPlugin(from, dir string) error {
	src, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("plugin binary: %w", err)
	}
	defer src.Close()
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return fmt.Errorf("CNI bin directory %s: not a directory (is the host path mounted?)", dir)
	}
	dst := filepath.Join(dir, filepath.Base(from))
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(from)+".tmp*")
	if err != nil {
		return fmt.Errorf("install %s: %w", dst, err)
	}
	defer os.Remove(tmp.Name()) // a no-op after the rename
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return fmt.Errorf("install %s: %w", dst, err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return fmt.Errorf("install %s: %w", dst, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("install %s: %w", dst, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("install %s: %w", dst, err)
	}
	return nil
}

// writeConflist writes the conflist for o into dir unless the file there
// already has that content (the readiness probe runs every few seconds).
func writeConflist(dir string, o conflist.Options) error {
	want, err := conflist.Render(o)
	if err != nil {
		return err
	}
	have, err := os.ReadFile(filepath.Join(dir, conflist.FileName))
	if err == nil && bytes.Equal(have, want) {
		return nil
	}
	if err := conflist.Write(dir, o); err != nil {
		return fmt.Errorf("write the conflist into %s: %w", dir, err)
	}
	return nil
}
