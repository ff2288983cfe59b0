package dataplane_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
)

// threadNS is a path of n that is not n's own: its /proc entry seen from
// a thread inside it. f runs inside n with that path.
func threadNS(t *testing.T, n *testNS, f func(path string) error) {
	t.Helper()
	err := n.Do(func(ns.NetNS) error {
		return f(fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid()))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestPrivilegedCheckNetNS(t *testing.T) {
	requireRoot(t)
	host, pod := newHost(t), newNS(t)
	l := newLinux(t, host)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string // want "": usable
	}{
		{"a pod's namespace", pod.Path(), ""},
		{"the host's namespace", host.Path(), "is the host's own network namespace"},
		{"the caller's own namespace", "/proc/self/ns/net", "is the host's own network namespace"},
		{"missing", filepath.Join(t.TempDir(), "missing"), "does not exist"},
		{"empty", "", "does not exist"},
		{"a plain file", file, "is not a network namespace"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := l.CheckNetNS(tc.path)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("CheckNetNS(%q) = %v, want nil", tc.path, err)
			case tc.want != "" && (!errors.Is(err, dataplane.ErrNetNS) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("CheckNetNS(%q) = %v, want ErrNetNS saying %q", tc.path, err, tc.want)
			}
		})
	}
	// The host by another path: identity, not the path, decides.
	threadNS(t, host, func(path string) error {
		if err := l.CheckNetNS(path); !errors.Is(err, dataplane.ErrNetNS) {
			return fmt.Errorf("CheckNetNS(%s, the host by its /proc path) = %v, want ErrNetNS", path, err)
		}
		return nil
	})
}

// The host's own namespace as a pod's: Setup and Check refuse it before
// touching anything; Teardown deletes nothing in it by name.
func TestPrivilegedHostNetNSIsNoPod(t *testing.T) {
	requireRoot(t)
	host := newHost(t)
	l := newLinux(t, host)
	before := snapshot(t, host)
	p := podFor(host, 1, 3)
	if _, err := l.Setup(p); !errors.Is(err, dataplane.ErrNetNS) {
		t.Errorf("Setup in the host namespace = %v, want ErrNetNS", err)
	}
	wantChange(t, "host after Setup", host, before, state{})
	if err := l.Check(p); !errors.Is(err, dataplane.ErrNetNS) || errors.Is(err, dataplane.ErrMismatch) {
		t.Errorf("Check in the host namespace = %v, want ErrNetNS", err)
	}
	threadNS(t, host, func(path string) error {
		p := p
		p.NetNS = path
		if _, err := l.Setup(p); !errors.Is(err, dataplane.ErrNetNS) {
			return fmt.Errorf("Setup in the host namespace by its /proc path = %v, want ErrNetNS", err)
		}
		return nil
	})
	wantChange(t, "host after Setup by another path", host, before, state{})

	for _, ifName := range []string{"node0", "lo"} {
		td := dataplane.Teardown{NetNS: host.Path(), IfName: ifName}
		if err := l.Teardown(td); err != nil {
			t.Errorf("Teardown(%+v): %v", td, err)
		}
	}
	wantChange(t, "host after Teardown", host, before, state{})
}

func TestPrivilegedSetupMissingNetNS(t *testing.T) {
	requireRoot(t)
	host, pod := newHost(t), newNS(t)
	l := newLinux(t, host)
	p := podFor(pod, 1, 3)
	p.NetNS = filepath.Join(t.TempDir(), "missing")
	before := snapshot(t, host)
	if _, err := l.Setup(p); !errors.Is(err, dataplane.ErrNetNS) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("Setup in a missing namespace = %v, want ErrNetNS saying it does not exist", err)
	}
	wantChange(t, "host", host, before, state{})
}

func TestPrivilegedPodIfExists(t *testing.T) {
	requireRoot(t)
	host, pod := newHost(t), newNS(t)
	l := newLinux(t, host)
	p := podFor(pod, 1, 3)
	exists := func(netns, ifName string) bool {
		t.Helper()
		ok, err := l.PodIfExists(netns, ifName)
		if err != nil {
			t.Fatalf("PodIfExists(%s, %s): %v", netns, ifName, err)
		}
		return ok
	}
	if exists(p.NetNS, p.IfName) {
		t.Errorf("PodIfExists before Setup = true")
	}
	if _, err := l.Setup(p); err != nil {
		t.Fatalf("Setup: %v", err)
	}
	if !exists(p.NetNS, p.IfName) {
		t.Errorf("PodIfExists after Setup = false")
	}
	if exists(p.NetNS, "net1") {
		t.Errorf("PodIfExists of another name = true")
	}
	if !exists(p.NetNS, "lo") {
		t.Errorf("PodIfExists(lo) = false: any link counts, not only ours")
	}
	for _, tc := range []struct {
		netns, ifName string
		want          error
	}{
		{host.Path(), "node0", dataplane.ErrNetNS},
		{filepath.Join(t.TempDir(), "missing"), "eth0", dataplane.ErrNetNS},
		{p.NetNS, "", dataplane.ErrInvalid},
		{p.NetNS, "eth0/1", dataplane.ErrInvalid},
	} {
		if ok, err := l.PodIfExists(tc.netns, tc.ifName); ok || !errors.Is(err, tc.want) {
			t.Errorf("PodIfExists(%q, %q) = %v, %v; want false, %v", tc.netns, tc.ifName, ok, err, tc.want)
		}
	}
	if err := l.Teardown(full(p)); err != nil {
		t.Fatalf("Teardown: %v", err)
	}
	if exists(p.NetNS, p.IfName) {
		t.Errorf("PodIfExists after Teardown = true")
	}
}
