package plugin_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"google.golang.org/grpc/codes"

	"github.com/vpc-cni/vpc-cni/cni/ipamc"
	"github.com/vpc-cni/vpc-cni/cni/ipamc/fake"
)

// TestPrivilegedLateDelSparesTheNewOwner: a pod's DEL repeated after its
// address went to another pod (the runtime retries with the cached
// prevResult) leaves the new owner's route and rules alone.
func TestPrivilegedLateDelSparesTheNewOwner(t *testing.T) {
	one := fake.Addresses("eni-1", 1, netip.MustParseAddr("198.18.2.10"), 1)
	e := newEnv(t, fake.Options{Addresses: one})
	podA, podB := newNS(t), newNS(t)
	rA := e.add("a", podA)
	if err := e.plugin.Del(args("a", podA, e.prev(rA))); err != nil {
		t.Fatal(err)
	}
	rB := e.add("b", podB)
	if rB.IPs[0].Address.String() != rA.IPs[0].Address.String() {
		t.Fatalf("b got %s, a had %s: the test needs the same address", rB.IPs[0].Address, rA.IPs[0].Address)
	}
	if err := e.plugin.Del(args("a", podA, e.prev(rA))); err != nil {
		t.Fatalf("repeated DEL of a: %v", err)
	}
	if err := e.plugin.Check(args("b", podB, e.prev(rB))); err != nil {
		t.Errorf("b, which holds the address now, after a's repeated DEL: %v", err)
	}
}

// TestPrivilegedDelWithoutAnyRecord: DEL with no prevResult, of an
// attachment ipamd no longer knows, still removes the pod's route and
// rules (the pod's interface tells its address).
func TestPrivilegedDelWithoutAnyRecord(t *testing.T) {
	e := newEnv(t, fake.Options{Addresses: fake.Addresses("eni-1", 1, netip.MustParseAddr("198.18.2.10"), 2)})
	pod := newNS(t)
	e.add("a", pod)
	cl, err := ipamc.Dial(e.ipamd.Socket())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if _, _, err := cl.Del(t.Context(), ipamc.Attachment{ContainerID: "a", IfName: "eth0"}); err != nil {
		t.Fatal(err)
	}
	if err := e.plugin.Del(args("a", pod, e.conf(nil))); err != nil {
		t.Fatalf("DEL: %v", err)
	}
	if s := e.hostState(); !s.empty() {
		t.Errorf("host after DEL = %+v, want nothing left", s)
	}
}

// TestPrivilegedRepeatedAdd: a second ADD of a live pod changes nothing:
// it fails before asking ipamd, and the pod keeps its wiring and address.
func TestPrivilegedRepeatedAdd(t *testing.T) {
	e := newEnv(t, fake.Options{})
	pod := newNS(t)
	r := e.add("a", pod)
	err := e.plugin.Add(args("a", pod, e.conf(nil)))
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("repeated ADD = %v, want an error saying eth0 exists", err)
	}
	if n := e.ipamd.Calls(fake.RPCAddNetwork); n != 1 {
		t.Errorf("AddNetwork calls = %d, want 1", n)
	}
	if n := e.ipamd.Calls(fake.RPCDelNetwork); n != 0 {
		t.Errorf("DelNetwork calls = %d: the live pod's address was released", n)
	}
	if err := e.plugin.Check(args("a", pod, e.prev(r))); err != nil {
		t.Errorf("the pod after a repeated ADD: %v", err)
	}
}

// TestPrivilegedDelIpamdFailing: an ipamd that answers but fails (its
// checkpoint cannot be written) fails the DEL, so that the runtime
// retries; the retry releases the address.
func TestPrivilegedDelIpamdFailing(t *testing.T) {
	e := newEnv(t, fake.Options{})
	pod := newNS(t)
	r := e.add("a", pod)
	e.ipamd.SetFault(fake.RPCDelNetwork, codes.Unavailable, "checkpoint write failed; nothing changed")
	err := e.plugin.Del(args("a", pod, e.prev(r)))
	if code(err) != types.ErrTryAgainLater || !strings.Contains(err.Error(), "checkpoint") {
		t.Errorf("DEL with ipamd failing = %v (code %d), want code 11 with ipamd's message", err, code(err))
	}
	if len(e.ipamd.Allocations()) != 1 {
		t.Fatalf("ipamd allocations = %v, want the address still held", e.ipamd.Allocations())
	}
	e.ipamd.ClearFaults()
	if err := e.plugin.Del(args("a", pod, e.prev(r))); err != nil {
		t.Fatalf("the retried DEL: %v", err)
	}
	if len(e.ipamd.Allocations()) != 0 {
		t.Errorf("ipamd still holds %v after the retried DEL", e.ipamd.Allocations())
	}
	if s := e.hostState(); !s.empty() {
		t.Errorf("host after DEL = %+v", s)
	}
}

// TestPrivilegedHostNetnsIsNoPod: the host's own namespace passed as a
// pod's is refused by ADD (code 8, nothing allocated) and DEL removes no
// host link by the pod's interface name.
func TestPrivilegedHostNetnsIsNoPod(t *testing.T) {
	e := newEnv(t, fake.Options{})
	err := e.plugin.Add(args("x", e.host, e.conf(nil)))
	if code(err) != types.ErrInvalidNetNS {
		t.Errorf("ADD into the host netns = %v (code %d), want code 8", err, code(err))
	}
	if n := e.ipamd.Calls(fake.RPCAddNetwork); n != 0 {
		t.Errorf("AddNetwork calls = %d, want none", n)
	}
	del := args("x", e.host, e.conf(nil))
	del.IfName = "node0"
	_ = e.plugin.Del(del)
	err = e.host.Do(func(ns.NetNS) error { _, err := netlink.LinkByName("node0"); return err })
	if err != nil {
		t.Errorf("DEL with the host netns removed the host's node0: %v", err)
	}
}

// TestPrivilegedSecondAttachment: a second interface of the same pod has a
// host veth of its own: both work, and each DEL removes only its own.
func TestPrivilegedSecondAttachment(t *testing.T) {
	e := newEnv(t, fake.Options{})
	pod := newNS(t)
	r0 := e.add("a", pod)
	a1 := args("a", pod, e.conf(nil))
	a1.IfName = "net1"
	p, out := e.pluginWithOutput()
	if err := p.Add(a1); err != nil {
		t.Fatalf("ADD net1: %v", err)
	}
	r1, err := parseResult(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.plugin.Check(args("a", pod, e.prev(r0))); err != nil {
		t.Errorf("eth0 after the ADD of net1: %v", err)
	}
	d1 := args("a", pod, e.prev(r1))
	d1.IfName = "net1"
	if err := e.plugin.Del(d1); err != nil {
		t.Fatalf("DEL net1: %v", err)
	}
	if err := e.plugin.Check(args("a", pod, e.prev(r0))); err != nil {
		t.Errorf("eth0 after the DEL of net1: %v", err)
	}
}

// TestPrivilegedDelToleratesConfigDrift: the conflist changed since ADD
// (an option this version does not know, a value it refuses): DEL still
// cleans up, with the defaults.
func TestPrivilegedDelToleratesConfigDrift(t *testing.T) {
	e := newEnv(t, fake.Options{})
	pod := newNS(t)
	r := e.add("a", pod)
	conf := e.prev(r)
	drifted := strings.Replace(string(conf), `"cniVersion"`, `"optionFromTheFuture":true,"ipamdTimeout":"10m","cniVersion"`, 1)
	if err := e.plugin.Del(args("a", pod, []byte(drifted))); err != nil {
		t.Fatalf("DEL with a drifted conflist: %v", err)
	}
	if s := e.hostState(); !s.empty() {
		t.Errorf("host after DEL = %+v", s)
	}
	if len(e.ipamd.Allocations()) != 0 {
		t.Errorf("ipamd still holds %v", e.ipamd.Allocations())
	}
	if err := e.plugin.Add(args("b", newNS(t), []byte(drifted))); code(err) != types.ErrUnsupportedField {
		t.Errorf("ADD with an unknown option = %v (code %d), want code 2", err, code(err))
	}
}
