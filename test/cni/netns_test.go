package cni_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"

	"github.com/vishvananda/netns"
	"github.com/vpc-cni/vpc-cni/internal/testns"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
)

// The host namespace's own address: a dummy link carries it, as a node's
// interface would.
const (
	hostDummy   = "node0"
	hostAddr    = "198.18.0.10"
	hostAddrLen = 24
	vethPrefix  = "eni"
	mainTable   = 254
	// waitFor bounds every wait; no test asserts on elapsed time.
	waitFor = 60 * time.Second
)

// testNS is a network namespace the test made, with a netlink handle
// bound to it for inspection.
type testNS struct {
	ns.NetNS
	h       *netlink.Handle
	removed bool
}

// newNS makes a network namespace (bind-mounted under /var/run/netns)
// with its loopback up; t.Cleanup removes it, even on failure.
func newNS(t *testing.T) *testNS {
	t.Helper()
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("new netns: %v", err)
	}
	tn := &testNS{NetNS: n}
	t.Cleanup(func() { tn.remove(t) })
	nsh, err := netns.GetFromPath(n.Path())
	if err != nil {
		t.Fatalf("open netns %s: %v", n.Path(), err)
	}
	defer nsh.Close()
	if tn.h, err = netlink.NewHandleAt(nsh); err != nil {
		t.Fatalf("netlink handle in %s: %v", n.Path(), err)
	}
	lo, err := tn.h.LinkByName("lo")
	if err != nil {
		t.Fatalf("lo in %s: %v", n.Path(), err)
	}
	if err := tn.h.LinkSetUp(lo); err != nil {
		t.Fatalf("lo up in %s: %v", n.Path(), err)
	}
	return tn
}

// remove removes the namespace (the kernel destroys it, and the links in
// it, once nothing holds it); a second call does nothing.
func (n *testNS) remove(t *testing.T) {
	t.Helper()
	if n.removed {
		return
	}
	n.removed = true
	if n.h != nil {
		n.h.Close()
	}
	if err := testns.Remove(n.NetNS); err != nil {
		t.Errorf("remove netns %s: %v", n.Path(), err)
	}
}

// newHost makes the namespace that plays the node: a dummy link with
// hostAddr/24.
func newHost(t *testing.T) *testNS {
	t.Helper()
	host := newNS(t)
	var d netlink.Link = &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: hostDummy}}
	err := host.h.LinkAdd(d)
	if errors.Is(err, syscall.EOPNOTSUPP) {
		// A kernel without the dummy driver: an empty bridge carries
		// the address as well (local delivery needs no carrier).
		d = &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: hostDummy}}
		err = host.h.LinkAdd(d)
	}
	if err != nil {
		t.Fatalf("add %s: %v", hostDummy, err)
	}
	addr, _ := netlink.ParseAddr(fmt.Sprintf("%s/%d", hostAddr, hostAddrLen))
	if err := host.h.AddrAdd(d, addr); err != nil {
		t.Fatalf("address %s: %v", addr, err)
	}
	if err := host.h.LinkSetUp(d); err != nil {
		t.Fatalf("%s up: %v", hostDummy, err)
	}
	return host
}

// do runs fn on an OS thread inside n: a process fn starts inherits n.
func (n *testNS) do(fn func() error) error {
	return n.Do(func(ns.NetNS) error { return fn() })
}

// linkNames are the namespace's links.
func (n *testNS) linkNames(t *testing.T) []string {
	t.Helper()
	links, err := n.h.LinkList()
	if err != nil {
		t.Fatalf("links of %s: %v", n.Path(), err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	slices.Sort(names)
	return names
}

// podRules are the rules at the plugin's priorities (512, 1536).
func (n *testNS) podRules(t *testing.T) []netlink.Rule {
	t.Helper()
	rules, err := n.h.RuleList(netlink.FAMILY_V4)
	if err != nil {
		t.Fatalf("rules of %s: %v", n.Path(), err)
	}
	var out []netlink.Rule
	for _, r := range rules {
		if r.Priority == dataplane.PriorityToPod || r.Priority == dataplane.PriorityFromPod {
			out = append(out, r)
		}
	}
	return out
}

// hostRoutes are the main table's /32 routes (a pod's host route).
func (n *testNS) hostRoutes(t *testing.T) []netlink.Route {
	t.Helper()
	routes, err := n.h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: mainTable}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatalf("routes of %s: %v", n.Path(), err)
	}
	var out []netlink.Route
	for _, r := range routes {
		if r.Dst != nil {
			if ones, _ := r.Dst.Mask.Size(); ones == 32 {
				out = append(out, r)
			}
		}
	}
	return out
}

// wantHostClean fails the test if the host holds anything of a pod: a
// veth with the prefix, a /32 route, a rule at 512 or 1536.
func wantHostClean(t *testing.T, host *testNS) {
	t.Helper()
	for _, name := range host.linkNames(t) {
		if strings.HasPrefix(name, vethPrefix) {
			t.Errorf("host link %s left behind", name)
		}
	}
	for _, r := range host.hostRoutes(t) {
		t.Errorf("host route %s left behind", r)
	}
	for _, r := range host.podRules(t) {
		t.Errorf("host rule %s left behind", r)
	}
}

// wantHostPodGone fails the test if the host holds a route or rule of ip
// or the link hostIf.
func wantHostPodGone(t *testing.T, host *testNS, hostIf string, ip netip.Addr) {
	t.Helper()
	if slices.Contains(host.linkNames(t), hostIf) {
		t.Errorf("host veth %s of %s left behind", hostIf, ip)
	}
	for _, r := range host.hostRoutes(t) {
		if ipOf(r.Dst) == ip {
			t.Errorf("host route %s left behind", r)
		}
	}
	for _, r := range rulesOf(t, host, ip) {
		t.Errorf("host rule %s left behind", r)
	}
}

// rulesOf are the host's rules at 512 or 1536 to or from ip.
func rulesOf(t *testing.T, host *testNS, ip netip.Addr) []netlink.Rule {
	t.Helper()
	var out []netlink.Rule
	for _, r := range host.podRules(t) {
		if ipOf(r.Dst) == ip || ipOf(r.Src) == ip {
			out = append(out, r)
		}
	}
	return out
}

// wantHostWired checks the host side of a pod: the veth up, the /32 route
// via it, rule 'to ip lookup main' at 512 and, for a table other than
// main, exactly one rule 'from ip lookup table' at 1536. It returns the
// veth's attributes.
func wantHostWired(t *testing.T, host *testNS, hostIf string, ip netip.Addr, table int) *netlink.LinkAttrs {
	t.Helper()
	link, err := host.h.LinkByName(hostIf)
	if err != nil {
		t.Fatalf("host veth %s: %v", hostIf, err)
	}
	if link.Type() != "veth" || link.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("host link %s: type %s flags %v, want an up veth", hostIf, link.Type(), link.Attrs().Flags)
	}
	var routes []netlink.Route
	for _, r := range host.hostRoutes(t) {
		if ipOf(r.Dst) == ip {
			routes = append(routes, r)
		}
	}
	if len(routes) != 1 || routes[0].LinkIndex != link.Attrs().Index || routes[0].Gw != nil ||
		routes[0].Scope != netlink.SCOPE_LINK {
		t.Errorf("host routes to %s = %v, want one %s/32 dev %s scope link", ip, routes, ip, hostIf)
	}
	var to, from []netlink.Rule
	for _, r := range host.podRules(t) {
		switch {
		case ipOf(r.Dst) == ip:
			to = append(to, r)
		case ipOf(r.Src) == ip:
			from = append(from, r)
		}
	}
	if len(to) != 1 || to[0].Priority != dataplane.PriorityToPod || to[0].Table != mainTable || to[0].Src != nil {
		t.Errorf("host rules to %s = %v, want one 'to %s lookup main' at %d", ip, to, ip, dataplane.PriorityToPod)
	}
	switch {
	case table == mainTable && len(from) != 0:
		t.Errorf("host rules from %s = %v, want none for an address of the primary ENI", ip, from)
	case table != mainTable && (len(from) != 1 || from[0].Priority != dataplane.PriorityFromPod ||
		from[0].Table != table || from[0].Dst != nil):
		t.Errorf("host rules from %s = %v, want one 'from %s lookup %d' at %d", ip, from, ip, table,
			dataplane.PriorityFromPod)
	}
	return link.Attrs()
}

// wantPodWired checks the pod side: ifName up with exactly ip/32 and the
// host veth's MTU, exactly the link route to 169.254.1.1 and the default
// route via it, and a permanent neighbour 169.254.1.1 at the host veth's
// MAC.
func wantPodWired(t *testing.T, pod *testNS, ifName string, ip netip.Addr, hostVeth *netlink.LinkAttrs) {
	t.Helper()
	link, err := pod.h.LinkByName(ifName)
	if err != nil {
		t.Fatalf("pod interface %s: %v", ifName, err)
	}
	if link.Type() != "veth" || link.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("pod link %s: type %s flags %v, want an up veth", ifName, link.Type(), link.Attrs().Flags)
	}
	if link.Attrs().MTU != hostVeth.MTU {
		t.Errorf("pod link %s MTU %d, the host veth's %d", ifName, link.Attrs().MTU, hostVeth.MTU)
	}
	hostMAC := hostVeth.HardwareAddr
	addrs, err := pod.h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		t.Fatalf("pod addresses: %v", err)
	}
	if len(addrs) != 1 || addrs[0].IPNet.String() != ip.String()+"/32" {
		t.Errorf("pod addresses on %s = %v, want %s/32", ifName, addrs, ip)
	}
	routes, err := pod.h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: mainTable}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatalf("pod routes: %v", err)
	}
	gw := net.ParseIP(dataplane.GatewayIP)
	var linkRoute, defRoute int
	for _, r := range routes {
		switch {
		case r.LinkIndex != link.Attrs().Index:
			t.Errorf("pod route %s not on %s", r, ifName)
		case r.Dst != nil && r.Dst.String() == dataplane.GatewayIP+"/32" && r.Gw == nil && r.Scope == netlink.SCOPE_LINK:
			linkRoute++
		case (r.Dst == nil || r.Dst.String() == "0.0.0.0/0") && gw.Equal(r.Gw):
			defRoute++
		default:
			t.Errorf("unexpected pod route %s", r)
		}
	}
	if linkRoute != 1 || defRoute != 1 {
		t.Errorf("pod routes = %v, want %s dev %s scope link and default via it", routes, dataplane.GatewayIP, ifName)
	}
	neighs, err := pod.h.NeighList(link.Attrs().Index, netlink.FAMILY_V4)
	if err != nil {
		t.Fatalf("pod neighbours: %v", err)
	}
	found := false
	for _, n := range neighs {
		if n.IP.Equal(gw) {
			found = n.State&netlink.NUD_PERMANENT != 0 && n.HardwareAddr.String() == hostMAC.String()
			if !found {
				t.Errorf("pod neighbour %s = %s state %#x, want permanent at %s", gw, n.HardwareAddr, n.State, hostMAC)
			}
		}
	}
	if !found {
		t.Errorf("pod neighbours = %v, want %s permanent at %s", neighs, gw, hostMAC)
	}
}

// delDefaultRoute removes the pod's default route by hand.
func delDefaultRoute(t *testing.T, pod *testNS, ifName string) {
	t.Helper()
	link, err := pod.h.LinkByName(ifName)
	if err != nil {
		t.Fatalf("pod interface %s: %v", ifName, err)
	}
	_, all, _ := net.ParseCIDR("0.0.0.0/0")
	r := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: all, Gw: net.ParseIP(dataplane.GatewayIP), Table: mainTable}
	if err := pod.h.RouteDel(r); err != nil {
		t.Fatalf("delete the pod's default route: %v", err)
	}
}

// wantReach sends UDP datagrams from the pod to hostAddr in the host
// namespace and waits for the echo, sent back to the pod's address.
func wantReach(t *testing.T, host, pod *testNS, podIP netip.Addr) {
	t.Helper()
	var srv *net.UDPConn
	err := host.do(func() (err error) {
		srv, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(hostAddr)})
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in the host: %v", hostAddr, err)
	}
	defer srv.Close()
	from := make(chan netip.Addr, 16)
	go echo(srv, from)
	var cl *net.UDPConn
	err = pod.do(func() (err error) {
		cl, err = net.DialUDP("udp4", nil, srv.LocalAddr().(*net.UDPAddr))
		return err
	})
	if err != nil {
		t.Fatalf("dial %s from the pod: %v", srv.LocalAddr(), err)
	}
	defer cl.Close()
	if err := exchange(cl); err != nil {
		t.Fatalf("pod %s -> host %s: %v", podIP, srv.LocalAddr(), err)
	}
	if src := <-from; src != podIP {
		t.Errorf("the host saw the pod's datagram from %s, want %s", src, podIP)
	}
}

// echo sends every datagram back and reports its source.
func echo(c *net.UDPConn, from chan<- netip.Addr) {
	buf := make([]byte, 512)
	for {
		n, addr, err := c.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		select {
		case from <- addr.Addr().Unmap():
		default:
		}
		_, _ = c.WriteToUDPAddrPort(buf[:n], addr)
	}
}

// exchange sends a datagram and waits for its echo, resending every
// second (the first may wait on neighbour resolution) up to waitFor.
func exchange(c *net.UDPConn) error {
	msg := []byte("vpc-cni")
	buf := make([]byte, 512)
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		if _, err := c.Write(msg); err != nil && !errors.Is(err, syscall.ECONNREFUSED) {
			return err
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(buf)
		if err == nil && string(buf[:n]) == string(msg) {
			return nil
		}
	}
	return fmt.Errorf("no echo within %s", waitFor)
}

// ipOf is the address of a /32, or the zero Addr.
func ipOf(n *net.IPNet) netip.Addr {
	if n == nil {
		return netip.Addr{}
	}
	if ones, bits := n.Mask.Size(); ones != 32 || bits != 32 {
		return netip.Addr{}
	}
	a, _ := netip.AddrFromSlice(n.IP.To4())
	return a
}
