package dataplane

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// ErrInvalid: a Pod that cannot be wired as given (a bad name, address or
// MTU). The plugin reports it as invalid network config (CNI code 7):
// nothing was made.
var ErrInvalid = errors.New("invalid pod network")

// MTU bounds: IPv4's minimum and the largest a veth accepts.
const (
	minMTU = 68
	maxMTU = 65535
)

// HostSideOnly is the Teardown that removes only the host side of ip: its
// rules at PriorityToPod and PriorityFromPod and a /32 route through a
// link that is gone; when a route to ip goes through a live link, the
// address is in use and nothing is removed. For a DEL while ipamd is
// unreachable and for GC, when the pod's namespace and veth are gone or
// unknown.
func HostSideOnly(ip netip.Addr, routeTable int) Teardown {
	return Teardown{IP: ip, RouteTable: routeTable}
}

// Secondary reports whether table is an ENI's own table, which gets the
// "from <pod> lookup <table>" rule (0 and MainTable do not).
func Secondary(table int) bool { return table != 0 && table != MainTable }

// Validate says what is wrong with p, wrapping ErrInvalid.
func (p Pod) Validate() error {
	if p.NetNS == "" {
		return fmt.Errorf("%w: the pod's network namespace path is empty", ErrInvalid)
	}
	if err := validIfName(p.IfName); err != nil {
		return fmt.Errorf("%w: pod interface name: %v", ErrInvalid, err)
	}
	if err := validIfName(p.HostIfName); err != nil {
		return fmt.Errorf("%w: host interface name: %v", ErrInvalid, err)
	}
	ip := p.IP.Unmap()
	if !ip.Is4() || ip.IsUnspecified() || ip.IsMulticast() || ip.IsLoopback() {
		return fmt.Errorf("%w: pod address %q is not a unicast IPv4 address", ErrInvalid, p.IP)
	}
	if p.MTU != 0 && (p.MTU < minMTU || p.MTU > maxMTU) {
		return fmt.Errorf("%w: MTU %d is outside %d..%d", ErrInvalid, p.MTU, minMTU, maxMTU)
	}
	if p.RouteTable < 0 || p.RouteTable > 1<<31-1 {
		return fmt.Errorf("%w: route table %d is not a table number", ErrInvalid, p.RouteTable)
	}
	return nil
}

// validIfName applies the kernel's rules for an interface name.
func validIfName(name string) error {
	switch {
	case name == "":
		return errors.New("empty")
	case len(name) > MaxIfNameLen:
		return fmt.Errorf("%q is longer than %d characters", name, MaxIfNameLen)
	case name == "." || name == "..":
		return fmt.Errorf("%q is not a name", name)
	case strings.ContainsAny(name, "/: \t\n\r\x00"):
		return fmt.Errorf("%q contains '/', ':' or white space", name)
	}
	return nil
}
