package e2e

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/test/lab"
)

// The lab's teardown. A second Up of the same prefix replaces the first
// (its processes gone, the new lab working); Down after a crash that lost
// the pid files still finds every process (by its namespace) and removes
// every P-* namespace, every process and the state directory; a second
// Down is a no-op. Every other test's cleanup checks the same after its
// own Down.
func TestPrivilegedTeardown(t *testing.T) {
	timed(t)
	first := startLab(t, 7, labSpec{nodes: 1, pods: 1})
	firstProcs := labProcesses()
	if len(firstProcs) == 0 {
		t.Fatal("no process of the lab is running")
	}
	if names := podNamespaces(t, first.prefix); len(names) != 1 {
		t.Fatalf("the lab has pod namespaces %v, want 1", names)
	}

	// Up again over the running lab: it replaces it.
	l := startLab(t, 7, labSpec{nodes: 1, pods: 1, stateDir: first.stateDir})
	ctx := testCtx(t)
	for _, p := range firstProcs {
		if alive(p.pid) && cmdline(p.pid) == p.cmd {
			t.Errorf("process %v of the first lab survived the second Up", p)
		}
	}
	pods := l.Pods()
	node, err := l.Node(1)
	if err != nil {
		t.Fatal(err)
	}
	runChecks(ctx, t, append(nodePod(l.Nodes(), pods), check("pod→internet", podEnd(pods[0]), internetEnd(l.prefix), node.PrimaryIP)...))

	// A crash: the pid files are lost; Down finds the processes by their
	// namespaces.
	if err := os.RemoveAll(filepath.Join(l.stateDir, "pids")); err != nil {
		t.Fatal(err)
	}
	for round := 1; round <= 2; round++ {
		dctx, cancel := context.WithTimeout(context.Background(), downTimeout)
		start := time.Now()
		err := lab.Down(dctx, l.prefix, l.stateDir)
		cancel()
		if err != nil {
			t.Errorf("lab down (%d): %v", round, err)
		}
		t.Logf("timing: lab down (%d) in %v", round, time.Since(start).Round(time.Millisecond))
		for _, p := range leftovers(l.prefix, l.stateDir) {
			t.Errorf("after lab down (%d): %s", round, p)
		}
	}
}
