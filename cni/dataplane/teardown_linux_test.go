package dataplane_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
)

func full(p dataplane.Pod) dataplane.Teardown {
	return dataplane.Teardown{NetNS: p.NetNS, IfName: p.IfName, HostIfName: p.HostIfName, IP: p.IP, RouteTable: p.RouteTable}
}

func TestPrivilegedTeardown(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name string
		// before runs after Setup and returns the Teardown to run twice.
		before func(t *testing.T, host, pod *testNS, p dataplane.Pod) dataplane.Teardown
	}{
		{"everything known", func(t *testing.T, host, pod *testNS, p dataplane.Pod) dataplane.Teardown {
			return full(p)
		}},
		{"namespace deleted", func(t *testing.T, host, pod *testNS, p dataplane.Pod) dataplane.Teardown {
			pod.remove()
			return full(p)
		}},
		{"namespace path no longer a namespace", func(t *testing.T, host, pod *testNS, p dataplane.Pod) dataplane.Teardown {
			pod.remove()
			if err := os.WriteFile(p.NetNS, nil, 0o600); err != nil {
				t.Fatalf("write %s: %v", p.NetNS, err)
			}
			t.Cleanup(func() { os.Remove(p.NetNS) })
			return full(p)
		}},
		{"namespace path in a missing directory", func(t *testing.T, host, pod *testNS, p dataplane.Pod) dataplane.Teardown {
			td := full(p)
			td.NetNS = filepath.Join(t.TempDir(), "missing", "netns")
			return td
		}},
		{"only the names: the address is the pod interface's", func(t *testing.T, host, pod *testNS, p dataplane.Pod) dataplane.Teardown {
			return dataplane.Teardown{NetNS: p.NetNS, IfName: p.IfName, HostIfName: p.HostIfName}
		}},
		{"only the pod's namespace and interface", func(t *testing.T, host, pod *testNS, p dataplane.Pod) dataplane.Teardown {
			return dataplane.Teardown{NetNS: p.NetNS, IfName: p.IfName}
		}},
		{"only the host veth and address", func(t *testing.T, host, pod *testNS, p dataplane.Pod) dataplane.Teardown {
			return dataplane.Teardown{HostIfName: p.HostIfName, IP: p.IP, RouteTable: p.RouteTable}
		}},
		{"only the address, the pod gone", func(t *testing.T, host, pod *testNS, p dataplane.Pod) dataplane.Teardown {
			link, err := host.h.LinkByName(p.HostIfName)
			if err != nil {
				t.Fatalf("host veth: %v", err)
			}
			if err := host.h.LinkDel(link); err != nil {
				t.Fatalf("delete host veth: %v", err)
			}
			return dataplane.HostSideOnly(p.IP, p.RouteTable)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, pod := newHost(t), newNS(t)
			l := newLinux(t, host)
			p := podFor(pod, 1, 5)
			hostBefore, podBefore := snapshot(t, host), snapshot(t, pod)
			if _, err := l.Setup(p); err != nil {
				t.Fatalf("Setup: %v", err)
			}
			td := tc.before(t, host, pod, p)
			if err := l.Teardown(td); err != nil {
				t.Fatalf("Teardown(%+v): %v", td, err)
			}
			wantChange(t, "host", host, hostBefore, state{})
			if pod.h != nil { // not removed
				wantChange(t, "pod", pod, podBefore, state{})
			}
			if err := l.Teardown(td); err != nil {
				t.Errorf("second Teardown: %v", err)
			}
		})
	}
}

// A Teardown never removes the route or the rules of an address in use:
// with only the address while its pod lives, nothing goes.
func TestPrivilegedTeardownKeepsLiveRoute(t *testing.T) {
	requireRoot(t)
	host, pod := newHost(t), newNS(t)
	l := newLinux(t, host)
	p := podFor(pod, 1, 5)
	hostBefore := snapshot(t, host)
	if _, err := l.Setup(p); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	for _, td := range []dataplane.Teardown{
		dataplane.HostSideOnly(p.IP, p.RouteTable),
		{HostIfName: "eniother", IP: p.IP},
	} {
		if err := l.Teardown(td); err != nil {
			t.Fatalf("Teardown(%+v): %v", td, err)
		}
		wantChange(t, "host", host, hostBefore, hostWants(p))
		if err := l.Check(p); err != nil {
			t.Errorf("Check of the live pod after Teardown(%+v): %v", td, err)
		}
	}
}

// A late or repeated DEL of a pod whose address ipamd has given to another
// pod since never touches the new pod's route or rules (B1), whatever it
// knows of the old pod, and deletes nothing in the host's namespace by
// name when that is passed as the pod's (B5).
func TestPrivilegedTeardownSparesReusedAddress(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name string
		td   func(host *testNS, old, cur dataplane.Pod) dataplane.Teardown
		gone bool // remove the old namespace first
	}{
		{"old namespace still there", func(_ *testNS, old, _ dataplane.Pod) dataplane.Teardown { return full(old) }, false},
		{"old namespace gone", func(_ *testNS, old, _ dataplane.Pod) dataplane.Teardown { return full(old) }, true},
		{"only the address", func(_ *testNS, old, _ dataplane.Pod) dataplane.Teardown {
			return dataplane.HostSideOnly(old.IP, old.RouteTable)
		}, true},
		{"old host veth's name and the address", func(_ *testNS, old, _ dataplane.Pod) dataplane.Teardown {
			return dataplane.Teardown{HostIfName: old.HostIfName, IP: old.IP, RouteTable: old.RouteTable}
		}, true},
		{"the host's namespace, its node0", func(host *testNS, old, _ dataplane.Pod) dataplane.Teardown {
			return dataplane.Teardown{NetNS: host.Path(), IfName: "node0", HostIfName: old.HostIfName, IP: old.IP}
		}, false},
		{"the host's namespace, the new pod's veth", func(host *testNS, old, cur dataplane.Pod) dataplane.Teardown {
			return dataplane.Teardown{NetNS: host.Path(), IfName: cur.HostIfName, IP: old.IP}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, oldNS, curNS := newHost(t), newNS(t), newNS(t)
			l := newLinux(t, host)
			hostBefore := snapshot(t, host)
			old := podFor(oldNS, 1, 5)
			if _, err := l.Setup(old); err != nil {
				t.Fatalf("Setup of the old pod: %v", err)
			}
			if err := l.Teardown(full(old)); err != nil {
				t.Fatalf("Teardown of the old pod: %v", err)
			}
			cur := podFor(curNS, 1, 6) // the same address, another ENI
			cur.HostIfName = podFor(curNS, 2, 6).HostIfName
			if _, err := l.Setup(cur); err != nil {
				t.Fatalf("Setup of the new pod: %v", err)
			}
			if tc.gone {
				oldNS.remove()
			}
			td := tc.td(host, old, cur)
			for range 2 {
				if err := l.Teardown(td); err != nil {
					t.Fatalf("late Teardown(%+v) of the old pod: %v", td, err)
				}
				if err := l.Check(cur); err != nil {
					t.Errorf("the new pod after the old one's late Teardown: %v", err)
				}
				wantChange(t, "host", host, hostBefore, hostWants(cur))
			}
		})
	}
}

// A surviving host veth is deleted by the index of the link the route
// goes through: when its name changes hands in between (a new sandbox of
// the pod), the new link of that name stays (R5).
func TestPrivilegedTeardownDeletesHostVethByIdentity(t *testing.T) {
	requireRoot(t)
	host, pod := newHost(t), newNS(t)
	l := newLinux(t, host)
	p := podFor(pod, 1, 5)
	if _, err := l.Setup(p); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	var newIndex int
	l.SetFault(func(step string) error {
		if step != dataplane.TeardownHostVethStep {
			return nil
		}
		// Between finding the veth and deleting it, its name goes to
		// another sandbox's veth.
		old, err := host.h.LinkByName(p.HostIfName)
		if err != nil {
			return err
		}
		if err := host.h.LinkSetDown(old); err != nil {
			return err
		}
		if err := host.h.LinkSetName(old, "enirenamed"); err != nil {
			return err
		}
		if err := host.h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: p.HostIfName}, PeerName: "enipeer"}); err != nil {
			return err
		}
		cur, err := host.h.LinkByName(p.HostIfName)
		if err != nil {
			return err
		}
		newIndex = cur.Attrs().Index
		return nil
	})
	defer l.SetFault(nil)
	if err := l.Teardown(dataplane.Teardown{HostIfName: p.HostIfName, IP: p.IP, RouteTable: p.RouteTable}); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if newIndex == 0 {
		t.Fatalf("Teardown never reached %q", dataplane.TeardownHostVethStep)
	}
	if _, err := host.h.LinkByName("enirenamed"); err == nil {
		t.Errorf("the pod's own veth (renamed) survived the Teardown")
	}
	if cur, err := host.h.LinkByName(p.HostIfName); err != nil || cur.Attrs().Index != newIndex {
		t.Errorf("the new link named %s was deleted: %v", p.HostIfName, err)
	}
	if _, err := pod.h.LinkByName(p.IfName); err == nil {
		t.Errorf("the pod's interface survived the Teardown")
	}
	rules, err := host.h.RuleList(netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		if r.Priority == dataplane.PriorityToPod || r.Priority == dataplane.PriorityFromPod {
			t.Errorf("rule left behind: %s", ruleLine(r))
		}
	}
}

// ParentIndex of a veth whose peer is in another namespace is the peer's
// index there (Check relies on it to pair the pod's interface with the
// host veth).
func TestPrivilegedVethParentIndexIsPeer(t *testing.T) {
	requireRoot(t)
	host, pod := newHost(t), newNS(t)
	l := newLinux(t, host)
	p := podFor(pod, 1, 0)
	if _, err := l.Setup(p); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	hostLink, err := host.h.LinkByName(p.HostIfName)
	if err != nil {
		t.Fatal(err)
	}
	podLink, err := pod.h.LinkByName(p.IfName)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := podLink.Attrs().ParentIndex, hostLink.Attrs().Index; got != want {
		t.Errorf("pod interface's ParentIndex = %d, want the host veth's index %d", got, want)
	}
	if got, want := hostLink.Attrs().ParentIndex, podLink.Attrs().Index; got != want {
		t.Errorf("host veth's ParentIndex = %d, want the pod interface's index %d", got, want)
	}
}

func TestPrivilegedTeardownNothing(t *testing.T) {
	requireRoot(t)
	host := newHost(t)
	l := newLinux(t, host)
	if err := l.Teardown(dataplane.Teardown{}); err != nil {
		t.Errorf("empty Teardown: %v", err)
	}
}

// The runtime may run the DEL of a pod's old sandbox after the ADD of its
// new one: the host veth has the same name (it hashes the pod's name) and
// belongs to the new sandbox now. The old DEL removes only what is the old
// sandbox's.
func TestPrivilegedTeardownOfOldSandboxSparesNewOne(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name string
		td   func(old dataplane.Pod) dataplane.Teardown
		gone bool // remove the old namespace first
	}{
		{"old namespace still there", full, false},
		{"old namespace gone", full, true},
		{"only the host veth's name", func(old dataplane.Pod) dataplane.Teardown {
			return dataplane.Teardown{HostIfName: old.HostIfName}
		}, false},
		{"host veth's name and the old address", func(old dataplane.Pod) dataplane.Teardown {
			return dataplane.Teardown{HostIfName: old.HostIfName, IP: old.IP, RouteTable: old.RouteTable}
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, oldNS, newNS := newHost(t), newNS(t), newNS(t)
			l := newLinux(t, host)
			hostBefore := snapshot(t, host)
			old := podFor(oldNS, 1, 2)
			if _, err := l.Setup(old); err != nil {
				t.Fatalf("Setup of the old sandbox: %v", err)
			}
			cur := podFor(newNS, 2, 3)
			cur.HostIfName = old.HostIfName
			if _, err := l.Setup(cur); err != nil {
				t.Fatalf("Setup of the new sandbox: %v", err)
			}
			if tc.gone {
				oldNS.remove()
			}
			td := tc.td(old)
			if err := l.Teardown(td); err != nil {
				t.Fatalf("Teardown of the old sandbox: %v", err)
			}
			if err := l.Check(cur); err != nil {
				t.Errorf("the new sandbox after the old one's Teardown: %v", err)
			}
			want := hostWants(cur)
			if !td.IP.IsValid() { // nothing names the old rules
				want["rule"] = append(want["rule"], hostWants(old)["rule"]...)
			}
			wantChange(t, "host", host, hostBefore, want)
		})
	}
}
