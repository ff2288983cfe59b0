package cni_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"

	"github.com/vpc-cni/vpc-cni/cni/ipamc"
	"github.com/vpc-cni/vpc-cni/cni/ipamc/fake"
)

const (
	// codeNotAvailable is the spec's "plugin not available" (STATUS).
	codeNotAvailable = 50
	// fakeMTU is the pods' MTU the fake ipamd answers (not a default).
	fakeMTU = 8500
)

// fakeAddresses alternate between the primary ENI (main table) and a
// secondary one (device 1, table 2): the pods added one after the other
// land on each in turn.
func fakeAddresses() []ipamc.Allocation {
	var out []ipamc.Allocation
	for i := range 4 {
		out = append(out,
			ipamc.Allocation{IP: netip.AddrFrom4([4]byte{198, 18, 1, byte(10 + i)}), ENI: fake.PrimaryENI},
			ipamc.Allocation{IP: netip.AddrFrom4([4]byte{198, 18, 2, byte(10 + i)}), ENI: fake.SecondaryENI,
				DeviceIndex: 1})
	}
	return out
}

// held is the fake's allocation of the pod, if any.
func held(srv *fake.Server, p *testPod) (fake.Held, bool) {
	for _, h := range srv.Allocations() {
		if h.ContainerID == p.rt.ContainerID && h.IfName == p.rt.IfName {
			return h, true
		}
	}
	return fake.Held{}, false
}

// TestPrivilegedLibcni runs every verb through libcni, as containerd
// does, for each spec version the plugin supports, against the fake ipamd.
func TestPrivilegedLibcni(t *testing.T) {
	privileged(t)
	for _, version := range []string{"0.4.0", "1.0.0", "1.1.0"} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			testLibcniFlows(t, version)
		})
	}
}

// testLibcniFlows: ADD of a pod on the primary ENI and one on a
// secondary ENI, CHECK, DEL, and with 1.1.0 STATUS and GC, then DEL and
// STATUS with ipamd stopped.
func testLibcniFlows(t *testing.T, version string) {
	host := newHost(t)
	srv := fake.Start(t, fake.Options{Addresses: fakeAddresses(), MTU: fakeMTU})
	n := newNet(t, host, version, srv.Socket(), fakeMTU)
	a, b := newPod(t, "default", "web-0"), newPod(t, "shop", "cart-1")
	ipA, ipB := testAdd(t, n, srv, a, mainTable), testAdd(t, n, srv, b, 2)
	testCheck(t, n, a, b)
	testDel(t, n, srv, a, ipA)
	wantHostWired(t, host, b.hostIf, ipB, 2)
	if version == "1.1.0" {
		testStatus(t, n, srv)
		testGC(t, n, srv, b)
	}
	testIpamdGone(t, n, srv, b, version == "1.1.0")
}

// testAdd: ADD returns and wires the address the fake gave the pod, from
// the ENI of table, asked for with the pod's CNI_ARGS; the pod reaches the
// host.
func testAdd(t *testing.T, n *testNet, srv *fake.Server, p *testPod, table int) netip.Addr {
	t.Helper()
	ip := n.mustAdd(p, table)
	h, ok := held(srv, p)
	switch {
	case !ok:
		t.Fatalf("the fake holds no address for %s/%s", p.namespace, p.name)
	case h.IP != ip || h.RouteTable != table:
		t.Errorf("%s/%s: the result has %s, the fake gave %s table %d", p.namespace, p.name, ip, h.IP, h.RouteTable)
	case h.PodNamespace != p.namespace || h.PodName != p.name || h.PodUID != p.uid || h.HostIfName != p.hostIf ||
		h.NetNS != p.ns.Path():
		t.Errorf("AddNetwork for %s/%s asked with %+v, want the pod's namespace, name, uid, netns and host veth %s",
			p.namespace, p.name, h, p.hostIf)
	}
	wantReach(t, n.host, p.ns, ip)
	return ip
}

// testCheck: CHECK passes, then names the default route of a deleted by
// hand; b's CHECK still passes.
func testCheck(t *testing.T, n *testNet, a, b *testPod) {
	t.Helper()
	for _, p := range []*testPod{a, b} {
		if err := n.check(p); err != nil {
			t.Errorf("CHECK %s after ADD: %v", p.name, err)
		}
	}
	delDefaultRoute(t, a.ns, podIfName)
	if err := n.check(a); err == nil {
		t.Error("CHECK after the pod's default route was deleted passed")
	} else if e := cniError(t, "CHECK", err); !strings.Contains(e.Msg, "default") {
		t.Errorf("CHECK after the pod's default route was deleted: %q, want it named", e.Msg)
	}
	if err := n.check(b); err != nil {
		t.Errorf("CHECK of the other pod: %v", err)
	}
}

// testDel: DEL removes everything of the pod and its allocation; a second
// DEL succeeds.
func testDel(t *testing.T, n *testNet, srv *fake.Server, p *testPod, ip netip.Addr) {
	t.Helper()
	if err := n.del(p); err != nil {
		t.Fatalf("DEL: %v", err)
	}
	wantHostPodGone(t, n.host, p.hostIf, ip)
	if names := p.ns.linkNames(t); len(names) != 1 {
		t.Errorf("pod links after DEL = %v, want lo only", names)
	}
	if _, ok := held(srv, p); ok {
		t.Error("the fake still holds the address after DEL")
	}
	if err := n.del(p); err != nil {
		t.Errorf("second DEL: %v", err)
	}
}

// testIpamdGone: with ipamd stopped, DEL removes the host side of
// prevResult's address (the secondary ENI's rule too) and succeeds, and
// STATUS fails with code 50.
func testIpamdGone(t *testing.T, n *testNet, srv *fake.Server, p *testPod, status bool) {
	t.Helper()
	srv.Stop()
	if err := n.del(p); err != nil {
		t.Fatalf("DEL with ipamd stopped: %v", err)
	}
	wantHostClean(t, n.host)
	if status {
		e := cniError(t, "STATUS with ipamd stopped", n.status())
		if e.Code != codeNotAvailable {
			t.Errorf("STATUS with ipamd stopped: %v, want code %d", e, codeNotAvailable)
		}
	}
}

// testStatus: STATUS succeeds while ipamd is ready, and fails with code 50
// and ipamd's reason while it is not.
func testStatus(t *testing.T, n *testNet, srv *fake.Server) {
	t.Helper()
	if err := n.status(); err != nil {
		t.Errorf("STATUS with ipamd ready: %v", err)
	}
	srv.SetReady(false)
	err := n.status()
	srv.SetReady(true)
	e := cniError(t, "STATUS with ipamd not ready", err)
	if e.Code != codeNotAvailable || !strings.Contains(e.Msg, "starting") {
		t.Errorf("STATUS with ipamd not ready: %v, want code %d with ipamd's reason", e, codeNotAvailable)
	}
}

// testGC: a GC whose valid attachments leave out a pod whose sandbox is
// gone releases its address at ipamd and removes the host rules its veth
// did not take with it; keep stays.
func testGC(t *testing.T, n *testNet, srv *fake.Server, keep *testPod) {
	t.Helper()
	gone := newPod(t, "default", "job-2")
	ip := n.mustAdd(gone, mainTable)
	gone.ns.remove(t)
	waitLinkGone(t, n.host, gone.hostIf)
	if len(rulesOf(t, n.host, ip)) == 0 {
		t.Fatalf("the rules of %s went with its sandbox: nothing left for GC to do", ip)
	}
	// A runtime with no cached attachment (another cache directory), so
	// that libcni sends the plugin the GC alone and does not DEL first.
	bare := libcni.NewCNIConfigWithCacheDir([]string{binDir}, t.TempDir(), nil)
	before := srv.Calls(fake.RPCDelNetwork)
	if err := n.gc(bare, keep); err != nil {
		t.Fatalf("GC: %v", err)
	}
	if got := srv.Calls(fake.RPCGarbageCollect); got != 1 {
		t.Errorf("the fake saw %d GarbageCollect calls, want 1", got)
	}
	if got := srv.Calls(fake.RPCDelNetwork); got != before {
		t.Errorf("GC made %d DelNetwork calls, want none", got-before)
	}
	if _, ok := held(srv, gone); ok {
		t.Error("the fake still holds the address of the pod GC left out")
	}
	if _, ok := held(srv, keep); !ok {
		t.Error("GC released the address of a valid attachment")
	}
	wantHostPodGone(t, n.host, gone.hostIf, ip)
	// The runtime's own GC: libcni DELs the attachment it still caches,
	// whose netns is gone and which ipamd no longer knows: success.
	if err := n.gc(n.cni, keep); err != nil {
		t.Fatalf("libcni's GC with its cache: %v", err)
	}
	wantHostPodGone(t, n.host, gone.hostIf, ip)
	wantHostWired(t, n.host, keep.hostIf, ipOfHeld(t, srv, keep), 2)
}

// waitLinkGone waits until the link is gone from the namespace (a
// removed namespace is destroyed, with its links, asynchronously).
func waitLinkGone(t *testing.T, n *testNS, name string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for slices.Contains(n.linkNames(t), name) {
		if time.Now().After(deadline) {
			t.Fatalf("link %s still there %s after its peer's namespace was removed", name, waitFor)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ipOfHeld(t *testing.T, srv *fake.Server, p *testPod) netip.Addr {
	t.Helper()
	h, ok := held(srv, p)
	if !ok {
		t.Fatalf("the fake holds no address for %s", p.name)
	}
	return h.IP
}
