package lab

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/internal/plugintest"
	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
	"github.com/vpc-cni/vpc-cni/test/lab/echo"
	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
)

// buildBinaries builds what Up runs into a temporary directory, as `make
// build` does.
func buildBinaries(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-o", dir+"/",
		"github.com/vpc-cni/vpc-cni/cloud/sim/cmd/ec2sim", "github.com/vpc-cni/vpc-cni/ipamd",
		"github.com/vpc-cni/vpc-cni/test/lab/cmd/lab", "github.com/vpc-cni/vpc-cni/test/lab/cmd/labecho")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	if _, err := plugintest.BuildIn(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// testConfig is a 1-node lab with a prefix of its own and its state in a
// temporary directory; Down runs when the test ends, whatever happens.
func testConfig(t *testing.T, bin string, pods int) Config {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Nodes, cfg.PodsPerNode, cfg.BinDir = 1, pods, bin
	cfg.Prefix = fmt.Sprintf("lt%d", rand.IntN(1_000_000))
	cfg.StateDir = filepath.Join(t.TempDir(), "state")
	t.Cleanup(func() {
		if err := Down(context.Background(), cfg.Prefix, cfg.StateDir); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return cfg
}

// logWriter sends Up's progress lines to the test log.
type logWriter struct{ t *testing.T }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

func TestPrivilegedUpDown(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("TestPrivilegedUpDown needs root (network namespaces, links, mounts): run go test as root")
	}
	bin := buildBinaries(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	t.Run("up, check, pods, restart, down", func(t *testing.T) {
		cfg := testConfig(t, bin, 2)
		l, err := Up(ctx, cfg, logWriter{t})
		if err != nil {
			t.Fatalf("Up: %v", err)
		}
		checkAll(ctx, t, l, 2)
		exercise(ctx, t, l)
		pids := labPids(cfg)
		if len(pids) == 0 {
			t.Fatal("no pid files")
		}
		if err := Down(ctx, cfg.Prefix, cfg.StateDir); err != nil {
			t.Fatalf("Down: %v", err)
		}
		assertGone(t, cfg, bin, pids)
		if err := Down(ctx, cfg.Prefix, cfg.StateDir); err != nil {
			t.Errorf("a second Down: %v", err)
		}
	})

	// After a crash the state directory may be gone: Down still finds the
	// processes by their namespaces and the namespaces by their names.
	t.Run("down without the state dir", func(t *testing.T) {
		cfg := testConfig(t, bin, 1)
		if _, err := Up(ctx, cfg, logWriter{t}); err != nil {
			t.Fatalf("Up: %v", err)
		}
		pids := labPids(cfg)
		if err := os.RemoveAll(cfg.StateDir); err != nil {
			t.Fatal(err)
		}
		if err := Down(ctx, cfg.Prefix, cfg.StateDir); err != nil {
			t.Fatalf("Down: %v", err)
		}
		assertGone(t, cfg, bin, pids)
	})
}

// checkAll: every check passes, the report has the lab's nodes and pods.
func checkAll(ctx context.Context, t *testing.T, l *Lab, pods int) {
	t.Helper()
	r := l.Report(ctx)
	for _, c := range r.Checks {
		if !c.Pass() {
			t.Errorf("check %v", c)
		}
	}
	if !r.Pass() || len(r.Nodes) != 1 || len(r.Pods) != pods || len(r.Notes) != 0 {
		t.Errorf("report: pass %v, %d nodes, %d pods, notes %v: want a pass, 1 node, %d pods, no notes",
			r.Pass(), len(r.Nodes), len(r.Pods), r.Notes, pods)
	}
	for _, p := range r.Pods {
		if p.ENI == "" || !p.IP.IsValid() {
			t.Errorf("report: pod %+v without an address or an ENI", p)
		}
	}
	if r.Nodes[0].MaxPods != 29 || r.Nodes[0].Assigned != pods {
		t.Errorf("report: node %+v: want max pods 29 (m5.large), %d assigned", r.Nodes[0], pods)
	}
	if tm := l.Timings(); tm.Up <= 0 || tm.FirstPodReady <= 0 || tm.FirstPodReady > tm.Up {
		t.Errorf("timings %+v", tm)
	}
}

// exercise adds and deletes a pod, restarts ipamd and reads the lab's
// state through each accessor.
func exercise(ctx context.Context, t *testing.T, l *Lab) {
	t.Helper()
	p, err := l.AddPod(ctx, 1)
	if err != nil {
		t.Fatalf("AddPod: %v", err)
	}
	n := l.Nodes()[0]
	if r, err := echo.Probe(ctx, n.NetNSPath(), netip.AddrPortFrom(p.IP, echoPort), "tcp"); err != nil || r.Seen != n.PrimaryIP {
		t.Errorf("node → the new pod: %+v, %v", r, err)
	}
	if got, err := Load(l.cfg.Prefix, l.cfg.StateDir); err != nil || len(got.Pods()) != 3 {
		t.Errorf("Load after AddPod: %v", err)
	}
	if err := l.DelPod(ctx, p); err != nil {
		t.Fatalf("DelPod: %v", err)
	}
	if netenv.Exists(p.NetNS) || len(l.Pods()) != 2 {
		t.Errorf("after DelPod: namespace %s there %v, %d pods", p.NetNS, netenv.Exists(p.NetNS), len(l.Pods()))
	}
	if err := l.RestartIpamd(ctx, 1, true); err != nil {
		t.Fatalf("RestartIpamd: %v", err)
	}
	if st, err := l.IpamdStatus(ctx, 1); err != nil || !st.Ready {
		t.Errorf("IpamdStatus after the restart: %+v, %v", st, err)
	}
	var lim introspect.LimitsView
	if err := l.Introspect(ctx, 1, introspect.PathLimits, &lim); err != nil || lim.InstanceType != "m5.large" {
		t.Errorf("Introspect limits: %+v, %v", lim, err)
	}
	st, err := l.SimState(ctx)
	if err != nil || len(st.Instances) != 1 || st.Instances[0].ID != n.InstanceID {
		t.Errorf("SimState: %d instances, %v", len(st.Instances), err)
	}
	if cs := l.Checks(ctx); len(cs) == 0 {
		t.Error("no checks")
	} else {
		for _, c := range cs {
			if !c.Pass() {
				t.Errorf("after the restart: %v", c)
			}
		}
	}
}

// labPids are the live processes of the lab's pid files.
func labPids(cfg Config) []int { return pidFilePids(cfg.StateDir) }

// assertGone: no namespace, no process and no state directory left.
func assertGone(t *testing.T, cfg Config, bin string, pids []int) {
	t.Helper()
	if names, err := netenv.List(cfg.Prefix); err != nil || len(names) != 0 {
		t.Errorf("namespaces left: %v, %v", names, err)
	}
	for _, pid := range pids {
		if alive(pid) {
			t.Errorf("process %d still runs", pid)
		}
	}
	ents, _ := os.ReadDir(procPath)
	for _, e := range ents {
		exe, err := os.Readlink(filepath.Join(procPath, e.Name(), "exe"))
		if pid, perr := strconv.Atoi(e.Name()); perr == nil && err == nil && strings.HasPrefix(exe, bin+"/") && alive(pid) {
			t.Errorf("process %d (%s) still runs", pid, exe)
		}
	}
	if _, err := os.Stat(cfg.StateDir); !os.IsNotExist(err) {
		t.Errorf("state dir %s: %v, want it gone", cfg.StateDir, err)
	}
}
