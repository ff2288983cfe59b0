package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/internal/plugintest"
	"github.com/vpc-cni/vpc-cni/test/lab"
)

// binDir holds the binaries TestMain built; empty when the tests skip.
var binDir string

// skipReason is why every test skips (not root); empty when they run.
var skipReason string

// binaries are the lab's programs built with go build, by name.
var binaries = map[string]string{
	"ec2sim":  "github.com/vpc-cni/vpc-cni/cloud/sim/cmd/ec2sim",
	"ipamd":   "github.com/vpc-cni/vpc-cni/ipamd",
	"lab":     "github.com/vpc-cni/vpc-cni/test/lab/cmd/lab",
	"labecho": "github.com/vpc-cni/vpc-cni/test/lab/cmd/labecho",
}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Geteuid() != 0 {
		skipReason = "the e2e tests bring up labs (network namespaces, veths, nftables): run them as root " +
			"(sudo go test ./test/e2e/...)"
		fmt.Fprintln(os.Stderr, "e2e: skipping every test:", skipReason)
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "vpc-cni-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	start := time.Now()
	if err := build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "e2e: built the lab's binaries in %v\n", time.Since(start).Round(time.Millisecond))
	binDir = dir
	return m.Run()
}

// build builds the lab's binaries into dir as `make build` does: the
// daemons with plain go build, the plugin as plugintest builds it.
func build(dir string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	pkgs := make([]string, 0, len(binaries))
	for _, pkg := range binaries {
		pkgs = append(pkgs, pkg)
	}
	cmd := exec.Command(goBin, append([]string{"build", "-o", dir + "/"}, pkgs...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the lab's binaries (go build %v): %w\n%s", pkgs, err, out)
	}
	for name := range binaries {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("build the lab's binaries: %w", err)
		}
	}
	if _, err := plugintest.BuildIn(dir); err != nil {
		return err
	}
	linkImages(dir)
	return nil
}

// linkImages links what the real cluster's labs (K8S) need beyond the
// binaries into dir: the image archive and the lab images' static
// binaries, which make test builds into the repository's bin/ (make image
// lab-images) before the tests; a K8S test says what is missing.
func linkImages(dir string) {
	repoBin, err := filepath.Abs(filepath.Join("..", "..", "bin"))
	if err != nil {
		return
	}
	for _, name := range []string{"vpc-cni-image.tar", "lab-images"} {
		if _, err := os.Stat(filepath.Join(repoBin, name)); err == nil {
			_ = os.Symlink(filepath.Join(repoBin, name), filepath.Join(dir, name))
		}
	}
}

// needK8s skips a test of the real cluster when its tools or images are
// missing, or fails it under CI=true (.ci/run installs and builds them).
func needK8s(t *testing.T) {
	t.Helper()
	needLab(t)
	if err := lab.K8sToolsMissing(binDir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%v (CI=true: .ci/run installs and builds them, make test builds the images)", err)
		}
		t.Skipf("%v; skipping the real cluster's test", err)
	}
}

// needLab skips the test when the lab cannot run here.
func needLab(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
	if binDir == "" {
		t.Skip("the lab's binaries were not built")
	}
}
