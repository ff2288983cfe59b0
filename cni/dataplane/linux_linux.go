package dataplane

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrClosed: the Linux dataplane was used after Close.
var ErrClosed = errors.New("dataplane is closed")

// dumpTries bounds the retries of a netlink dump the kernel interrupted
// because the table changed under it (concurrent pod starts do that).
const dumpTries = 20

// Linux is the dataplane over netlink. It is safe for concurrent use: pods
// are wired in parallel, the host namespace's netlink socket serialises
// only single requests.
type Linux struct {
	mu     sync.RWMutex // Close against everything else
	closed bool
	hostNS ns.NetNS        // kept open: the veth peer is placed by its fd
	host   *netlink.Handle // a netlink socket inside hostNS
	// hostIDs are the namespaces no pod may use (openPod).
	hostIDs []nsID

	// fault, when set (tests only), is called before each step of Setup
	// with the step's name; an error fails that step.
	fault func(step string) error
}

var _ Dataplane = (*Linux)(nil)

// New opens the host namespace (o.HostNS, or the calling thread's own) and
// a netlink socket inside it.
func New(o Options) (*Linux, error) {
	var hostNS ns.NetNS
	var err error
	if o.HostNS == "" {
		hostNS, err = ns.GetCurrentNS()
	} else {
		hostNS, err = ns.GetNS(o.HostNS)
	}
	if err != nil {
		return nil, fmt.Errorf("open host netns %q: %w", o.HostNS, err)
	}
	var h *netlink.Handle
	err = hostNS.Do(func(ns.NetNS) error {
		var err error
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
		return err
	})
	if err != nil {
		hostNS.Close()
		return nil, fmt.Errorf("open netlink in host netns %q: %w", hostNS.Path(), err)
	}
	ids, err := hostIDsOf(hostNS)
	if err != nil {
		h.Close()
		hostNS.Close()
		return nil, err
	}
	return &Linux{hostNS: hostNS, host: h, hostIDs: ids}, nil
}

// Close releases the host namespace and its netlink socket. It waits for
// calls in progress; later calls fail with ErrClosed.
func (l *Linux) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.host.Close()
	return l.hostNS.Close()
}

// enter guards a call against Close; the caller must call l.mu.RUnlock
// when it returns nil.
func (l *Linux) enter() error {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

// step runs the test fault seam for the named step.
func (l *Linux) step(name string) error {
	if l.fault == nil {
		return nil
	}
	return l.fault(name)
}

// retryDump runs a netlink dump again while the kernel reports it was
// interrupted by a concurrent change, so its result is consistent.
func retryDump[T any](dump func() (T, error)) (T, error) {
	var v T
	var err error
	for range dumpTries {
		v, err = dump()
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return v, err
		}
	}
	return v, fmt.Errorf("dump interrupted %d times in a row: %w", dumpTries, err)
}

// isNotFound: the object to delete or read is already gone.
func isNotFound(err error) bool {
	var lnf netlink.LinkNotFoundError
	return errors.As(err, &lnf) || errors.Is(err, unix.ENODEV) ||
		errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) ||
		errors.Is(err, unix.EADDRNOTAVAIL)
}

// family is the netlink address family of ip.
func family(ip netip.Addr) int {
	if ip.Is4() {
		return netlink.FAMILY_V4
	}
	return netlink.FAMILY_V6
}

// hostNet is ip as a single-address prefix (/32 for IPv4).
func hostNet(ip netip.Addr) *net.IPNet {
	return &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(ip.BitLen(), ip.BitLen())}
}

// gateway is GatewayIP parsed once.
var gateway = netip.MustParseAddr(GatewayIP)

// sameNet reports whether n is exactly p (nil is the default route).
func sameNet(n *net.IPNet, p netip.Prefix) bool {
	if n == nil {
		return p.Bits() == 0 && p.Addr().IsUnspecified()
	}
	ones, bits := n.Mask.Size()
	a, ok := netip.AddrFromSlice(n.IP)
	return ok && bits == p.Addr().BitLen() && ones == p.Bits() && a.Unmap() == p.Addr()
}

// toRule and fromRule are the host's rules for a pod's address; table 0
// selects the rule in any table (to delete).
func toRule(ip netip.Addr, table int) *netlink.Rule {
	r := netlink.NewRule()
	r.Family = family(ip)
	r.Dst = hostNet(ip)
	r.Priority = PriorityToPod
	r.Table = table
	return r
}

func fromRule(ip netip.Addr, table int) *netlink.Rule {
	r := netlink.NewRule()
	r.Family = family(ip)
	r.Src = hostNet(ip)
	r.Priority = PriorityFromPod
	r.Table = table
	return r
}

// delRules deletes every rule at sel's priority with sel's selector,
// whatever its table (sel.Table is 0: the kernel matches any table).
func (l *Linux) delRules(sel *netlink.Rule) error {
	for range 64 {
		err := l.host.RuleDel(sel)
		if isNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("more than 64 rules at priority %d", sel.Priority)
}

// delLink deletes the link named name through h (nil: the calling
// thread's namespace); found reports whether there was one.
func delLink(h *netlink.Handle, name string) (found bool, err error) {
	if h == nil {
		h = &netlink.Handle{}
	}
	link, err := h.LinkByName(name)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := h.LinkDel(link); err != nil && !isNotFound(err) {
		return true, err
	}
	return true, nil
}
