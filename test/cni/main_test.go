// Package cni_test drives the vpc-cni plugin binary exactly as a container
// runtime does: through libcni (as containerd does) and through cnitool,
// against the in-process fake ipamd (cni/ipamc/fake) and against the real
// ipamd (ipamd/daemon) over ec2sim. Every test builds its own "host"
// network namespace and pod namespaces and runs the runtime inside the
// host one, so the plugin never sees the machine's own network.
package cni_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/vpc-cni/vpc-cni/internal/plugintest"
)

// binDir holds the binaries TestMain built: the plugin (pluginName) and
// cnitool. Empty when not root: every test here is privileged and skips.
var binDir string

const (
	pluginName  = "vpc-cni"
	cnitoolName = "cnitool"
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	// The cloud clients of the real-ipamd tests bring their own HTTP
	// client, to which the SDK cannot add a CA bundle: it refuses to
	// build them while AWS_CA_BUNDLE is set.
	os.Unsetenv("AWS_CA_BUNDLE")
	if os.Geteuid() != 0 {
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "vpc-cni-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "test/cni:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if err := buildBinaries(dir); err != nil {
		fmt.Fprintln(os.Stderr, "test/cni:", err)
		return 1
	}
	binDir = dir
	return m.Run()
}

// buildBinaries builds the plugin from this module and cnitool from the
// containernetworking/cni module go.mod requires, into dir.
func buildBinaries(dir string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	// The plugin as `make build` builds it.
	if _, err := plugintest.BuildIn(dir); err != nil {
		return err
	}
	cmd := exec.Command(goBin, "build", "-o", filepath.Join(dir, cnitoolName), "github.com/containernetworking/cni/cnitool")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build cnitool: %w\n%s", err, out)
	}
	return nil
}

// moduleRoot is the nearest directory above the working directory (the
// test's package directory) that holds go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// privileged skips the test unless it runs as root (with the binaries
// built).
func privileged(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 || binDir == "" {
		t.Skip("needs root: creates network namespaces and runs the plugin in them (run go test as root)")
	}
}
