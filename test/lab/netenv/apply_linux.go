package netenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// apply carries out a plan and returns the actions done. An action that
// fails is reported and the rest of its pair's actions are skipped; the
// other pairs go on.
func (e *env) apply(ctx context.Context, acts []Action) ([]Action, error) {
	var done []Action
	var errs []error
	failed := map[Key]bool{}
	for _, a := range acts {
		if err := ctx.Err(); err != nil {
			return done, errors.Join(append(errs, err)...)
		}
		if a.Op != OpAddGateway && failed[a.Key] {
			continue
		}
		if err := e.do(a); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a, err))
			failed[a.Key] = true
			continue
		}
		done = append(done, a)
	}
	return done, errors.Join(errs...)
}

// do carries out one action.
func (e *env) do(a Action) error {
	switch a.Op {
	case OpDeletePair:
		return e.deletePair(a.Key)
	case OpCreatePair:
		return e.createPair(a.Key, a.MAC)
	case OpLinkUp:
		return errors.Join(e.fab.linkUp(a.Key.String()), e.node(a.Key).linkUp(NodeLink(a.Key.Device)))
	case OpNodeAddr:
		return e.node(a.Key).addAddr(NodeLink(a.Key.Device), a.Prefix)
	case OpNodeDefault:
		return e.node(a.Key).defaultVia(NodeLink(a.Key.Device), a.Addr)
	case OpSetNeigh, OpDelNeigh:
		return e.neigh(a)
	case OpAddRoute, OpDelRoute:
		return e.route(a)
	case OpAddGateway:
		return e.fab.addAddr("lo", netip.PrefixFrom(a.Addr, 32))
	}
	return fmt.Errorf("unknown action %q", a.Op)
}

// node is the handle of the key's node; the plan only names nodes the env
// has.
func (e *env) node(k Key) *nsHandle { return e.nodes[k.Node] }

// deletePair deletes both sides; a side already gone is fine.
func (e *env) deletePair(k Key) error {
	del := func(h *nsHandle, name string) error {
		l, err := h.LinkByName(name)
		if errors.As(err, &netlink.LinkNotFoundError{}) {
			return nil
		}
		if err == nil {
			err = h.LinkDel(l)
		}
		if err != nil && !errors.Is(err, unix.ENODEV) {
			return fmt.Errorf("delete %s in %s: %w", name, h.name, err)
		}
		return nil
	}
	return errors.Join(del(e.fab, k.String()), del(e.node(k), NodeLink(k.Device)))
}

// createPair creates the veth with its node side straight in the node's
// namespace, carrying the ENI's MAC; sets the fabric side's ARP proxy and
// strict source check before either side comes up.
func (e *env) createPair(k Key, mac string) error {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return fmt.Errorf("mac %q: %w", mac, err)
	}
	n := e.node(k)
	v := &netlink.Veth{
		LinkAttrs: netlink.LinkAttrs{Name: k.String(), MTU: ENIMTU},
		PeerName:  NodeLink(k.Device), PeerHardwareAddr: hw, PeerMTU: ENIMTU,
		PeerNamespace: netlink.NsFd(int(n.fd)),
	}
	if err := e.fab.LinkAdd(v); err != nil {
		return fmt.Errorf("veth %s-%s: %w", k, NodeLink(k.Device), err)
	}
	name := k.String()
	err = setSysctls(e.fab.name,
		sysctl{key: "net/ipv4/conf/" + name + "/proxy_arp", val: "1"},
		sysctl{key: "net/ipv4/conf/" + name + "/rp_filter", val: "1"},
		sysctl{key: "net/ipv4/neigh/" + name + "/proxy_delay", val: "0"},
	)
	if err == nil {
		err = errors.Join(e.fab.linkUp(name), n.linkUp(NodeLink(k.Device)))
	}
	if err != nil {
		// Half made: remove it so the next pass starts over.
		return errors.Join(err, e.deletePair(k))
	}
	return nil
}

// neigh sets or deletes a permanent neighbour on the key's fabric side.
func (e *env) neigh(a Action) error {
	l, err := e.fab.LinkByName(a.Key.String())
	if err != nil {
		return err
	}
	nb := &netlink.Neigh{LinkIndex: l.Attrs().Index, Family: netlink.FAMILY_V4, IP: a.Addr.AsSlice()}
	if a.Op == OpDelNeigh {
		if err := e.fab.NeighDel(nb); err != nil && !errors.Is(err, unix.ENOENT) {
			return err
		}
		return nil
	}
	hw, err := net.ParseMAC(a.MAC)
	if err != nil {
		return fmt.Errorf("mac %q: %w", a.MAC, err)
	}
	nb.State, nb.HardwareAddr = netlink.NUD_PERMANENT, hw
	return e.fab.NeighSet(nb)
}

// route adds (replacing a route to the same destination elsewhere) or
// deletes a route through the key's fabric side.
func (e *env) route(a Action) error {
	l, err := e.fab.LinkByName(a.Key.String())
	if err != nil {
		return err
	}
	r := &netlink.Route{LinkIndex: l.Attrs().Index, Dst: ipNet(a.Route.Dst), Table: unix.RT_TABLE_MAIN}
	if a.Route.Via.IsValid() {
		r.Gw = a.Route.Via.AsSlice()
	}
	if a.Op == OpDelRoute {
		// Scope nowhere matches the route whatever its own (as `ip route
		// del` asks).
		r.Scope = netlink.SCOPE_NOWHERE
		if err := e.fab.RouteDel(r); err != nil && !errors.Is(err, unix.ESRCH) {
			return err
		}
		return nil
	}
	if a.Route.Via.IsValid() {
		r.Flags = int(netlink.FLAG_ONLINK)
	} else {
		r.Scope = netlink.SCOPE_LINK
	}
	return e.fab.RouteReplace(r)
}
