package dataplane

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// mismatch is Check's error: what differs, in the user's words.
func mismatch(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrMismatch, fmt.Sprintf(format, a...))
}

// Check verifies what Setup made for p: the pod side (interface up, /32
// address, link route and default route via the gateway, the permanent
// neighbour with the host veth's current MAC) and the host side (the veth,
// the /32 route through it, the rule to the pod and, for a secondary
// table only, the rule from it). The error wraps ErrMismatch and names the
// first difference (a namespace that is gone is one); a path that cannot
// be a pod's namespace (the host's own) is refused with ErrNetNS; other
// errors are failures to look.
func (l *Linux) Check(p Pod) error {
	if err := p.Validate(); err != nil {
		return err
	}
	p.IP = p.IP.Unmap()
	if err := l.enter(); err != nil {
		return err
	}
	defer l.mu.RUnlock()
	podNS, err := l.openPod(p.NetNS)
	if nsGone(err) {
		return mismatch("pod network namespace %s is gone", p.NetNS)
	}
	if err != nil {
		return err
	}
	defer podNS.Close()
	host, err := l.host.LinkByName(p.HostIfName)
	if isNotFound(err) {
		host, err = nil, nil
	}
	if err != nil {
		return fmt.Errorf("find host veth %s: %w", p.HostIfName, err)
	}
	if err := podNS.Do(func(ns.NetNS) error { return checkPod(p, host) }); err != nil {
		return err
	}
	return l.checkHost(p, host)
}

// checkPod runs inside the pod namespace; host is the host veth or nil.
func checkPod(p Pod, host netlink.Link) error {
	h := &netlink.Handle{}
	link, err := h.LinkByName(p.IfName)
	if isNotFound(err) {
		return mismatch("pod interface %s is missing", p.IfName)
	}
	if err != nil {
		return fmt.Errorf("find pod interface %s: %w", p.IfName, err)
	}
	a := link.Attrs()
	switch {
	case a.Flags&net.FlagUp == 0:
		return mismatch("pod interface %s is down", p.IfName)
	case p.MTU != 0 && a.MTU != p.MTU:
		return mismatch("pod interface %s has MTU %d, want %d", p.IfName, a.MTU, p.MTU)
	}
	if err := checkPodAddr(h, link, p); err != nil {
		return err
	}
	if err := checkPodRoutes(h, link, p); err != nil {
		return err
	}
	if host == nil {
		return mismatch("host veth %s is missing", p.HostIfName)
	}
	if link.Type() != "veth" || a.ParentIndex != host.Attrs().Index {
		return mismatch("pod interface %s is not the peer of host veth %s", p.IfName, p.HostIfName)
	}
	return checkPodNeigh(h, link, p, host.Attrs().HardwareAddr)
}

func checkPodAddr(h *netlink.Handle, link netlink.Link, p Pod) error {
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return h.AddrList(link, netlink.FAMILY_V4) })
	if err != nil {
		return fmt.Errorf("list pod addresses: %w", err)
	}
	want := netip.PrefixFrom(p.IP, 32)
	for _, a := range addrs {
		if sameNet(a.IPNet, want) {
			return nil
		}
	}
	return mismatch("pod address %s on %s is missing", want, p.IfName)
}

func checkPodRoutes(h *netlink.Handle, link netlink.Link, p Pod) error {
	routes, err := retryDump(func() ([]netlink.Route, error) { return h.RouteList(link, netlink.FAMILY_V4) })
	if err != nil {
		return fmt.Errorf("list pod routes: %w", err)
	}
	var linkRoute, defRoute bool
	gw := netip.PrefixFrom(gateway, 32)
	for _, r := range routes {
		switch {
		case sameNet(r.Dst, gw) && r.Gw == nil && r.Scope == netlink.SCOPE_LINK:
			linkRoute = true
		case sameNet(r.Dst, netip.PrefixFrom(netip.IPv4Unspecified(), 0)) && r.Gw.Equal(gateway.AsSlice()):
			defRoute = true
		}
	}
	switch {
	case !linkRoute:
		return mismatch("pod route %s dev %s scope link is missing", GatewayIP, p.IfName)
	case !defRoute:
		return mismatch("pod route default via %s dev %s is missing", GatewayIP, p.IfName)
	}
	return nil
}

func checkPodNeigh(h *netlink.Handle, link netlink.Link, p Pod, mac net.HardwareAddr) error {
	neighs, err := retryDump(func() ([]netlink.Neigh, error) {
		return h.NeighList(link.Attrs().Index, netlink.FAMILY_V4)
	})
	if err != nil {
		return fmt.Errorf("list pod neighbours: %w", err)
	}
	for _, n := range neighs {
		if !n.IP.Equal(gateway.AsSlice()) {
			continue
		}
		switch {
		case n.State&netlink.NUD_PERMANENT == 0:
			return mismatch("pod neighbour %s dev %s is not permanent", GatewayIP, p.IfName)
		case !bytes.Equal(n.HardwareAddr, mac):
			return mismatch("pod neighbour %s dev %s has lladdr %s, want the host veth's %s", GatewayIP, p.IfName, n.HardwareAddr, mac)
		}
		return nil
	}
	return mismatch("pod neighbour %s dev %s (permanent, lladdr %s) is missing", GatewayIP, p.IfName, mac)
}

// checkHost verifies the host veth, the route to the pod and its rules.
func (l *Linux) checkHost(p Pod, host netlink.Link) error {
	if host == nil {
		return mismatch("host veth %s is missing", p.HostIfName)
	}
	if host.Attrs().Flags&net.FlagUp == 0 {
		return mismatch("host veth %s is down", p.HostIfName)
	}
	filter := &netlink.Route{Dst: hostNet(p.IP), Table: MainTable}
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return l.host.RouteListFiltered(netlink.FAMILY_V4, filter, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return fmt.Errorf("list host routes: %w", err)
	}
	found := false
	for _, r := range routes {
		found = found || (r.LinkIndex == host.Attrs().Index && r.Gw == nil)
	}
	if !found {
		return mismatch("host route %s/32 dev %s is missing", p.IP, p.HostIfName)
	}
	return l.checkRules(p)
}

func (l *Linux) checkRules(p Pod) error {
	rules, err := retryDump(func() ([]netlink.Rule, error) { return l.host.RuleList(netlink.FAMILY_V4) })
	if err != nil {
		return fmt.Errorf("list host rules: %w", err)
	}
	pod := netip.PrefixFrom(p.IP, 32)
	var to bool
	from := map[int]bool{}
	for _, r := range rules {
		switch {
		case r.Priority == PriorityToPod && sameNet(r.Dst, pod) && r.Src == nil && r.Table == MainTable:
			to = true
		case r.Priority == PriorityFromPod && sameNet(r.Src, pod) && r.Dst == nil:
			from[r.Table] = true
		}
	}
	if !to {
		return mismatch("host rule 'to %s lookup main' at priority %d is missing", pod, PriorityToPod)
	}
	if !Secondary(p.RouteTable) {
		for table := range from {
			return mismatch("host rule 'from %s lookup %d' at priority %d should not exist: the address is on the primary ENI (main table)", pod, table, PriorityFromPod)
		}
		return nil
	}
	if !from[p.RouteTable] {
		return mismatch("host rule 'from %s lookup %d' at priority %d is missing", pod, p.RouteTable, PriorityFromPod)
	}
	for table := range from {
		if table != p.RouteTable {
			return mismatch("host rule 'from %s lookup %d' at priority %d should not exist: the address's table is %d", pod, table, PriorityFromPod, p.RouteTable)
		}
	}
	return nil
}
