package netenv

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"os"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// ErrNoNamespace is returned when a lab namespace the follower needs is not
// there (the fabric, or a node not created yet).
var ErrNoNamespace = errors.New("lab namespace missing")

// env is the follower's view of one lab: handles in the fabric and in each
// node namespace that exists.
type env struct {
	prefix string
	fab    *nsHandle
	nodes  map[int]*nsHandle
	// missing reports the nodes left out: their namespace is not there.
	missing error
}

// openEnv opens the fabric and the nodes. A missing fabric is an error; a
// missing node is left out and reported in env.missing (wrapping
// ErrNoNamespace).
func openEnv(prefix string, nodes []NodeSpec) (*env, error) {
	fab, err := openNS(FabricNS(prefix))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			err = fmt.Errorf("%w: %s (create the fabric first)", ErrNoNamespace, FabricNS(prefix))
		}
		return nil, err
	}
	e := &env{prefix: prefix, fab: fab, nodes: map[int]*nsHandle{}}
	var missing []error
	for _, n := range nodes {
		h, err := openNS(NodeNS(prefix, n.Index))
		if errors.Is(err, os.ErrNotExist) {
			missing = append(missing, fmt.Errorf("%w: %s (create the node first)", ErrNoNamespace, NodeNS(prefix, n.Index)))
			continue
		}
		if err != nil {
			e.close()
			return nil, err
		}
		e.nodes[n.Index] = h
	}
	e.missing = errors.Join(missing...)
	return e, nil
}

func (e *env) close() {
	e.fab.Close()
	for _, h := range e.nodes {
		h.Close()
	}
}

// gather reads what exists of the pairs of the env's nodes.
func (e *env) gather() (Actual, error) {
	m := map[Key]*ActualENI{}
	get := func(k Key) *ActualENI {
		if m[k] == nil {
			m[k] = &ActualENI{Key: k}
		}
		return m[k]
	}
	if err := e.gatherFabric(get); err != nil {
		return Actual{}, err
	}
	for i, h := range e.nodes {
		if err := gatherNode(h, i, get); err != nil {
			return Actual{}, err
		}
	}
	gws, err := e.loAddrs()
	if err != nil {
		return Actual{}, err
	}
	a := Actual{Gateways: gws}
	for _, k := range slices.SortedFunc(maps.Keys(m), cmpKey) {
		a.ENIs = append(a.ENIs, *m[k])
	}
	return a, nil
}

// gatherFabric reads the fabric sides n<i>e<d> of the env's nodes, their
// routes and permanent neighbours.
func (e *env) gatherFabric(get func(Key) *ActualENI) error {
	links, err := dump(e.fab.LinkList)
	if err != nil {
		return fmt.Errorf("links in %s: %w", e.fab.name, err)
	}
	for _, l := range links {
		i, d, ok := parseFabricLink(l.Attrs().Name)
		if _, mine := e.nodes[i]; !ok || !mine {
			continue
		}
		a := get(Key{Node: i, Device: d})
		a.Fabric, a.FabricUp = true, l.Attrs().Flags&net.FlagUp != 0
		if a.Routes, err = e.fabricRoutes(l); err != nil {
			return err
		}
		if a.Neighs, err = e.fabricNeighs(l); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) fabricRoutes(l netlink.Link) ([]Route, error) {
	filter := &netlink.Route{LinkIndex: l.Attrs().Index, Table: unix.RT_TABLE_MAIN}
	rs, err := dump(func() ([]netlink.Route, error) {
		return e.fab.RouteListFiltered(netlink.FAMILY_V4, filter, netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, fmt.Errorf("routes of %s: %w", l.Attrs().Name, err)
	}
	var out []Route
	for _, r := range rs {
		if dst, ok := prefixOf(r.Dst); ok {
			out = append(out, Route{Dst: dst, Via: addrOf(r.Gw)})
		}
	}
	return out, nil
}

func (e *env) fabricNeighs(l netlink.Link) ([]Neigh, error) {
	ns, err := dump(func() ([]netlink.Neigh, error) { return e.fab.NeighList(l.Attrs().Index, netlink.FAMILY_V4) })
	if err != nil {
		return nil, fmt.Errorf("neighbours of %s: %w", l.Attrs().Name, err)
	}
	var out []Neigh
	for _, n := range ns {
		if n.State&netlink.NUD_PERMANENT != 0 && addrOf(n.IP).IsValid() {
			out = append(out, Neigh{Addr: addrOf(n.IP), MAC: n.HardwareAddr.String()})
		}
	}
	return out, nil
}

// gatherNode reads the node sides eth<d> of node i: MAC, state, IPv4
// addresses and the default route through them.
func gatherNode(h *nsHandle, i int, get func(Key) *ActualENI) error {
	links, err := dump(h.LinkList)
	if err != nil {
		return fmt.Errorf("links in %s: %w", h.name, err)
	}
	for _, l := range links {
		d, ok := parseNodeLink(l.Attrs().Name)
		if !ok {
			continue
		}
		a := get(Key{Node: i, Device: d})
		a.Node, a.NodeUp = true, l.Attrs().Flags&net.FlagUp != 0
		a.MAC = l.Attrs().HardwareAddr.String()
		addrs, err := dump(func() ([]netlink.Addr, error) { return h.AddrList(l, netlink.FAMILY_V4) })
		if err != nil {
			return fmt.Errorf("addresses of %s in %s: %w", l.Attrs().Name, h.name, err)
		}
		for _, ad := range addrs {
			if p, ok := prefixOf(ad.IPNet); ok {
				a.NodeAddrs = append(a.NodeAddrs, p)
			}
		}
		if a.NodeGateway, err = defaultGateway(h, l); err != nil {
			return err
		}
	}
	return nil
}

// defaultGateway is the gateway of the main table's default route through
// link l, if there is one.
func defaultGateway(h *nsHandle, l netlink.Link) (netip.Addr, error) {
	filter := &netlink.Route{LinkIndex: l.Attrs().Index, Table: unix.RT_TABLE_MAIN}
	rs, err := dump(func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_V4, filter, netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return netip.Addr{}, fmt.Errorf("routes of %s in %s: %w", l.Attrs().Name, h.name, err)
	}
	for _, r := range rs {
		if dst, ok := prefixOf(r.Dst); ok && dst.Bits() == 0 {
			return addrOf(r.Gw), nil
		}
	}
	return netip.Addr{}, nil
}

// loAddrs are the IPv4 addresses on the fabric's loopback.
func (e *env) loAddrs() ([]netip.Addr, error) {
	lo, err := e.fab.LinkByName("lo")
	if err != nil {
		return nil, fmt.Errorf("lo in %s: %w", e.fab.name, err)
	}
	addrs, err := dump(func() ([]netlink.Addr, error) { return e.fab.AddrList(lo, netlink.FAMILY_V4) })
	if err != nil {
		return nil, fmt.Errorf("addresses of lo in %s: %w", e.fab.name, err)
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, addrOf(a.IP))
	}
	return out, nil
}
