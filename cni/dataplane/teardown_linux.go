package dataplane

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// stepHostVeth is the fault seam's step between finding a surviving host
// veth and deleting it (the window in which its name may change hands).
const stepHostVeth = "teardown: delete host veth"

// Teardown removes what Setup made for t. It is idempotent: a gone
// namespace, link, route or rule is not an error; a netlink failure is.
//
//  1. The pod's interface, when its namespace still exists (and is not
//     the host's own): its /32 address is the one to tear down when t.IP
//     is not set, and deleting it deletes its host veth with it.
//  2. A host veth named HostIfName that survives (the pod's interface was
//     not found) is deleted only when the /32 route to the address goes
//     through it, and by that route's link index, never by its name again:
//     the name hashes the pod's name, so a newer sandbox of the same pod
//     may hold it.
//  3. When a route to the address then still goes through a live link, the
//     address is another pod's now (ipamd gave it out again) or still in
//     use: its route and rules stay. Otherwise its route (if any) and its
//     rules at PriorityToPod and PriorityFromPod, whatever their table, go.
func (l *Linux) Teardown(t Teardown) error {
	if err := l.enter(); err != nil {
		return err
	}
	defer l.mu.RUnlock()
	var errs []error
	pod, err := l.teardownPod(t.NetNS, t.IfName)
	if err != nil {
		errs = append(errs, fmt.Errorf("delete pod interface %s in %s: %w", t.IfName, t.NetNS, err))
	}
	ip := t.IP.Unmap()
	if !ip.IsValid() {
		ip = pod.ip
	}
	if !ip.IsValid() {
		return errors.Join(errs...)
	}
	if !pod.found && !pod.hostNS && t.HostIfName != "" {
		if err := l.delHostVeth(t.HostIfName, ip); err != nil {
			errs = append(errs, fmt.Errorf("delete host veth %s: %w", t.HostIfName, err))
		}
	}
	if err := l.delHostSide(ip); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// podLink is what Teardown found of the pod's interface.
type podLink struct {
	found  bool       // it existed, and was deleted with its peer
	hostNS bool       // the namespace is the host's own: nothing in it is the pod's
	ip     netip.Addr // its /32 IPv4 address, if it had one
}

// teardownPod deletes the pod's interface ifName in the namespace path
// if both are there, and says what it found.
func (l *Linux) teardownPod(path, ifName string) (podLink, error) {
	if path == "" || ifName == "" {
		return podLink{}, nil
	}
	podNS, err := l.openPod(path)
	switch {
	case nsHost(err):
		return podLink{hostNS: true}, nil
	case nsGone(err):
		return podLink{}, nil
	case err != nil:
		return podLink{}, err
	}
	defer podNS.Close()
	var pl podLink
	err = podNS.Do(func(ns.NetNS) error {
		var err error
		pl, err = delPodLink(ifName)
		return err
	})
	return pl, err
}

// delPodLink runs inside the pod's namespace: it reads the interface's
// /32 address and deletes it (a veth's peer goes with it).
func delPodLink(ifName string) (podLink, error) {
	h := &netlink.Handle{}
	link, err := h.LinkByName(ifName)
	if isNotFound(err) {
		return podLink{}, nil
	}
	if err != nil {
		return podLink{}, err
	}
	pl := podLink{found: true}
	addrs, err := retryDump(func() ([]netlink.Addr, error) { return h.AddrList(link, netlink.FAMILY_V4) })
	if err != nil {
		return pl, fmt.Errorf("list its addresses: %w", err)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if ones, bits := a.Mask.Size(); ok && ones == 32 && bits == 32 {
			pl.ip = ip.Unmap()
			break
		}
	}
	if err := h.LinkDel(link); err != nil && !isNotFound(err) {
		return pl, err
	}
	return pl, nil
}

// hostRoutes are the main table's routes to ip/32.
func (l *Linux) hostRoutes(ip netip.Addr) ([]netlink.Route, error) {
	filter := &netlink.Route{Dst: hostNet(ip), Table: MainTable}
	return retryDump(func() ([]netlink.Route, error) {
		return l.host.RouteListFiltered(family(ip), filter, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	})
}

// delHostVeth deletes the veth named name when a route to ip goes
// through it: the link found by the route's index is deleted, so a link
// that took the name in the meantime is never touched.
func (l *Linux) delHostVeth(name string, ip netip.Addr) error {
	routes, err := l.hostRoutes(ip)
	if err != nil {
		return fmt.Errorf("list host routes to %s: %w", ip, err)
	}
	for _, r := range routes {
		if r.LinkIndex == 0 {
			continue
		}
		link, err := l.host.LinkByIndex(r.LinkIndex)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return err
		}
		if link.Attrs().Name != name || link.Type() != "veth" {
			continue
		}
		if err := l.step(stepHostVeth); err != nil {
			return err
		}
		if err := l.host.LinkDel(link); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}

// delHostSide removes ip's /32 route and its rules, unless a route to ip
// goes through a live link (or no link: a blackhole someone set): then
// the address is in use, by this pod or by another that got it since,
// and its route and rules are that pod's.
func (l *Linux) delHostSide(ip netip.Addr) error {
	routes, err := l.hostRoutes(ip)
	if err != nil {
		return fmt.Errorf("list host routes to %s: %w", ip, err)
	}
	for _, r := range routes {
		if r.LinkIndex == 0 {
			return nil
		}
		_, err := l.host.LinkByIndex(r.LinkIndex)
		if err == nil {
			return nil
		}
		if !isNotFound(err) {
			return fmt.Errorf("find the link of the host route to %s: %w", ip, err)
		}
	}
	var errs []error
	for _, r := range routes { // through links that are gone
		if err := l.host.RouteDel(&r); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("delete host route to %s: %w", ip, err))
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
