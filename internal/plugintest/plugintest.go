// Package plugintest builds the vpc-cni plugin binary for the tests and
// benchmarks that run it as a runtime does, exactly as `make build` does.
// Only tests import it.
package plugintest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// How `make build` builds bin/vpc-cni (the Makefile's CNI_BUILD): static,
// without cgo, and without grpc's x/net/trace (-tags grpcnotrace). The
// plugin is a process per pod start: its startup is on the pod's path,
// and each package a binary initialises costs page faults. Both save
// several milliseconds per call on a small VM.
const (
	Tags       = "grpcnotrace"
	CGOEnabled = "0"
	Package    = "github.com/vpc-cni/vpc-cni/cni"
)

// Build builds the plugin as dir/vpc-cni and returns its path.
func Build(tb testing.TB, dir string) string {
	tb.Helper()
	out, err := BuildIn(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// BuildIn is Build for a caller without a testing.TB (TestMain).
func BuildIn(dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(dir, "vpc-cni")
	cmd := exec.Command(goBin, "build", "-tags", Tags, "-o", out, Package)
	cmd.Env = append(os.Environ(), "CGO_ENABLED="+CGOEnabled)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the plugin (go build %s): %w\n%s", Package, err, b)
	}
	return out, nil
}
