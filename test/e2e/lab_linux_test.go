package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/test/lab"
	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
)

// Generous bounds: the machine is shared and noisy, and none of these is
// an assertion on speed.
const (
	upTimeout   = 4 * time.Minute
	downTimeout = 2 * time.Minute
	testTimeout = 5 * time.Minute
)

// labSpec is what a test wants of its lab; the rest is the lab's defaults.
type labSpec struct {
	nodes        int
	instanceType string // "" = lab.DefaultInstanceType (m5.large)
	pods         int    // per node, made by Up
	ipamdEnv     map[string]string
	stateDir     string // "" = a new temporary directory
	k8s          bool   // a real cluster (kubelet, containerd, the chart)
}

// testLab is a running lab and where it lives.
type testLab struct {
	*lab.Lab
	prefix   string
	stateDir string
}

// startLab brings up a lab with prefix e2e<n> (n unique per test) and its
// state in a temporary directory. Its teardown is registered before Up
// starts, so a lab that failed to come up or a test that fails still
// leaves nothing behind; the teardown also checks that nothing is left.
func startLab(t *testing.T, n int, spec labSpec) *testLab {
	t.Helper()
	needLab(t)
	prefix := "e2e" + strconv.Itoa(n)
	stateDir := spec.stateDir
	if stateDir == "" {
		stateDir = tempStateDir(t, prefix)
	}
	cfg := lab.Config{
		Nodes: spec.nodes, InstanceType: spec.instanceType, PodsPerNode: spec.pods,
		Prefix: prefix, StateDir: stateDir, BinDir: binDir, IpamdEnv: spec.ipamdEnv, K8S: spec.k8s,
	}
	if cfg.InstanceType == "" {
		cfg.InstanceType = lab.DefaultInstanceType
	}
	if err := cfg.Validate(); err != nil {
		t.Fatalf("lab config: %v", err)
	}
	t.Cleanup(func() { tearDown(t, prefix, stateDir) })

	ctx, cancel := context.WithTimeout(context.Background(), upTimeout)
	defer cancel()
	start := time.Now()
	w := &logWriter{t: t, prefix: prefix + " up: "}
	l, err := lab.Up(ctx, cfg, w)
	w.flush()
	if err != nil {
		t.Fatalf("lab up (%d × %s, %d pods per node, %v): %v", cfg.Nodes, cfg.InstanceType,
			cfg.PodsPerNode, cfg.IpamdEnv, err) // the teardown shows the logs
	}
	tm := l.Timings()
	t.Logf("timing: lab %s up in %v (lab says: up %v, first pod ready %v): %d × %s, %d pods per node, ipamd env %v",
		prefix, time.Since(start).Round(time.Millisecond), tm.Up.Round(time.Millisecond),
		tm.FirstPodReady.Round(time.Millisecond), cfg.Nodes, cfg.InstanceType, cfg.PodsPerNode, cfg.IpamdEnv)
	return &testLab{Lab: l, prefix: prefix, stateDir: stateDir}
}

// tempStateDir is a fresh state directory for the lab, on tmpfs when the
// machine has /dev/shm (a node's /run is tmpfs, and ipamd syncs its
// checkpoint on each ADD and DEL). The lab's Down removes it; so does the
// test's cleanup, should Down not.
func tempStateDir(t *testing.T, prefix string) string {
	t.Helper()
	base := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		base = "/dev/shm"
	}
	dir, err := os.MkdirTemp(base, "vpc-cni-e2e-"+prefix+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) }) // runs after tearDown (LIFO)
	return dir
}

// tearDown runs lab.Down and checks that the lab left nothing: no P-*
// namespace, no process of our binaries, no state directory.
func tearDown(t *testing.T, prefix, stateDir string) {
	t.Helper()
	if t.Failed() {
		t.Logf("the test failed; the lab's logs before teardown:\n%s", logTails(stateDir))
	}
	ctx, cancel := context.WithTimeout(context.Background(), downTimeout)
	defer cancel()
	start := time.Now()
	if err := lab.Down(ctx, prefix, stateDir); err != nil {
		t.Errorf("lab down %s: %v", prefix, err)
	}
	t.Logf("timing: lab %s down in %v", prefix, time.Since(start).Round(time.Millisecond))
	for _, p := range leftovers(prefix, stateDir) {
		t.Errorf("after lab down %s: %s", prefix, p)
	}
}

// leftovers lists what a lab left after Down: namespaces named P-*,
// processes running one of this run's binaries (binDir is this test
// binary's own, so any such process is a lab's), and the state directory.
func leftovers(prefix, stateDir string) []string {
	var out []string
	names, err := netenv.List(prefix)
	if err != nil {
		out = append(out, fmt.Sprintf("list namespaces: %v", err))
	}
	for _, n := range names {
		out = append(out, "namespace "+n+" remains")
	}
	for _, p := range labProcesses() {
		out = append(out, "process "+p.String()+" remains")
	}
	if _, err := os.Stat(stateDir); !errors.Is(err, fs.ErrNotExist) {
		out = append(out, fmt.Sprintf("state directory %s remains (stat: %v)", stateDir, err))
	}
	return out
}

// proc is a process: its pid and command line.
type proc struct {
	pid int
	cmd string
}

func (p proc) String() string { return fmt.Sprintf("%d (%s)", p.pid, p.cmd) }

// cmdline is pid's command line, its arguments joined by spaces.
func cmdline(pid int) string {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	return strings.TrimSpace(string(bytes.ReplaceAll(b, []byte{0}, []byte{' '})))
}

// labProcesses are the live processes whose executable is one of the
// binaries TestMain built.
func labProcesses() []proc {
	if binDir == "" {
		return nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return []proc{{cmd: fmt.Sprintf("cannot read /proc: %v", err)}}
	}
	var out []proc
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil {
			continue // gone, or a kernel thread
		}
		exe = strings.TrimSuffix(exe, " (deleted)")
		if filepath.Dir(exe) != filepath.Clean(binDir) || !alive(pid) {
			continue
		}
		out = append(out, proc{pid: pid, cmd: cmdline(pid)})
	}
	return out
}

// alive says whether pid runs and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || (b[i+2] != 'Z' && b[i+2] != 'X')
}

// logTails is the end of each of the lab's logs, for a failure message.
func logTails(stateDir string) string {
	files, _ := filepath.Glob(filepath.Join(stateDir, "logs", "*.log"))
	files = append(files, must(filepath.Glob(filepath.Join(stateDir, "node*", "plugin.log")))...)
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		fmt.Fprintf(&b, "--- %s (last lines)\n%s\n", f, tail(string(data), 15))
	}
	return b.String()
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func must[T any](v T, _ error) T { return v }

// logWriter turns Up's progress lines into t.Log lines.
type logWriter struct {
	t      *testing.T
	prefix string
	mu     sync.Mutex
	buf    []byte
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.t.Log(w.prefix + string(w.buf[:i]))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// flush logs a last line without its newline.
func (w *logWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.t.Log(w.prefix + string(w.buf))
		w.buf = nil
	}
}

// timed logs how long the test took, when it ends.
func timed(t *testing.T) {
	start := time.Now()
	t.Cleanup(func() {
		if !t.Skipped() {
			t.Logf("timing: %s took %v", t.Name(), time.Since(start).Round(time.Millisecond))
		}
	})
}

// testCtx is the test's context, bounded.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}
