package hostnet

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Options configure a Linux Host.
type Options struct {
	// NetNS is the path of the network namespace to program (a lab node, a
	// test); empty means the caller's own. Netlink and nftables sockets are
	// opened in it, so no thread switches namespace for them.
	NetNS string
	// ConnMark is the mark bit(s) SNAT uses (see DefaultConnMark, the
	// default when 0).
	ConnMark uint32
	// ProcSys is the root of the sysctl tree, default /proc/sys.
	ProcSys string
}

// Linux is the Host of a Linux node: it programs the network with netlink
// and nftables. Its methods are safe for concurrent use (they run one at a
// time).
type Linux struct {
	mu      sync.Mutex
	nl      *netlink.Handle
	nftOpts []nftables.ConnOption // a fresh Conn per operation: a failed batch leaves nothing queued
	netns   ns.NetNS              // nil: the caller's own
	mark    uint32
	procSys string
}

var _ Host = (*Linux)(nil)

// New opens the netlink and nftables connections of the namespace o names.
// Close releases them.
func New(o Options) (*Linux, error) {
	h := &Linux{mark: o.ConnMark, procSys: o.ProcSys}
	if h.mark == 0 {
		h.mark = DefaultConnMark
	}
	if h.procSys == "" {
		h.procSys = "/proc/sys"
	}
	if o.NetNS == "" {
		var err error
		if h.nl, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
			return nil, fmt.Errorf("open netlink: %w", err)
		}
		return h, nil
	}
	target, err := ns.GetNS(o.NetNS)
	if err != nil {
		return nil, fmt.Errorf("open netns %s: %w", o.NetNS, err)
	}
	h.netns = target
	fd := int(target.Fd())
	if h.nl, err = netlink.NewHandleAt(netns.NsHandle(fd), unix.NETLINK_ROUTE); err != nil {
		_ = target.Close()
		return nil, fmt.Errorf("open netlink in %s: %w", o.NetNS, err)
	}
	h.nftOpts = []nftables.ConnOption{nftables.WithNetNSFd(fd)}
	return h, nil
}

// Close releases the host's connections.
func (h *Linux) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.nl != nil {
		h.nl.Close()
		h.nl = nil
	}
	if h.netns != nil {
		err := h.netns.Close()
		h.netns = nil
		return err
	}
	return nil
}

// begin locks the host for one operation, or reports why it cannot run.
func (h *Linux) begin(ctx context.Context) (unlock func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	if h.nl == nil {
		h.mu.Unlock()
		return nil, errors.New("hostnet: host is closed")
	}
	return h.mu.Unlock, nil
}

// SetupENI programs e's link, table and rule (see Host).
func (h *Linux) SetupENI(ctx context.Context, e ENI) error {
	if err := ValidateENI(e); err != nil {
		return err
	}
	unlock, err := h.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	link, err := h.linkByMAC(e.MAC)
	if err != nil {
		return err
	}
	if err := h.setLink(link, e); err != nil {
		return err
	}
	if err := h.ensureAddr(link, e); err != nil {
		return err
	}
	if err := reconcileRoutes(h.nl, e.RouteTable, eniRoutes(e, link.Attrs().Index)); err != nil {
		return fmt.Errorf("route table %d of eni link %s: %w", e.RouteTable, e.MAC, err)
	}
	if err := reconcileRules(h.nl, eniRule(e), ownsENIRule(e)); err != nil {
		return fmt.Errorf("source rule of eni %s: %w", e.MAC, err)
	}
	return nil
}

// setLink sets the link's MTU (unless e.MTU is 0) and brings it up.
func (h *Linux) setLink(link netlink.Link, e ENI) error {
	a := link.Attrs()
	if e.MTU != 0 && a.MTU != e.MTU {
		if err := h.nl.LinkSetMTU(link, e.MTU); err != nil {
			return fmt.Errorf("set MTU %d on eni link %s (%s): %w", e.MTU, e.MAC, a.Name, err)
		}
	}
	if a.Flags&net.FlagUp == 0 {
		if err := h.nl.LinkSetUp(link); err != nil {
			return fmt.Errorf("bring up eni link %s (%s): %w", e.MAC, a.Name, err)
		}
	}
	return nil
}

// ensureAddr gives the link the ENI's primary address (as the AWS VPC CNI
// does; a link that already has it, with any prefix length, is left
// alone), without the prefix route the kernel would add to the main
// table: the subnet is reached through the ENI's own table, and a main
// table route would send the node's traffic to the subnet out of a
// secondary ENI. A prefix route left by whoever added the address is
// removed too.
func (h *Linux) ensureAddr(link netlink.Link, e ENI) error {
	addrs, err := dump("addresses", func() ([]netlink.Addr, error) { return h.nl.AddrList(link, netlink.FAMILY_V4) })
	if err != nil {
		return fmt.Errorf("eni link %s: %w", e.MAC, err)
	}
	have := false
	for _, a := range addrs {
		if addrOf(a.IP) == e.PrimaryIP {
			have = true
		}
	}
	if !have {
		a := &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(e.PrimaryIP, e.SubnetCIDR.Bits())), Flags: unix.IFA_F_NOPREFIXROUTE}
		if err := h.nl.AddrAdd(link, a); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add address %s to eni link %s: %w", a.IPNet, e.MAC, err)
		}
	}
	return h.removePrefixRoute(link, e)
}

// removePrefixRoute deletes the main table's route to e's subnet through
// its link with e's primary address as source.
func (h *Linux) removePrefixRoute(link netlink.Link, e ENI) error {
	filter := &netlink.Route{Table: unix.RT_TABLE_MAIN, LinkIndex: link.Attrs().Index}
	routes, err := dump("main table routes", func() ([]netlink.Route, error) {
		return h.nl.RouteListFiltered(netlink.FAMILY_V4, filter, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_OIF)
	})
	if err != nil {
		return fmt.Errorf("eni link %s: %w", e.MAC, err)
	}
	for _, r := range routes {
		if prefixOf(r.Dst) != e.SubnetCIDR.Masked() || addrOf(r.Src) != e.PrimaryIP {
			continue
		}
		if err := h.nl.RouteDel(&r); err != nil && !isNotExist(err) {
			return fmt.Errorf("delete main table route %s of eni link %s: %w", e.SubnetCIDR, e.MAC, err)
		}
	}
	return nil
}

// TeardownENI removes e's table, rule and address (see Host).
func (h *Linux) TeardownENI(ctx context.Context, e ENI) error {
	if err := ValidateENI(e); err != nil {
		return err
	}
	unlock, err := h.begin(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := reconcileRoutes(h.nl, e.RouteTable, nil); err != nil {
		return fmt.Errorf("route table %d of eni %s: %w", e.RouteTable, e.MAC, err)
	}
	if err := removeRules(h.nl, PriorityFromENI, ownsENIRule(e)); err != nil {
		return fmt.Errorf("source rule of eni %s: %w", e.MAC, err)
	}
	link, err := h.linkByMAC(e.MAC)
	if errors.Is(err, ErrLinkNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	a := &netlink.Addr{IPNet: ipNet(netip.PrefixFrom(e.PrimaryIP, e.SubnetCIDR.Bits()))}
	if err := h.nl.AddrDel(link, a); err != nil && !isNotExist(err) && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("delete address %s from eni link %s: %w", a.IPNet, e.MAC, err)
	}
	return nil
}

// LinkExists reports whether a link of that name exists; a name too long
// for a link names none.
func (h *Linux) LinkExists(ctx context.Context, name string) (bool, error) {
	if name == "" {
		return false, fmt.Errorf("empty link name: %w", ErrInvalid)
	}
	if len(name) >= ifNameSize {
		return false, nil
	}
	unlock, err := h.begin(ctx)
	if err != nil {
		return false, err
	}
	defer unlock()
	if _, err := h.nl.LinkByName(name); err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return false, nil
		}
		return false, fmt.Errorf("look up link %s: %w", name, err)
	}
	return true, nil
}

// linkByMAC finds the link carrying mac; ErrLinkNotFound if none does.
func (h *Linux) linkByMAC(mac string) (netlink.Link, error) {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return nil, fmt.Errorf("mac %q: %w", mac, ErrInvalid)
	}
	links, err := dump("links", h.nl.LinkList)
	if err != nil {
		return nil, fmt.Errorf("find link of %s: %w", mac, err)
	}
	for _, l := range links {
		if bytes.Equal(l.Attrs().HardwareAddr, hw) {
			return l, nil
		}
	}
	return nil, fmt.Errorf("no link has mac %s: %w", mac, ErrLinkNotFound)
}
