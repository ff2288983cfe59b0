package plugin_test

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"google.golang.org/grpc/codes"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
	"github.com/vpc-cni/vpc-cni/cni/ipamc/fake"
	"github.com/vpc-cni/vpc-cni/cni/plugin"
)

// code is the CNI error code of err, or 0.
func code(err error) uint {
	var e *types.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

// TestPrivilegedAddCheckDel: ADD gives the pod its address and a result
// that says so; CHECK passes; DEL removes everything, and again.
func TestPrivilegedAddCheckDel(t *testing.T) {
	e := newEnv(t, fake.Options{})
	pod := newNS(t)
	r := e.add("c1", pod)
	if len(r.IPs) != 1 || r.IPs[0].Interface == nil || *r.IPs[0].Interface != 1 {
		t.Fatalf("result IPs = %+v, want one address on interface 1", r.IPs)
	}
	if len(r.Interfaces) != 2 || r.Interfaces[1].Sandbox != pod.Path() || r.Interfaces[1].Name != "eth0" ||
		!strings.HasPrefix(r.Interfaces[0].Name, "eni") {
		t.Errorf("result interfaces = %+v, want the host veth and eth0 in %s", r.Interfaces, pod.Path())
	}
	ip, _ := netip.AddrFromSlice(r.IPs[0].Address.IP.To4())
	if got := e.ipamd.Allocations(); len(got) != 1 {
		t.Errorf("ipamd allocations after ADD = %v, want one", got)
	}
	if s := e.hostState(); len(s.veths) != 1 || len(s.routes) != 1 || len(s.rules) == 0 {
		t.Errorf("host after ADD = %+v", s)
	}
	if err := e.plugin.Check(args("c1", pod, e.prev(r))); err != nil {
		t.Errorf("CHECK after ADD: %v", err)
	}
	for i := range 2 {
		if err := e.plugin.Del(args("c1", pod, e.prev(r))); err != nil {
			t.Fatalf("DEL %d: %v", i+1, err)
		}
	}
	if s := e.hostState(); !s.empty() {
		t.Errorf("host after DEL = %+v, want nothing of pod %s", s, ip)
	}
	if got := e.ipamd.Allocations(); len(got) != 0 {
		t.Errorf("ipamd allocations after DEL = %v", got)
	}
}

// TestPrivilegedAddFailsHalfWay: ipamd gives an address, then the wiring
// fails (a host link that is not a veth has the pod's host veth name):
// nothing is left on the host or in the pod, and the address goes back to
// ipamd.
func TestPrivilegedAddFailsHalfWay(t *testing.T) {
	e := newEnv(t, fake.Options{})
	pod := newNS(t)
	name := dataplane.HostIfName("eni", "default", "pod-c1", "c1", "eth0")
	err := e.host.Do(func(ns.NetNS) error {
		return netlink.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}})
	})
	if err != nil {
		t.Fatal(err)
	}
	err = e.plugin.Add(args("c1", pod, e.conf(nil)))
	if err == nil {
		t.Fatal("ADD over a host link of the veth's name succeeded")
	}
	if code(err) != types.ErrInternal || !strings.Contains(err.Error(), "wire") || !strings.Contains(err.Error(), name) {
		t.Errorf("ADD error = %v (code %d), want an internal error naming the wiring and %s", err, code(err), name)
	}
	if s := e.hostState(); !s.empty() {
		t.Errorf("host after a failed ADD = %+v", s)
	}
	if got := e.ipamd.Allocations(); len(got) != 0 {
		t.Errorf("ipamd still holds %v after a failed ADD", got)
	}
	if n := e.ipamd.Calls(fake.RPCDelNetwork); n != 1 {
		t.Errorf("DelNetwork calls = %d, want 1 (the release)", n)
	}
	if links := podLinks(t, pod); len(links) != 1 {
		t.Errorf("pod links after a failed ADD = %v, want only lo", links)
	}
}

// podLinks names the links in a namespace.
func podLinks(t *testing.T, n ns.NetNS) []string {
	t.Helper()
	var names []string
	err := n.Do(func(ns.NetNS) error {
		links, err := netlink.LinkList()
		for _, l := range links {
			names = append(names, l.Attrs().Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// TestPrivilegedConcurrentAdds: 50 pods started at once get distinct
// addresses, and their DELs leave the host clean.
func TestPrivilegedConcurrentAdds(t *testing.T) {
	const n = 50
	addrs := append(fake.Addresses("eni-0", 0, netip.MustParseAddr("198.18.1.10"), n/2),
		fake.Addresses("eni-1", 1, netip.MustParseAddr("198.18.2.10"), n/2)...)
	e := newEnv(t, fake.Options{Addresses: addrs})
	pods := make([]ns.NetNS, n)
	for i := range pods {
		pods[i] = newNS(t)
	}
	results := make([]*current.Result, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			results[i], errs[i] = e.addQuiet(fmt.Sprintf("c%02d", i), pods[i])
		})
	}
	wg.Wait()
	seen := map[string]int{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("ADD %d: %v", i, errs[i])
		}
		ip := results[i].IPs[0].Address.IP.String()
		if j, ok := seen[ip]; ok {
			t.Fatalf("pods %d and %d share %s", j, i, ip)
		}
		seen[ip] = i
	}
	for i := range n {
		wg.Go(func() {
			errs[i] = e.plugin.Del(args(fmt.Sprintf("c%02d", i), pods[i], e.prev(results[i])))
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("DEL %d: %v", i, err)
		}
	}
	if s := e.hostState(); !s.empty() {
		t.Errorf("host after every DEL = %+v", s)
	}
}

// TestPrivilegedDelWithoutIpamd: with ipamd gone, DEL removes the host
// side of prevResult's address and succeeds.
func TestPrivilegedDelWithoutIpamd(t *testing.T) {
	e := newEnv(t, fake.Options{})
	pod := newNS(t)
	r := e.add("c1", pod)
	e.ipamd.Stop()
	if err := e.plugin.Del(args("c1", pod, e.prev(r))); err != nil {
		t.Fatalf("DEL without ipamd: %v", err)
	}
	if s := e.hostState(); !s.empty() {
		t.Errorf("host after DEL without ipamd = %+v", s)
	}
}

// TestPrivilegedIpamdErrors: ipamd's refusals become the spec's codes and
// allocate nothing.
func TestPrivilegedIpamdErrors(t *testing.T) {
	tests := []struct {
		code codes.Code
		want uint
	}{
		{codes.ResourceExhausted, types.ErrTryAgainLater},
		{codes.FailedPrecondition, plugin.CodeNoAddress},
		{codes.Unavailable, types.ErrTryAgainLater},
	}
	for _, tt := range tests {
		t.Run(tt.code.String(), func(t *testing.T) {
			e := newEnv(t, fake.Options{})
			e.ipamd.SetFault(fake.RPCAddNetwork, tt.code, "subnet subnet-1 has no free addresses")
			err := e.plugin.Add(args("c1", newNS(t), e.conf(nil)))
			if code(err) != tt.want || !strings.Contains(err.Error(), "subnet-1") {
				t.Errorf("ADD = %v (code %d), want code %d with ipamd's cause", err, code(err), tt.want)
			}
			if s := e.hostState(); !s.empty() {
				t.Errorf("host after a refused ADD = %+v", s)
			}
		})
	}
}

// TestPrivilegedStatus: STATUS follows ipamd's readiness, code 50 with its
// reason otherwise.
func TestPrivilegedStatus(t *testing.T) {
	e := newEnv(t, fake.Options{Addresses: fake.Addresses("eni-0", 0, netip.MustParseAddr("198.18.1.10"), 1)})
	if err := e.plugin.Status(args("", nil, e.conf(nil))); err != nil {
		t.Errorf("STATUS with a ready ipamd: %v", err)
	}
	e.add("c1", newNS(t))
	e.ipamd.SetBlocked("ENI limit of m5.large reached", true)
	if err := e.plugin.Status(args("", nil, e.conf(nil))); code(err) != plugin.CodeNotAvailable ||
		!strings.Contains(err.Error(), "ENI limit") {
		t.Errorf("STATUS not ready = %v, want code 50 with the reason", err)
	}
	e.ipamd.Stop()
	if err := e.plugin.Status(args("", nil, e.conf(nil))); code(err) != plugin.CodeNotAvailable {
		t.Errorf("STATUS without ipamd = %v, want code 50", err)
	}
}

// addQuiet runs ADD with its own output buffer (safe in parallel).
func (e *env) addQuiet(id string, pod ns.NetNS) (*current.Result, error) {
	p, out := e.pluginWithOutput()
	if err := p.Add(args(id, pod, e.conf(nil))); err != nil {
		return nil, err
	}
	return parseResult(out.Bytes())
}

// TestPrivilegedGC: GC releases, at ipamd, every attachment the runtime
// no longer holds, and removes its host veth, route and rules, even while
// its sandbox lingers; the pod still held keeps everything.
func TestPrivilegedGC(t *testing.T) {
	e := newEnv(t, fake.Options{})
	kept, gone := newNS(t), newNS(t)
	rKept := e.add("kept", kept)
	e.add("gone", gone)
	valid := []map[string]string{{"containerID": "kept", "ifname": "eth0"}}
	if err := e.plugin.GC(args("", nil, e.conf(map[string]any{"cni.dev/valid-attachments": valid}))); err != nil {
		t.Fatalf("GC: %v", err)
	}
	held := e.ipamd.Allocations()
	if len(held) != 1 || held[0].ContainerID != "kept" {
		t.Errorf("ipamd holds %+v after GC, want only the kept pod", held)
	}
	s := e.hostState()
	if len(s.veths) != 1 || len(s.routes) != 1 || s.routes[0] != rKept.IPs[0].Address.String() {
		t.Errorf("host after GC = %+v, want only the kept pod's veth and route", s)
	}
	if err := e.plugin.Check(args("kept", kept, e.prev(rKept))); err != nil {
		t.Errorf("CHECK of the kept pod after GC: %v", err)
	}
	if err := e.plugin.GC(args("", nil, e.conf(nil))); code(err) != types.ErrInvalidNetworkConfig {
		t.Errorf("GC without valid attachments = %v, want code 7", err)
	}
	if len(e.ipamd.Allocations()) != 1 {
		t.Errorf("a GC without valid attachments released something")
	}
}
