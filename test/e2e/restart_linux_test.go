package e2e

import (
	"context"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
	"github.com/vpc-cni/vpc-cni/test/lab"
	"github.com/vpc-cni/vpc-cni/test/lab/echo"
)

// ipamd killed with SIGKILL (no clean stop) and started again while pods
// run, some of them on a secondary ENI: the pods keep their connectivity
// and their addresses (ipamd
// restores them from its checkpoint), a new pod gets a new address, and no
// address is given twice: every pod's address is distinct and assigned in
// ec2sim to an ENI of the pod's own node.
func TestPrivilegedIpamdKilled(t *testing.T) {
	timed(t)
	// t3.medium: 5 pod addresses per ENI, so with 6 pods each node has a
	// pod on a secondary ENI, whose link, route table and rules ipamd sets
	// up again from its checkpoint when it starts.
	const typ, perNode = "t3.medium", 6
	l := startLab(t, 6, labSpec{nodes: 2, instanceType: typ, pods: perNode})
	ctx := testCtx(t)
	before := l.Pods()
	if len(before) != 2*perNode {
		t.Fatalf("the lab has %d pods, want %d on each of 2 nodes", len(before), perNode)
	}
	if !slices.ContainsFunc(slices.Collect(maps.Values(placeAll(ctx, t, l, before))), func(p placement) bool {
		return p.eni.Attachment.InstanceID == l.Nodes()[0].InstanceID && p.device >= 1
	}) {
		t.Fatalf("node 1 has no pod on a secondary ENI")
	}
	node1, err := l.Node(1)
	if err != nil {
		t.Fatal(err)
	}
	oldPid := ipamdPids(t, node1)
	if len(oldPid) != 1 {
		t.Fatalf("node 1 runs %d ipamd processes (%v), want 1", len(oldPid), oldPid)
	}

	start := time.Now()
	if err := l.RestartIpamd(ctx, 1, true); err != nil {
		t.Fatalf("kill and restart node 1's ipamd: %v", err)
	}
	t.Logf("timing: node 1's ipamd killed and ready again in %v", time.Since(start).Round(time.Millisecond))
	newPid := ipamdPids(t, node1)
	if len(newPid) != 1 || newPid[0] == oldPid[0] {
		t.Fatalf("node 1's ipamd was %v before the restart and is %v after; want one new process", oldPid, newPid)
	}

	// The running pods kept their connectivity and their addresses.
	runChecks(ctx, t, append(podToPod(before), nodePod(l.Nodes(), before)...))
	held := assignedTo(ctx, t, l, 1)
	for _, p := range before {
		if p.Node == 1 && held[p.IP] != p.Name {
			t.Errorf("after the restart ipamd has %s assigned to %q, want %s", p.IP, held[p.IP], p.Name)
		}
	}

	// A new pod gets an address of its own.
	np, err := l.AddPod(ctx, 1)
	if err != nil {
		t.Fatalf("add a pod after the restart: %v", err)
	}
	if slices.ContainsFunc(before, func(p *lab.Pod) bool { return p.IP == np.IP }) {
		t.Errorf("the new pod %s got %s, an address a running pod holds", np.Name, np.IP)
	}
	all := l.Pods()
	placeAll(ctx, t, l, all)
	var cs []echo.Check
	for _, p := range all {
		if p != np {
			cs = append(cs, check("new pod→pod", podEnd(np), podEnd(p), np.IP)...)
			cs = append(cs, check("pod→new pod", podEnd(p), podEnd(np), p.IP)...)
		}
	}
	runChecks(ctx, t, cs)
}

// assignedTo is what node's ipamd has assigned, by address: the pod name.
func assignedTo(ctx context.Context, t *testing.T, l *testLab, node int) map[netip.Addr]string {
	t.Helper()
	var v introspect.ENIsView
	if err := l.Introspect(ctx, node, introspect.PathENIs, &v); err != nil {
		t.Fatalf("introspection of node %d: %v", node, err)
	}
	if len(v.Unplaced) > 0 {
		t.Errorf("ipamd of node %d has allocations on no ENI: %+v", node, v.Unplaced)
	}
	out := map[netip.Addr]string{}
	for _, e := range v.ENIs {
		for _, b := range e.Blocks {
			for _, a := range b.Addresses {
				if a.State == introspect.StateAssigned && a.Owner != nil {
					out[a.IP] = a.Owner.Pod.Name
				}
			}
		}
	}
	return out
}

// ipamdPids are the ipamd processes running in the node's namespace.
func ipamdPids(t *testing.T, n lab.Node) []int {
	t.Helper()
	var want unix.Stat_t
	if err := unix.Stat(n.NetNSPath(), &want); err != nil {
		t.Fatalf("stat %s: %v", n.NetNSPath(), err)
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || exe != filepath.Join(binDir, "ipamd") || !alive(pid) {
			continue
		}
		var st unix.Stat_t
		if unix.Stat(filepath.Join("/proc", e.Name(), "ns", "net"), &st) == nil && st.Dev == want.Dev && st.Ino == want.Ino {
			pids = append(pids, pid)
		}
	}
	return pids
}
