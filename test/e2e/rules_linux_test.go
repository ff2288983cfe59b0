package e2e

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
	"github.com/vpc-cni/vpc-cni/test/lab"
	"github.com/vpc-cni/vpc-cni/test/lab/echo"
)

// The three rules of the Kubernetes network model on two nodes with two
// pods each: pods reach pods on their node and across nodes and the
// receiver sees the sender's own pod address (no NAT); nodes reach pods
// and pods reach nodes, each seeing the other's own address; a pod sees
// itself at the address others reach it by (the address on its interface,
// the "me" its own server answers with, and the "me" others reached).
func TestPrivilegedKubernetesNetworkModel(t *testing.T) {
	timed(t)
	l := startLab(t, 1, labSpec{nodes: 2, pods: 2})
	ctx := testCtx(t)
	pods := l.Pods()
	if len(pods) != 4 {
		t.Fatalf("the lab has %d pods, want 2 on each of 2 nodes", len(pods))
	}
	placeAll(ctx, t, l, pods)

	for _, p := range pods {
		addrs, err := podAddrs(p)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(addrs, []netip.Addr{p.IP}) {
			t.Errorf("%s has addresses %v on its interfaces, want only its pod address %s", p.Name, addrs, p.IP)
		}
	}

	var cs []echo.Check
	cs = append(cs, podToPod(pods)...)
	cs = append(cs, nodePod(l.Nodes(), pods)...)
	cs = append(cs, selfChecks(pods)...)
	runChecks(ctx, t, cs)
}

// A pod whose address is on a secondary ENI (device index ≥ 1) reaches
// pods on the other node, and they reach it, with no NAT. Its traffic must
// leave by its own ENI: the fabric, like EC2's source/destination check,
// drops a packet whose source the ENI it came from does not own. Its
// traffic to the internet is SNATed to the node's primary address, so
// that traffic must leave by the primary ENI instead.
//
// t3.medium has 3 ENIs of 6 addresses (5 for pods each): pods are added to
// node 1 until one gets an address of a secondary ENI.
func TestPrivilegedSecondaryENIPod(t *testing.T) {
	timed(t)
	l := startLab(t, 2, labSpec{nodes: 2, instanceType: "t3.medium", pods: 1})
	ctx := testCtx(t)

	onSecondary, where := podOnSecondaryENI(ctx, t, l, 1)
	// ipamd agrees: the address is assigned to this pod on that ENI.
	var enis introspect.ENIsView
	if err := l.Introspect(ctx, 1, introspect.PathENIs, &enis); err != nil {
		t.Fatalf("introspection of node 1: %v", err)
	}
	if dev, ok := ipamdDevice(enis, onSecondary.IP); !ok || dev != where.device {
		t.Errorf("ipamd of node 1 has %s on device %d (found: %v), ec2sim on device %d",
			onSecondary.IP, dev, ok, where.device)
	}

	others := podsOf(l.Pods(), 2)
	if len(others) == 0 {
		t.Fatal("node 2 has no pod")
	}
	node2, err := l.Node(2)
	if err != nil {
		t.Fatal(err)
	}
	var cs []echo.Check
	for _, o := range others {
		cs = append(cs, check("secondary-ENI pod→pod across nodes", podEnd(onSecondary), podEnd(o), onSecondary.IP)...)
		cs = append(cs, check("pod→secondary-ENI pod across nodes", podEnd(o), podEnd(onSecondary), o.IP)...)
	}
	cs = append(cs, check("secondary-ENI pod→node across nodes", podEnd(onSecondary), nodeEnd(node2), onSecondary.IP)...)
	cs = append(cs, check("node→secondary-ENI pod across nodes", nodeEnd(node2), podEnd(onSecondary), node2.PrimaryIP)...)
	// Leaving the VPC, its traffic is SNATed to the node's primary address
	// and must then leave by the primary ENI, which owns that address.
	node1, err := l.Node(1)
	if err != nil {
		t.Fatal(err)
	}
	cs = append(cs, check("secondary-ENI pod→internet, SNAT to the node", podEnd(onSecondary), internetEnd(l.prefix), node1.PrimaryIP)...)
	runChecks(ctx, t, cs)
}

// podOnSecondaryENI adds pods to the node until one gets an address of a
// secondary ENI (device index ≥ 1), as ec2sim has it.
func podOnSecondaryENI(ctx context.Context, t *testing.T, l *testLab, node int) (*lab.Pod, placement) {
	t.Helper()
	const maxTries = 12 // more than the primary ENI of a t3.medium holds (5)
	for range maxTries {
		p, err := l.AddPod(ctx, node)
		if err != nil {
			t.Fatalf("add a pod to node %d: %v", node, err)
		}
		pl := placeAll(ctx, t, l, []*lab.Pod{p})
		if t.Failed() {
			t.FailNow()
		}
		if pl[p.IP].device >= 1 {
			t.Logf("%s has %s on %s, device index %d", p.Name, p.IP, pl[p.IP].eni.ID, pl[p.IP].device)
			return p, pl[p.IP]
		}
	}
	t.Fatalf("no pod of node %d got an address on a secondary ENI after %d pods", node, maxTries)
	return nil, placement{}
}

// ipamdDevice is the device index of the ENI on which ipamd's
// introspection has ip assigned.
func ipamdDevice(v introspect.ENIsView, ip netip.Addr) (int, bool) {
	for _, e := range v.ENIs {
		for _, b := range e.Blocks {
			for _, a := range b.Addresses {
				if a.IP == ip && a.State == introspect.StateAssigned {
					return e.DeviceIndex, true
				}
			}
		}
	}
	return 0, false
}
