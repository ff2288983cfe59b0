package e2e

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
)

// Prefix delegation on a Nitro type (m5.large): ipamd asks EC2 for /28
// prefixes instead of single addresses; every pod's address falls in a /28
// that ec2sim has delegated to an ENI of the pod's node, the fabric routes
// that /28 towards the ENI, and pods reach each other across nodes.
func TestPrivilegedPrefixDelegation(t *testing.T) {
	timed(t)
	l := startLab(t, 5, labSpec{nodes: 2, instanceType: "m5.large", pods: 2,
		ipamdEnv: map[string]string{"ENABLE_PREFIX_DELEGATION": "true"}})
	ctx := testCtx(t)
	pods := l.Pods()
	if len(pods) != 4 {
		t.Fatalf("the lab has %d pods, want 2 on each of 2 nodes", len(pods))
	}
	where := placeAll(ctx, t, l, pods)
	routes, err := fabricRoutes(l.prefix)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		pl, ok := where[p.IP]
		if !ok {
			continue // placeAll said why
		}
		if pl.block.Bits() != 28 {
			t.Errorf("%s's address %s is a single address (%s) of %s, want one of a delegated /28 (ENI prefixes %v)",
				p.Name, p.IP, pl.block, pl.eni.ID, pl.eni.Prefixes)
			continue
		}
		t.Logf("%s: %s in %s of %s (device %d)", p.Name, p.IP, pl.block, pl.eni.ID, pl.device)
		if via, ok := routes[pl.block]; !ok {
			t.Errorf("the fabric has no route for %s (%s's prefix); it has %v", pl.block, p.Name, routes)
		} else if want := netenv.FabricLink(p.Node, pl.device); via != want {
			t.Errorf("the fabric routes %s via %s, want %s (node %d's ENI device %d)", pl.block, via, want, p.Node, pl.device)
		}
	}
	runChecks(ctx, t, podToPod(pods))
}

// fabricRoutes are the fabric's routes in its main table: destination →
// link name.
func fabricRoutes(prefix string) (map[netip.Prefix]string, error) {
	h, err := netns.GetFromPath(netenv.NSPath(netenv.FabricNS(prefix)))
	if err != nil {
		return nil, fmt.Errorf("open the fabric's namespace: %w", err)
	}
	defer h.Close()
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		return nil, fmt.Errorf("netlink in the fabric: %w", err)
	}
	defer nl.Close()
	rs, err := nl.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("the fabric's routes: %w", err)
	}
	out := map[netip.Prefix]string{}
	for _, r := range rs {
		if r.Dst == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(r.Dst.IP.To4())
		ones, _ := r.Dst.Mask.Size()
		if !ok {
			continue
		}
		name := fmt.Sprint(r.LinkIndex)
		if link, err := nl.LinkByIndex(r.LinkIndex); err == nil {
			name = link.Attrs().Name
		}
		out[netip.PrefixFrom(ip, ones)] = name
	}
	return out, nil
}
