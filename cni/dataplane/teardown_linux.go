package dataplane

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// Teardown removes what Setup made for t. It is idempotent: a gone
// namespace, link, route or rule is not an error; a netlink failure is.
//
// The pod's interface goes first, and its host veth with it. A host veth
// named HostIfName that survives that belongs to another sandbox of the
// same pod (the name hashes the pod's name, and a runtime may run the old
// sandbox's DEL after the new one's ADD): it is deleted only when the /32
// route to t.IP proves it ours. With only IP (HostSideOnly) it removes the
// route to IP if that points at no live link, and the rules to and from IP
// at PriorityToPod and PriorityFromPod, whatever their table.
func (l *Linux) Teardown(t Teardown) error {
	if err := l.enter(); err != nil {
		return err
	}
	defer l.mu.RUnlock()
	var errs []error
	if t.NetNS != "" && t.IfName != "" {
		host, err := l.delPodLink(t.NetNS, t.IfName)
		if err != nil {
			errs = append(errs, fmt.Errorf("delete pod interface %s in %s: %w", t.IfName, t.NetNS, err))
		}
		if host { // nothing in it is the pod's: only the host side of IP
			t = HostSideOnly(t.IP, t.RouteTable)
		}
	}
	ip := t.IP.Unmap()
	if !ip.IsValid() {
		return errors.Join(errs...)
	}
	ours, err := l.delHostRoute(ip, t.HostIfName)
	if err != nil {
		errs = append(errs, fmt.Errorf("delete host route to %s: %w", ip, err))
	}
	if ours {
		if _, err := delLink(l.host, t.HostIfName); err != nil {
			errs = append(errs, fmt.Errorf("delete host veth %s: %w", t.HostIfName, err))
		}
	}
	if err := l.delRules(toRule(ip, 0)); err != nil {
		errs = append(errs, fmt.Errorf("delete rule to %s: %w", ip, err))
	}
	if err := l.delRules(fromRule(ip, 0)); err != nil {
		errs = append(errs, fmt.Errorf("delete rule from %s: %w", ip, err))
	}
	return errors.Join(errs...)
}

// delPodLink deletes the pod's interface if its namespace still exists;
// host reports a path that is the host's own namespace (nothing deleted).
func (l *Linux) delPodLink(path, ifName string) (host bool, err error) {
	podNS, err := l.openPod(path)
	switch {
	case nsHost(err):
		return true, nil
	case nsGone(err):
		return false, nil
	case err != nil:
		return false, err
	}
	defer podNS.Close()
	return false, podNS.Do(func(ns.NetNS) error {
		_, err := delLink(nil, ifName)
		return err
	})
}

// delHostRoute deletes the main table's routes to ip that point at
// hostIf or at a link that no longer exists; a route through any other
// live link belongs to another pod and stays. ours reports a route through
// hostIf: that veth is the pod's.
func (l *Linux) delHostRoute(ip netip.Addr, hostIf string) (ours bool, err error) {
	filter := &netlink.Route{Dst: hostNet(ip), Table: MainTable}
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return l.host.RouteListFiltered(family(ip), filter, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return false, err
	}
	for _, r := range routes {
		link, err := l.host.LinkByIndex(r.LinkIndex)
		switch {
		case isNotFound(err):
		case err != nil:
			return ours, err
		case hostIf == "" || link.Attrs().Name != hostIf:
			continue
		default:
			ours = true
		}
		if err := l.host.RouteDel(&r); err != nil && !isNotFound(err) {
			return ours, err
		}
	}
	return ours, nil
}
