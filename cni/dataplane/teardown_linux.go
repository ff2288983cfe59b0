package dataplane

import (
	"errors"
	"fmt"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// Teardown removes what Setup made for t. It is idempotent: a gone
// namespace, link, route or rule is not an error; a netlink failure is.
// With only IP (HostSideOnly) it removes the host route to IP if it points
// at no live link, and the rules to and from IP.
func (l *Linux) Teardown(t Teardown) error {
	if err := l.enter(); err != nil {
		return err
	}
	defer l.mu.RUnlock()
	var errs []error
	if t.NetNS != "" && t.IfName != "" {
		if err := delPodLink(t.NetNS, t.IfName); err != nil {
			errs = append(errs, fmt.Errorf("delete pod interface %s in %s: %w", t.IfName, t.NetNS, err))
		}
	}
	if t.HostIfName != "" {
		if _, err := delLink(l.host, t.HostIfName); err != nil {
			errs = append(errs, fmt.Errorf("delete host veth %s: %w", t.HostIfName, err))
		}
	}
	if ip := t.IP.Unmap(); ip.IsValid() {
		if err := l.delHostRoute(t); err != nil {
			errs = append(errs, fmt.Errorf("delete host route to %s: %w", ip, err))
		}
		if err := l.delRules(toRule(ip, 0)); err != nil {
			errs = append(errs, fmt.Errorf("delete rule to %s: %w", ip, err))
		}
		if err := l.delRules(fromRule(ip, 0)); err != nil {
			errs = append(errs, fmt.Errorf("delete rule from %s: %w", ip, err))
		}
	}
	return errors.Join(errs...)
}

// delPodLink deletes the pod's interface if its namespace still exists.
func delPodLink(path, ifName string) error {
	podNS, gone, err := openPodNS(path)
	if gone {
		return nil
	}
	if err != nil {
		return err
	}
	defer podNS.Close()
	return podNS.Do(func(ns.NetNS) error {
		_, err := delLink(nil, ifName)
		return err
	})
}

// delHostRoute deletes the main table's routes to t.IP that point at
// t.HostIfName or at a link that no longer exists; a route through any
// other live link belongs to another pod and stays.
func (l *Linux) delHostRoute(t Teardown) error {
	ip := t.IP.Unmap()
	filter := &netlink.Route{Dst: hostNet(ip), Table: MainTable}
	routes, err := retryDump(func() ([]netlink.Route, error) {
		return l.host.RouteListFiltered(family(ip), filter, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return err
	}
	for _, r := range routes {
		link, err := l.host.LinkByIndex(r.LinkIndex)
		switch {
		case isNotFound(err):
		case err != nil:
			return err
		case t.HostIfName == "" || link.Attrs().Name != t.HostIfName:
			continue
		}
		if err := l.host.RouteDel(&r); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}
