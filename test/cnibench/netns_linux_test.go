package cnibench

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"

	"github.com/vpc-cni/vpc-cni/internal/testns"
	"golang.org/x/sys/unix"
)

// The host namespace's interface: carries the node's address, standing
// in for the primary ENI.
const (
	hostLink = "dummy0"
	hostAddr = nodePrimaryIP + "/24"
)

// newNetNS creates a named network namespace (bind-mounted, so that the
// plugins' processes can open it by path) that is removed when the test
// ends, whatever happens to it: its links, and their veth peers, go with
// it.
func newNetNS(tb testing.TB) ns.NetNS {
	tb.Helper()
	n, err := testutils.NewNS()
	if err != nil {
		tb.Fatalf("create netns: %v", err)
	}
	tb.Cleanup(func() {
		if err := testns.Remove(n); err != nil {
			tb.Errorf("remove netns: %v", err)
		}
	})
	return n
}

// newNetNSes creates n namespaces.
func newNetNSes(tb testing.TB, n int) []ns.NetNS {
	tb.Helper()
	out := make([]ns.NetNS, n)
	for i := range out {
		out[i] = newNetNS(tb)
	}
	return out
}

// newHostNS creates the benchmark's "host" namespace: loopback up and a
// dummy with the node's address. The plugins run in it; the machine's own
// namespace is never touched.
func newHostNS(tb testing.TB) ns.NetNS {
	tb.Helper()
	host := newNetNS(tb)
	err := host.Do(func(ns.NetNS) error {
		if err := setUp("lo"); err != nil {
			return err
		}
		d, err := addNodeLink()
		if err != nil {
			return err
		}
		addr, err := netlink.ParseAddr(hostAddr)
		if err != nil {
			return err
		}
		if err := netlink.AddrAdd(d, addr); err != nil {
			return fmt.Errorf("address %s: %w", hostAddr, err)
		}
		return netlink.LinkSetUp(d)
	})
	if err != nil {
		tb.Fatalf("host netns: %v", err)
	}
	return host
}

// addNodeLink adds the node's link: a dummy, or where the kernel has no
// dummy links (as on the machines we run on), a veth whose peer stays in
// the namespace, up, with no address.
func addNodeLink() (netlink.Link, error) {
	attrs := netlink.LinkAttrs{Name: hostLink, MTU: podMTU}
	err := netlink.LinkAdd(&netlink.Dummy{LinkAttrs: attrs})
	if errors.Is(err, unix.EOPNOTSUPP) {
		err = netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: hostLink + "p"})
		if err == nil {
			err = setUp(hostLink + "p")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("add %s: %w", hostLink, err)
	}
	return netlink.LinkByName(hostLink)
}

func setUp(name string) error {
	l, err := netlink.LinkByName(name)
	if err == nil {
		err = netlink.LinkSetUp(l)
	}
	if err != nil {
		return fmt.Errorf("%s up: %w", name, err)
	}
	return nil
}

// netState is what a namespace holds that a plugin could leave behind:
// its links, IPv4 addresses, IPv4 routes of every table and IPv4 rules,
// one line each, sorted. (IPv6 is left out: its link-local addresses come
// and go on their own, and neither plugin configures IPv6.)
func netState(n ns.NetNS) ([]string, error) {
	var out []string
	err := n.Do(func(ns.NetNS) error {
		links, err := netlink.LinkList()
		if err != nil {
			return fmt.Errorf("links: %w", err)
		}
		for _, l := range links {
			out = append(out, fmt.Sprintf("link %s %s", l.Attrs().Name, l.Type()))
		}
		addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
		if err != nil {
			return fmt.Errorf("addresses: %w", err)
		}
		for _, a := range addrs {
			out = append(out, fmt.Sprintf("addr %s dev %d", a.IPNet, a.LinkIndex))
		}
		routes, err := netlink.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
		if err != nil {
			return fmt.Errorf("routes: %w", err)
		}
		for _, r := range routes {
			out = append(out, fmt.Sprintf("route %s table %d dev %d via %s scope %d", r.Dst, r.Table, r.LinkIndex, r.Gw, r.Scope))
		}
		rules, err := netlink.RuleList(netlink.FAMILY_V4)
		if err != nil {
			return fmt.Errorf("rules: %w", err)
		}
		for _, r := range rules {
			out = append(out, fmt.Sprintf("rule %d from %s to %s table %d", r.Priority, r.Src, r.Dst, r.Table))
		}
		return nil
	})
	slices.Sort(out)
	return out, err
}

// diffState names what after has that before had not, and the reverse.
func diffState(before, after []string) (added, removed []string) {
	for _, s := range after {
		if !slices.Contains(before, s) {
			added = append(added, s)
		}
	}
	for _, s := range before {
		if !slices.Contains(after, s) {
			removed = append(removed, s)
		}
	}
	return added, removed
}

// podHasAddr reports whether the pod namespace's ifname carries ip.
func podHasAddr(pod ns.NetNS, ifname string, ip net.IP) (bool, error) {
	found := false
	err := pod.Do(func(ns.NetNS) error {
		l, err := netlink.LinkByName(ifname)
		if err != nil {
			return fmt.Errorf("pod interface %s: %w", ifname, err)
		}
		addrs, err := netlink.AddrList(l, netlink.FAMILY_V4)
		if err != nil {
			return fmt.Errorf("pod addresses: %w", err)
		}
		for _, a := range addrs {
			found = found || a.IP.Equal(ip)
		}
		return nil
	})
	return found, err
}
