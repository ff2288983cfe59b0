package hostnet

import (
	"context"
	"errors"
	"net"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func eni1() ENI {
	return ENI{MAC: "02:00:00:00:01:0A", DeviceIndex: 1, RouteTable: 2, // upper case: MACs match in any case
		PrimaryIP: addr("198.18.1.20"), SubnetCIDR: pfx("198.18.1.0/24"), MTU: 9001}
}

func eni2() ENI {
	return ENI{MAC: eni2MAC, DeviceIndex: 2, RouteTable: 3,
		PrimaryIP: addr("198.18.2.30"), SubnetCIDR: pfx("198.18.2.0/24"), MTU: 9001}
}

// checkENI asserts the state SetupENI leaves for e on link.
func checkENI(t *testing.T, nd *testNode, e ENI, link string) {
	t.Helper()
	l, err := nd.nl.LinkByName(link)
	if err != nil {
		t.Fatal(err)
	}
	a := l.Attrs()
	if a.MTU != e.MTU || a.Flags&net.FlagUp == 0 {
		t.Errorf("link %s: mtu %d up %v; want mtu %d, up", link, a.MTU, a.Flags&net.FlagUp != 0, e.MTU)
	}
	routes := nd.routesOf(t, e.RouteTable)
	if len(routes) != 2 {
		t.Fatalf("table %d has %d routes, want 2: %v", e.RouteTable, len(routes), routes)
	}
	want := eniRoutes(e, a.Index)
	for _, w := range want {
		found := 0
		for _, r := range routes {
			if sameRoute(r, w) {
				found++
			}
		}
		if found != 1 {
			t.Errorf("table %d: %d copies of %s via %s", e.RouteTable, found, prefixOf(w.Dst), addrOf(w.Gw))
		}
	}
	rules := nd.rulesAt(t, PriorityFromENI)
	n := 0
	for _, r := range rules {
		if sameRule(r, *eniRule(e)) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d copies of `from %s lookup %d` at %d, want 1: %v", n, e.PrimaryIP, e.RouteTable, PriorityFromENI, rules)
	}
	addrs, err := nd.nl.AddrList(l, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	if len(addrs) != 1 || addrOf(addrs[0].IP) != e.PrimaryIP {
		t.Errorf("link %s addresses %v, want only %s", link, addrs, e.PrimaryIP)
	}
	for _, r := range nd.routesOf(t, unix.RT_TABLE_MAIN) {
		if r.LinkIndex == a.Index {
			t.Errorf("main table has a route through the ENI link: %s", prefixOf(r.Dst))
		}
	}
}

func TestPrivilegedSetupENIIdempotent(t *testing.T) {
	nd := newTestNode(t)
	nd.dumpOnFailure(t)
	ctx := context.Background()
	nd.addLink(t, "eth0", primaryMAC, "198.18.0.10/24", true)
	nd.addLink(t, "eth1", eni1MAC, "", false)
	nd.addLink(t, "eth2", eni2MAC, "", false)
	if err := nd.host.SetupENI(ctx, eni1()); err != nil {
		t.Fatal(err)
	}
	if err := nd.host.SetupENI(ctx, eni2()); err != nil {
		t.Fatal(err)
	}
	checkENI(t, nd, eni1(), "eth1")
	checkENI(t, nd, eni2(), "eth2")
	first := nd.snapshot(t)
	for range 9 {
		for _, e := range []ENI{eni1(), eni2()} {
			if err := nd.host.SetupENI(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
	}
	if again := nd.snapshot(t); again != first {
		t.Fatalf("state after 10 runs differs from after one:\n--- one\n%s\n--- ten\n%s", first, again)
	}
}

func TestPrivilegedSetupENIReplacesStale(t *testing.T) {
	nd := newTestNode(t)
	nd.dumpOnFailure(t)
	ctx := context.Background()
	nd.addLink(t, "eth0", primaryMAC, "198.18.0.10/24", true)
	// The address as DHCP would add it: with the main table prefix route.
	link := nd.addLink(t, "eth1", eni1MAC, "198.18.1.20/24", true)
	e := eni1()
	stale := []netlink.Route{
		{LinkIndex: link.Attrs().Index, Dst: ipNet(pfx("198.18.99.0/24")), Scope: netlink.SCOPE_LINK, Table: e.RouteTable},
		{LinkIndex: link.Attrs().Index, Dst: ipNet(pfx("198.18.1.254/32")), Scope: netlink.SCOPE_LINK, Table: e.RouteTable},
		{LinkIndex: link.Attrs().Index, Dst: ipNet(pfx("0.0.0.0/0")), Gw: net.ParseIP("198.18.1.254"), Table: e.RouteTable},
	}
	for _, r := range stale {
		if err := nd.nl.RouteAdd(&r); err != nil {
			t.Fatalf("stale route %s: %v", prefixOf(r.Dst), err)
		}
	}
	old := eniRule(e)
	old.Table = 9 // the ENI's address pointed elsewhere before
	other := eniRule(ENI{PrimaryIP: addr("198.18.7.7"), RouteTable: e.RouteTable})
	for _, r := range []*netlink.Rule{old, other} {
		if err := nd.nl.RuleAdd(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := nd.host.SetupENI(ctx, e); err != nil {
		t.Fatal(err)
	}
	checkENI(t, nd, e, "eth1")
	if n := len(nd.rulesAt(t, PriorityFromENI)); n != 1 {
		t.Errorf("%d rules at %d, want only the ENI's", n, PriorityFromENI)
	}
}

func TestPrivilegedSetupENIErrors(t *testing.T) {
	nd := newTestNode(t)
	ctx := context.Background()
	err := nd.host.SetupENI(ctx, eni1())
	if !errors.Is(err, ErrLinkNotFound) {
		t.Fatalf("SetupENI without its link = %v, want ErrLinkNotFound", err)
	}
	bad := eni1()
	bad.RouteTable = unix.RT_TABLE_MAIN
	if err := nd.host.SetupENI(ctx, bad); !errors.Is(err, ErrInvalid) {
		t.Fatalf("SetupENI into main = %v, want ErrInvalid", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := nd.host.SetupENI(cctx, eni1()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled SetupENI = %v", err)
	}
}

func TestPrivilegedTeardownENI(t *testing.T) {
	nd := newTestNode(t)
	nd.dumpOnFailure(t)
	ctx := context.Background()
	nd.addLink(t, "eth0", primaryMAC, "198.18.0.10/24", true)
	nd.addLink(t, "eth1", eni1MAC, "", false)
	eth2 := nd.addLink(t, "eth2", eni2MAC, "", false)
	for _, e := range []ENI{eni1(), eni2()} {
		if err := nd.host.SetupENI(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	for range 2 { // a second teardown is fine
		if err := nd.host.TeardownENI(ctx, eni1()); err != nil {
			t.Fatal(err)
		}
	}
	if rs := nd.routesOf(t, eni1().RouteTable); len(rs) != 0 {
		t.Errorf("table %d still has %v", eni1().RouteTable, rs)
	}
	for _, r := range nd.rulesAt(t, PriorityFromENI) {
		if r.Table == eni1().RouteTable {
			t.Errorf("rule left: %s", r)
		}
	}
	l, _ := nd.nl.LinkByName("eth1")
	if addrs, _ := nd.nl.AddrList(l, netlink.FAMILY_V4); len(addrs) != 0 {
		t.Errorf("eth1 still has %v", addrs)
	}
	checkENI(t, nd, eni2(), "eth2") // the other ENI is untouched

	// A detached ENI: its link is gone, its rule is not.
	if err := nd.nl.LinkDel(eth2); err != nil {
		t.Fatal(err)
	}
	if err := nd.host.TeardownENI(ctx, eni2()); err != nil {
		t.Fatalf("TeardownENI without a link: %v", err)
	}
	if n := len(nd.rulesAt(t, PriorityFromENI)); n != 0 {
		t.Errorf("%d rules left at %d", n, PriorityFromENI)
	}
}

func TestPrivilegedLinkExists(t *testing.T) {
	nd := newTestNode(t)
	ctx := context.Background()
	nd.addLink(t, "eni0123456789a", "02:00:00:00:09:01", "", false)
	for _, tc := range []struct {
		name string
		want bool
	}{{"eni0123456789a", true}, {"eni0123456789b", false}, {"lo", true}, {"eni0123456789abcdef", false}} {
		got, err := nd.host.LinkExists(ctx, tc.name)
		if err != nil || got != tc.want {
			t.Errorf("LinkExists(%s) = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	if _, err := nd.host.LinkExists(ctx, ""); !errors.Is(err, ErrInvalid) {
		t.Errorf("LinkExists(\"\") = %v, want ErrInvalid", err)
	}
	// The host works in its namespace, not the test's.
	if got, err := nd.host.LinkExists(ctx, hostOnlyLink(t)); err != nil || got {
		t.Errorf("LinkExists sees the test process's links: %v, %v", got, err)
	}
}

// hostOnlyLink returns the name of a link of the test process's own
// namespace other than lo, or a name no namespace has.
func hostOnlyLink(t *testing.T) string {
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Name != "lo" {
			return i.Name
		}
	}
	return "no-such-link"
}
