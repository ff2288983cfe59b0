package dataplane_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
)

func TestPrivilegedSetupWires(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name  string
		table int
	}{
		{"main table", 0},
		{"main table by number", dataplane.MainTable},
		{"secondary table", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			host, pod := newHost(t), newNS(t)
			l := newLinux(t, host)
			p := podFor(pod, 1, tc.table)
			hostBefore, podBefore := snapshot(t, host), snapshot(t, pod)

			w, err := l.Setup(p)
			if err != nil {
				t.Fatalf("Setup: %v", err)
			}
			hostLink, err := host.h.LinkByName(p.HostIfName)
			if err != nil {
				t.Fatalf("host veth: %v", err)
			}
			podLink, err := pod.h.LinkByName(p.IfName)
			if err != nil {
				t.Fatalf("pod interface: %v", err)
			}
			want := dataplane.Wired{
				HostIfName: p.HostIfName, HostMAC: hostLink.Attrs().HardwareAddr.String(),
				PodIfName: p.IfName, PodMAC: podLink.Attrs().HardwareAddr.String(),
				PodIndex: podLink.Attrs().Index,
			}
			if w != want {
				t.Errorf("Wired = %+v, want %+v", w, want)
			}
			wantChange(t, "host", host, hostBefore, hostWants(p))
			wantChange(t, "pod", pod, podBefore, podWants(p, w.HostMAC))
			if err := l.Check(p); err != nil {
				t.Errorf("Check after Setup: %v", err)
			}
			talk(t, pod, host, nodeIP) // the pod reaches the node
			talk(t, host, pod, p.IP)   // the node reaches the pod

			// Setup again (a new sandbox of the same pod in the same
			// namespace): the stale veth is replaced, nothing fails on
			// "exists", and the result is the same set.
			w2, err := l.Setup(p)
			if err != nil {
				t.Fatalf("second Setup: %v", err)
			}
			wantChange(t, "host after a second Setup", host, hostBefore, hostWants(p))
			wantChange(t, "pod after a second Setup", pod, podBefore, podWants(p, w2.HostMAC))
			talk(t, pod, host, nodeIP)
		})
	}
}

// A new sandbox of the same pod (a new namespace) while the old one's
// veth is still there: the stale veth is deleted first.
func TestPrivilegedSetupReplacesStaleVeth(t *testing.T) {
	requireRoot(t)
	host, old, pod := newHost(t), newNS(t), newNS(t)
	l := newLinux(t, host)
	hostBefore := snapshot(t, host)
	if _, err := l.Setup(podFor(old, 1, 2)); err != nil {
		t.Fatalf("Setup of the old sandbox: %v", err)
	}
	p := podFor(pod, 1, 2)
	if _, err := l.Setup(p); err != nil {
		t.Fatalf("Setup of the new sandbox: %v", err)
	}
	wantChange(t, "host", host, hostBefore, hostWants(p))
	if _, err := old.h.LinkByName("eth0"); err == nil {
		t.Errorf("the old sandbox still has eth0")
	}
	if err := l.Check(p); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// Setup fails without touching what it did not make: a pod interface
// that already exists, a host interface of that name that is no veth.
func TestPrivilegedSetupRefusesForeignLinks(t *testing.T) {
	requireRoot(t)
	host, pod := newHost(t), newNS(t)
	l := newLinux(t, host)
	p := podFor(pod, 1, 2)

	addForeign(t, pod, p.IfName)
	hostBefore, podBefore := snapshot(t, host), snapshot(t, pod)
	if _, err := l.Setup(p); err == nil || !strings.Contains(err.Error(), "create veth") {
		t.Errorf("Setup with eth0 present = %v, want a create veth error", err)
	}
	wantChange(t, "host", host, hostBefore, state{})
	wantChange(t, "pod", pod, podBefore, state{})

	pod2 := newNS(t)
	p2 := podFor(pod2, 2, 2)
	addForeign(t, host, p2.HostIfName)
	hostBefore = snapshot(t, host)
	if _, err := l.Setup(p2); err == nil || !strings.Contains(err.Error(), "not a veth") {
		t.Errorf("Setup with a host dummy of the veth's name = %v, want 'not a veth'", err)
	}
	wantChange(t, "host", host, hostBefore, state{})
}

func TestPrivilegedSetupRollsBackEachStep(t *testing.T) {
	requireRoot(t)
	host := newHost(t)
	l := newLinux(t, host)
	for i, step := range dataplane.SetupSteps {
		t.Run(step, func(t *testing.T) {
			pod := newNS(t)
			p := podFor(pod, 10+i, 4)
			hostBefore, podBefore := snapshot(t, host), snapshot(t, pod)
			injected := errors.New("injected")
			l.SetFault(func(s string) error {
				if s == step {
					return injected
				}
				return nil
			})
			defer l.SetFault(nil)

			_, err := l.Setup(p)
			if !errors.Is(err, injected) || !strings.HasPrefix(err.Error(), step+": ") {
				t.Fatalf("Setup failing at %q = %v, want the injected error after %q", step, err, step+": ")
			}
			wantChange(t, "host", host, hostBefore, state{})
			wantChange(t, "pod", pod, podBefore, state{})
		})
	}
}

func TestPrivilegedSetupConcurrent(t *testing.T) {
	requireRoot(t)
	const pods = 50
	host := newHost(t)
	l := newLinux(t, host)
	hostBefore := snapshot(t, host)
	ps := make([]dataplane.Pod, pods)
	for i := range ps {
		ps[i] = podFor(newNS(t), 100+i, []int{0, 2, 3}[i%3])
	}

	errs := make([]error, pods)
	var wg sync.WaitGroup
	for i, p := range ps {
		wg.Go(func() { _, errs[i] = l.Setup(p) })
	}
	wg.Wait()
	want := state{}
	seen := map[string]bool{}
	for i, p := range ps {
		if errs[i] != nil {
			t.Errorf("Setup of pod %d: %v", i, errs[i])
		}
		if seen[p.IP.String()] || seen[p.HostIfName] {
			t.Fatalf("pod %d shares its address or veth name", i)
		}
		seen[p.IP.String()], seen[p.HostIfName] = true, true
		for k, v := range hostWants(p) {
			want[k] = append(want[k], v...)
		}
	}
	wantChange(t, "host after the Setups", host, hostBefore, want)
	for i, p := range ps {
		if err := l.Check(p); err != nil {
			t.Errorf("Check of pod %d: %v", i, err)
		}
	}

	for i, p := range ps {
		wg.Go(func() {
			errs[i] = l.Teardown(dataplane.Teardown{
				NetNS: p.NetNS, IfName: p.IfName, HostIfName: p.HostIfName, IP: p.IP, RouteTable: p.RouteTable,
			})
		})
	}
	wg.Wait()
	for i := range ps {
		if errs[i] != nil {
			t.Errorf("Teardown of pod %d: %v", i, errs[i])
		}
	}
	wantChange(t, "host after the Teardowns", host, hostBefore, state{})
}

func TestPrivilegedClosed(t *testing.T) {
	requireRoot(t)
	host, pod := newHost(t), newNS(t)
	l := newLinux(t, host)
	if err := l.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	p := podFor(pod, 1, 0)
	if _, err := l.Setup(p); !errors.Is(err, dataplane.ErrClosed) {
		t.Errorf("Setup after Close = %v, want ErrClosed", err)
	}
	if err := l.Teardown(dataplane.Teardown{IP: p.IP}); !errors.Is(err, dataplane.ErrClosed) {
		t.Errorf("Teardown after Close = %v, want ErrClosed", err)
	}
}

// The caller's own namespace is the host when Options.HostNS is empty.
func TestPrivilegedCurrentNamespaceIsHost(t *testing.T) {
	requireRoot(t)
	host, pod := newHost(t), newNS(t)
	p := podFor(pod, 1, 0)
	err := host.Do(func(ns.NetNS) error {
		l, err := dataplane.New(dataplane.Options{})
		if err != nil {
			return err
		}
		defer l.Close()
		if _, err := l.Setup(p); err != nil {
			return err
		}
		return l.Check(p)
	})
	if err != nil {
		t.Fatalf("Setup from inside the host namespace: %v", err)
	}
	if _, err := host.h.LinkByName(p.HostIfName); err != nil {
		t.Errorf("host veth %s is not in the host namespace: %v", p.HostIfName, err)
	}
}

// When the undo of a failed Setup fails too, the error says so with
// ErrIncomplete (the plugin then keeps the address for the DEL), and a
// Teardown of the pod removes what was left.
func TestPrivilegedSetupIncompleteUndo(t *testing.T) {
	requireRoot(t)
	host := newHost(t)
	l := newLinux(t, host)
	const failing = "add rule from pod" // the last step: every undo step runs
	for i, undo := range append([]string{""}, dataplane.UndoSteps...) {
		t.Run("undo fails at "+undo, func(t *testing.T) {
			pod := newNS(t)
			p := podFor(pod, 10+i, 4)
			hostBefore, podBefore := snapshot(t, host), snapshot(t, pod)
			injected, undoErr := errors.New("injected"), errors.New("injected into the undo")
			l.SetFault(func(s string) error {
				switch s {
				case failing:
					return injected
				case undo:
					return undoErr
				}
				return nil
			})
			defer l.SetFault(nil)

			_, err := l.Setup(p)
			if !errors.Is(err, injected) {
				t.Fatalf("Setup = %v, want the injected error", err)
			}
			if undo == "" {
				if errors.Is(err, dataplane.ErrIncomplete) {
					t.Errorf("Setup with a clean undo = %v, want no ErrIncomplete", err)
				}
				wantChange(t, "host", host, hostBefore, state{})
				return
			}
			if !errors.Is(err, dataplane.ErrIncomplete) || !errors.Is(err, undoErr) {
				t.Errorf("Setup with a failed undo = %v, want ErrIncomplete and the undo's error", err)
			}
			// (A route left by the undo goes with the veth it deletes next.)
			if added, _ := diff(hostBefore, snapshot(t, host)); len(added) == 0 && undo != "undo: delete host route" {
				t.Errorf("the failed undo left nothing on the host: the fault seam did not fail it")
			}
			l.SetFault(nil)
			if err := l.Teardown(full(p)); err != nil {
				t.Fatalf("Teardown after the incomplete Setup: %v", err)
			}
			wantChange(t, "host after Teardown", host, hostBefore, state{})
			wantChange(t, "pod after Teardown", pod, podBefore, state{})
		})
	}
}

// A pod's second attachment (net1) gets a veth of its own: its Setup does
// not take the first one's for a stale veth of the pod.
func TestPrivilegedSetupSecondAttachment(t *testing.T) {
	requireRoot(t)
	host, pod := newHost(t), newNS(t)
	l := newLinux(t, host)
	hostBefore := snapshot(t, host)
	eth0, net1 := podFor(pod, 1, 2), podFor(pod, 2, 3)
	net1.IfName = "net1"
	eth0.HostIfName = dataplane.HostIfName("eni", "default", "web-0", "c1", eth0.IfName)
	net1.HostIfName = dataplane.HostIfName("eni", "default", "web-0", "c1", net1.IfName)
	for _, p := range []dataplane.Pod{eth0, net1} {
		if _, err := l.Setup(p); err != nil {
			t.Fatalf("Setup of %s: %v", p.IfName, err)
		}
	}
	for _, p := range []dataplane.Pod{eth0, net1} {
		if err := l.Check(p); err != nil {
			t.Errorf("Check of %s after both Setups: %v", p.IfName, err)
		}
	}
	want := hostWants(eth0)
	for k, v := range hostWants(net1) {
		want[k] = append(want[k], v...)
	}
	wantChange(t, "host", host, hostBefore, want)
	talk(t, pod, host, nodeIP)

	if err := l.Teardown(full(net1)); err != nil {
		t.Fatalf("Teardown of net1: %v", err)
	}
	if err := l.Check(eth0); err != nil {
		t.Errorf("Check of eth0 after net1's Teardown: %v", err)
	}
	wantChange(t, "host after net1's Teardown", host, hostBefore, hostWants(eth0))
	talk(t, pod, host, nodeIP)
}
