package netenv

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// ProcSys is the root of the sysctl tree. Sysctls under net/ are the
// namespace's of the thread that opens them, so they are written inside
// ns.Do.
var ProcSys = "/proc/sys"

// sysctl is one setting: a path under ProcSys and its value. optional
// settings (IPv6 ones: the kernel may have no IPv6) may be absent.
type sysctl struct {
	key, val string
	optional bool
}

// setSysctls writes settings inside the named namespace.
func setSysctls(nsName string, settings ...sysctl) error {
	return ns.WithNetNSPath(NSPath(nsName), func(ns.NetNS) error {
		for _, s := range settings {
			p := filepath.Join(ProcSys, s.key)
			err := os.WriteFile(p, []byte(s.val), 0o644)
			if s.optional && errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				return fmt.Errorf("sysctl %s=%s in %s: %w", strings.ReplaceAll(s.key, "/", "."), s.val, nsName, err)
			}
		}
		return nil
	})
}

// nsHandle is a netlink handle opened in a named namespace, with the
// namespace's descriptor (to move links into it).
type nsHandle struct {
	name string
	fd   netns.NsHandle
	*netlink.Handle
}

// openNS opens a netlink handle in the named namespace. A missing namespace
// wraps os.ErrNotExist.
func openNS(name string) (*nsHandle, error) {
	fd, err := netns.GetFromPath(NSPath(name))
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", name, err)
	}
	h, err := netlink.NewHandleAt(fd)
	if err != nil {
		_ = fd.Close()
		return nil, fmt.Errorf("netlink in %s: %w", name, err)
	}
	return &nsHandle{name: name, fd: fd, Handle: h}, nil
}

// Close releases the handle and the descriptor; nil is fine.
func (n *nsHandle) Close() {
	if n == nil {
		return
	}
	n.Handle.Close()
	_ = n.fd.Close()
}

// retries is how often a netlink dump interrupted by a concurrent change is
// tried again.
const retries = 5

// dump retries a netlink dump interrupted by a concurrent change.
func dump[T any](f func() ([]T, error)) ([]T, error) {
	var out []T
	var err error
	for range retries {
		out, err = f()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return out, err
		}
	}
	return out, err
}

// linkUp sets a link up by name.
func (n *nsHandle) linkUp(name string) error {
	l, err := n.LinkByName(name)
	if err != nil {
		return fmt.Errorf("%s in %s: %w", name, n.name, err)
	}
	if err := n.LinkSetUp(l); err != nil {
		return fmt.Errorf("set %s up in %s: %w", name, n.name, err)
	}
	return nil
}

// addAddr puts p on the named link; already there is fine.
func (n *nsHandle) addAddr(link string, p netip.Prefix) error {
	l, err := n.LinkByName(link)
	if err != nil {
		return fmt.Errorf("%s in %s: %w", link, n.name, err)
	}
	if err := n.AddrReplace(l, &netlink.Addr{IPNet: ipNet(p)}); err != nil {
		return fmt.Errorf("address %s on %s in %s: %w", p, link, n.name, err)
	}
	return nil
}

// defaultVia replaces the main table's default route with one via gw on
// the named link.
func (n *nsHandle) defaultVia(link string, gw netip.Addr) error {
	l, err := n.LinkByName(link)
	if err != nil {
		return fmt.Errorf("%s in %s: %w", link, n.name, err)
	}
	r := &netlink.Route{LinkIndex: l.Attrs().Index, Dst: ipNet(netip.PrefixFrom(netip.IPv4Unspecified(), 0)),
		Gw: gw.AsSlice()}
	if err := n.RouteReplace(r); err != nil {
		return fmt.Errorf("default via %s dev %s in %s: %w", gw, link, n.name, err)
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// prefixOf converts a netlink address or destination; nil is the default
// route's 0.0.0.0/0.
func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0), true
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	bits, _ := n.Mask.Size()
	return netip.PrefixFrom(a.Unmap(), bits), true
}

func addrOf(ip net.IP) netip.Addr {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}
	}
	return a.Unmap()
}
