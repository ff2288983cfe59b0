package dataplane_test

import (
	"os"
	"path/filepath"
	"testing"

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
		{"only the names", func(t *testing.T, host, pod *testNS, p dataplane.Pod) dataplane.Teardown {
			return dataplane.Teardown{NetNS: p.NetNS, IfName: p.IfName, HostIfName: p.HostIfName}
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
			want := state{}
			if !td.IP.IsValid() { // without the address its rules stay
				want["rule"] = hostWants(p)["rule"]
			}
			wantChange(t, "host", host, hostBefore, want)
			if pod.h != nil { // not removed
				wantChange(t, "pod", pod, podBefore, state{})
			}
			if err := l.Teardown(td); err != nil {
				t.Errorf("second Teardown: %v", err)
			}
		})
	}
}

// A Teardown with only the address never removes another pod's live
// route to it; its rules go.
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
		want := hostWants(p)
		delete(want, "rule")
		wantChange(t, "host", host, hostBefore, want)
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
