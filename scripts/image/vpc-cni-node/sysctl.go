package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// setSysctls writes each NAME=VALUE (dotted name, as sysctl(8) takes it)
// under root. A sysctl that does not exist, such as the rp_filter of an
// interface this node does not have, is skipped with a line saying so.
func setSysctls(root string, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return usageError{errors.New("sysctl needs NAME=VALUE arguments")}
	}
	for _, a := range args {
		name, value, ok := strings.Cut(a, "=")
		if !ok || name == "" || value == "" || strings.Contains(name, "/") || strings.Contains(name, "..") {
			return usageError{fmt.Errorf("bad sysctl %q: want NAME=VALUE, e.g. net.ipv4.ip_forward=1", a)}
		}
		p := filepath.Join(root, strings.ReplaceAll(name, ".", "/"))
		err := os.WriteFile(p, []byte(value+"\n"), 0o644)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(stdout, "sysctl %s: not on this node, skipped\n", name)
		case err != nil:
			return fmt.Errorf("set %s=%s: %w (the init container must be privileged)", name, value, err)
		default:
			fmt.Fprintf(stdout, "sysctl %s=%s\n", name, value)
		}
	}
	return nil
}
