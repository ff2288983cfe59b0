package fake

import (
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
)

func TestFake(t *testing.T) {
	f := New()
	p := dataplane.Pod{NetNS: "/ns/a", IfName: "eth0", HostIfName: "enia", IP: netip.MustParseAddr("198.18.1.5"), MTU: 9001, RouteTable: 2}
	if _, err := f.Setup(p); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if err := f.Check(p); err != nil {
		t.Errorf("Check: %v", err)
	}
	q := p
	q.RouteTable = 3
	if err := f.Check(q); !errors.Is(err, dataplane.ErrMismatch) {
		t.Errorf("Check with another table = %v, want ErrMismatch", err)
	}

	boom := errors.New("boom")
	f.Fail(OpSetup, boom)
	if _, err := f.Setup(dataplane.Pod{NetNS: "/ns/b", IfName: "eth0", HostIfName: "enib", IP: netip.MustParseAddr("198.18.1.6")}); !errors.Is(err, boom) {
		t.Errorf("failing Setup = %v", err)
	}
	f.Fail(OpSetup, nil)
	if n := len(f.Pods()); n != 1 || f.Calls(OpSetup) != 2 {
		t.Errorf("after a failed Setup: %d pods, %d calls; want 1 and 2", n, f.Calls(OpSetup))
	}

	f.RemoveNetNS("/ns/a")
	if err := f.Check(p); !errors.Is(err, dataplane.ErrMismatch) {
		t.Errorf("Check after the namespace went = %v, want ErrMismatch", err)
	}
	if got := f.HostAddrs(); len(got) != 1 {
		t.Errorf("host side after the namespace went = %v, want the address still there", got)
	}
	for range 2 {
		if err := f.Teardown(dataplane.HostSideOnly(p.IP, p.RouteTable)); err != nil {
			t.Errorf("Teardown: %v", err)
		}
	}
	if len(f.Pods()) != 0 || len(f.HostAddrs()) != 0 {
		t.Errorf("after Teardown: %v, %v", f.Pods(), f.HostAddrs())
	}
	if _, err := f.Setup(dataplane.Pod{IfName: "eth0"}); !errors.Is(err, dataplane.ErrInvalid) {
		t.Errorf("Setup of an invalid pod = %v, want ErrInvalid", err)
	}
}

func TestFakeNetNS(t *testing.T) {
	f := New()
	f.SetHostNetNS("/proc/1/ns/net")
	p := dataplane.Pod{NetNS: "/ns/a", IfName: "eth0", HostIfName: "enia", IP: netip.MustParseAddr("198.18.1.5")}
	if err := f.CheckNetNS(p.NetNS); err != nil {
		t.Errorf("CheckNetNS(%s) = %v", p.NetNS, err)
	}
	for _, path := range []string{"/proc/1/ns/net", ""} {
		if err := f.CheckNetNS(path); !errors.Is(err, dataplane.ErrNetNS) {
			t.Errorf("CheckNetNS(%q) = %v, want ErrNetNS", path, err)
		}
	}
	h := p
	h.NetNS = "/proc/1/ns/net"
	if _, err := f.Setup(h); !errors.Is(err, dataplane.ErrNetNS) {
		t.Errorf("Setup in the host namespace = %v, want ErrNetNS", err)
	}
	if err := f.Check(h); !errors.Is(err, dataplane.ErrNetNS) {
		t.Errorf("Check in the host namespace = %v, want ErrNetNS", err)
	}
	if _, err := f.Setup(p); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if err := f.Teardown(dataplane.Teardown{NetNS: h.NetNS, IfName: "eth0"}); err != nil || len(f.Pods()) != 1 {
		t.Errorf("Teardown in the host namespace = %v, left %v; want the pod untouched", err, f.Pods())
	}
	f.RemoveNetNS(p.NetNS)
	if err := f.CheckNetNS(p.NetNS); !errors.Is(err, dataplane.ErrNetNS) {
		t.Errorf("CheckNetNS of a removed namespace = %v, want ErrNetNS", err)
	}
	if _, err := f.Setup(p); !errors.Is(err, dataplane.ErrNetNS) {
		t.Errorf("Setup in a removed namespace = %v, want ErrNetNS", err)
	}
	if err := f.Check(p); !errors.Is(err, dataplane.ErrMismatch) {
		t.Errorf("Check in a removed namespace = %v, want ErrMismatch", err)
	}
}

func TestFakePodIfExists(t *testing.T) {
	f := New()
	p := dataplane.Pod{NetNS: "/ns/a", IfName: "eth0", HostIfName: "enia", IP: netip.MustParseAddr("198.18.1.5")}
	if ok, err := f.PodIfExists(p.NetNS, p.IfName); ok || err != nil {
		t.Errorf("PodIfExists before Setup = %v, %v", ok, err)
	}
	if _, err := f.Setup(p); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if ok, err := f.PodIfExists(p.NetNS, p.IfName); !ok || err != nil {
		t.Errorf("PodIfExists after Setup = %v, %v", ok, err)
	}
	if ok, err := f.PodIfExists(p.NetNS, "net1"); ok || err != nil {
		t.Errorf("PodIfExists of another name = %v, %v", ok, err)
	}
	f.RemoveNetNS(p.NetNS)
	if _, err := f.PodIfExists(p.NetNS, p.IfName); !errors.Is(err, dataplane.ErrNetNS) {
		t.Errorf("PodIfExists in a removed namespace = %v, want ErrNetNS", err)
	}
}

func TestFakeIncompleteSetup(t *testing.T) {
	f := New()
	p := dataplane.Pod{NetNS: "/ns/a", IfName: "eth0", HostIfName: "enia", IP: netip.MustParseAddr("198.18.1.5")}
	f.Fail(OpSetup, fmt.Errorf("add rule from pod: boom (%w: delete veth: boom)", dataplane.ErrIncomplete))
	if _, err := f.Setup(p); !errors.Is(err, dataplane.ErrIncomplete) {
		t.Fatalf("Setup = %v, want ErrIncomplete", err)
	}
	f.Fail(OpSetup, nil)
	if len(f.Pods()) != 1 || len(f.HostAddrs()) != 1 {
		t.Errorf("after an incomplete Setup: %v, %v; want the pod left behind", f.Pods(), f.HostAddrs())
	}
	if err := f.Teardown(dataplane.Teardown{NetNS: p.NetNS, IfName: p.IfName, HostIfName: p.HostIfName, IP: p.IP}); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if len(f.Pods()) != 0 || len(f.HostAddrs()) != 0 {
		t.Errorf("after Teardown: %v, %v", f.Pods(), f.HostAddrs())
	}
}

// The fake's Teardown keeps to Linux's rules: the address is read from
// the pod when not given, and one a live pod holds keeps its host side.
func TestFakeTeardown(t *testing.T) {
	f := New()
	a := dataplane.Pod{NetNS: "/ns/a", IfName: "eth0", HostIfName: "enia", IP: netip.MustParseAddr("198.18.1.5"), RouteTable: 2}
	if _, err := f.Setup(a); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if err := f.Teardown(dataplane.Teardown{NetNS: a.NetNS, IfName: a.IfName}); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if len(f.Pods()) != 0 || len(f.HostAddrs()) != 0 {
		t.Errorf("after a Teardown by names: %v, %v; want the address read from the pod and removed", f.Pods(), f.HostAddrs())
	}

	b := a
	b.NetNS, b.HostIfName = "/ns/b", "enib"
	if _, err := f.Setup(b); err != nil {
		t.Fatalf("Setup of b with a's old address: %v", err)
	}
	f.SetHostNetNS("/proc/1/ns/net")
	for _, td := range []dataplane.Teardown{
		{NetNS: a.NetNS, IfName: a.IfName, HostIfName: a.HostIfName, IP: a.IP},
		dataplane.HostSideOnly(a.IP, a.RouteTable),
		{NetNS: "/proc/1/ns/net", IfName: b.IfName, HostIfName: b.HostIfName, IP: a.IP},
	} {
		if err := f.Teardown(td); err != nil {
			t.Fatalf("late Teardown(%+v): %v", td, err)
		}
		if err := f.Check(b); err != nil {
			t.Errorf("b after the late Teardown(%+v): %v", td, err)
		}
	}
	if err := f.Teardown(dataplane.Teardown{HostIfName: b.HostIfName, IP: b.IP}); err != nil {
		t.Fatalf("Teardown by the host veth: %v", err)
	}
	if len(f.Pods()) != 0 || len(f.HostAddrs()) != 0 {
		t.Errorf("after a Teardown by the host veth and address: %v, %v", f.Pods(), f.HostAddrs())
	}
}
