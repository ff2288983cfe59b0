package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/vpc-cni/vpc-cni/cni/conflist"
)

// ifMissing is a repeated --if-missing flag.
type ifMissing []string

func (m *ifMissing) String() string     { return strings.Join(*m, ",") }
func (m *ifMissing) Set(v string) error { *m = append(*m, v); return nil }

// installPlugins is install-plugin: [--if-missing FROM]... FROM... DIR.
// Each FROM is installed (replacing the old one); each --if-missing one
// only when DIR has no file of its name, so a node's own copy (of the
// loopback plugin, from its image) is left alone.
func installPlugins(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("install-plugin", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var optional ifMissing
	fs.Var(&optional, "if-missing", "a plugin binary to install only when DIR has none of its name (repeatable)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() < 2 {
		return usageError{errors.New("install-plugin: want FROM... DIR")}
	}
	rest := fs.Args()
	dir, from := rest[len(rest)-1], rest[:len(rest)-1]
	for _, f := range from {
		if err := installPlugin(f, dir); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "installed %s into %s\n", f, dir)
	}
	for _, f := range optional {
		if _, err := os.Lstat(filepath.Join(dir, filepath.Base(f))); err == nil {
			fmt.Fprintf(stdout, "kept the node's %s in %s\n", filepath.Base(f), dir)
			continue
		}
		if err := installPlugin(f, dir); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "installed %s into %s (the node had none)\n", f, dir)
	}
	return nil
}

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
