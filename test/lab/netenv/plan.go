package netenv

import (
	"fmt"
	"net/netip"
	"slices"
)

// Route is a fabric route through an ENI's fabric side: Dst directly on the
// link (Via invalid) or via an address on it (onlink).
type Route struct {
	Dst netip.Prefix
	Via netip.Addr
}

func (r Route) String() string {
	if r.Via.IsValid() {
		return r.Dst.String() + " via " + r.Via.String()
	}
	return r.Dst.String()
}

// Neigh is a permanent neighbour entry on an ENI's fabric side.
type Neigh struct {
	Addr netip.Addr
	MAC  string
}

// Actual is what the namespaces hold, as far as the follower owns it.
type Actual struct {
	ENIs []ActualENI
	// Gateways are the IPv4 addresses on the fabric's loopback.
	Gateways []netip.Addr
}

// ActualENI is what exists of one pair. Either side may be missing.
type ActualENI struct {
	Key
	Fabric, FabricUp bool // the fabric side exists; is up
	Node, NodeUp     bool // the node side exists; is up
	MAC              string
	// NodeAddrs are the node side's IPv4 addresses; NodeGateway the
	// gateway of the node's main default route through it, if any.
	NodeAddrs   []netip.Prefix
	NodeGateway netip.Addr
	// Routes are the fabric's IPv4 main-table routes through the fabric
	// side; Neighs its permanent IPv4 neighbours.
	Routes []Route
	Neighs []Neigh
}

// Op is what an Action does.
type Op string

// The operations, in the order Plan returns them: removals first (an
// address moving between ENIs must leave its old link before it is routed
// through the new one), then creations, then what goes on a pair.
const (
	OpDeletePair  Op = "delete-pair"  // delete both sides of Key
	OpDelRoute    Op = "del-route"    // Route off Key's fabric side
	OpDelNeigh    Op = "del-neigh"    // Addr's neighbour off Key's fabric side
	OpAddGateway  Op = "add-gateway"  // Addr/32 on the fabric's loopback
	OpCreatePair  Op = "create-pair"  // Key's pair, the node side with MAC, both up
	OpLinkUp      Op = "link-up"      // both sides of Key up
	OpNodeAddr    Op = "node-addr"    // Prefix on Key's node side
	OpNodeDefault Op = "node-default" // the node's default route via Addr on Key's node side
	OpSetNeigh    Op = "set-neigh"    // permanent neighbour Addr -> MAC on Key's fabric side
	OpAddRoute    Op = "add-route"    // Route on Key's fabric side
)

var opOrder = []Op{OpDeletePair, OpDelRoute, OpDelNeigh, OpAddGateway, OpCreatePair, OpLinkUp,
	OpNodeAddr, OpNodeDefault, OpSetNeigh, OpAddRoute}

// Action is one change. Which fields matter depends on Op (see the Op
// constants); the others are zero, so Actions compare with ==.
type Action struct {
	Op     Op
	Key    Key
	MAC    string
	Addr   netip.Addr
	Prefix netip.Prefix
	Route  Route
}

func (a Action) String() string {
	switch a.Op {
	case OpDeletePair, OpLinkUp:
		return fmt.Sprintf("%s %s", a.Op, a.Key)
	case OpCreatePair:
		return fmt.Sprintf("%s %s mac %s", a.Op, a.Key, a.MAC)
	case OpDelRoute, OpAddRoute:
		return fmt.Sprintf("%s %s dev %s", a.Op, a.Route, a.Key)
	case OpDelNeigh:
		return fmt.Sprintf("%s %s dev %s", a.Op, a.Addr, a.Key)
	case OpSetNeigh:
		return fmt.Sprintf("%s %s lladdr %s dev %s", a.Op, a.Addr, a.MAC, a.Key)
	case OpAddGateway:
		return fmt.Sprintf("%s %s", a.Op, a.Addr)
	case OpNodeAddr:
		return fmt.Sprintf("%s %s dev %s", a.Op, a.Prefix, NodeLink(a.Key.Device))
	case OpNodeDefault:
		return fmt.Sprintf("%s via %s dev %s", a.Op, a.Addr, NodeLink(a.Key.Device))
	}
	return string(a.Op)
}

// Plan returns the actions that turn actual into desired, in opOrder, each
// kind in key order. It is pure: the same inputs give the same plan.
func Plan(desired Desired, actual Actual) []Action {
	byOp := map[Op][]Action{}
	emit := func(a Action) { byOp[a.Op] = append(byOp[a.Op], a) }
	act := make(map[Key]ActualENI, len(actual.ENIs))
	for _, a := range actual.ENIs {
		act[a.Key] = a
	}
	want := make(map[Key]bool, len(desired.ENIs))
	for _, d := range desired.ENIs {
		want[d.Key] = true
		a, ok := act[d.Key]
		planENI(d, a, ok, emit)
	}
	var gone []Key
	for _, a := range actual.ENIs {
		if !want[a.Key] {
			gone = append(gone, a.Key)
		}
	}
	slices.SortFunc(gone, cmpKey)
	for _, k := range gone {
		emit(Action{Op: OpDeletePair, Key: k})
	}
	for _, gw := range desired.Gateways {
		if !slices.Contains(actual.Gateways, gw) {
			emit(Action{Op: OpAddGateway, Addr: gw})
		}
	}
	var out []Action
	for _, op := range opOrder {
		acts := byOp[op]
		slices.SortStableFunc(acts, func(x, y Action) int { return cmpKey(x.Key, y.Key) })
		out = append(out, acts...)
	}
	return out
}

// planENI plans one desired pair against what exists of it (ok: something).
func planENI(d DesiredENI, a ActualENI, ok bool, emit func(Action)) {
	whole := ok && a.Fabric && a.Node && a.MAC == d.MAC
	if ok && !whole {
		emit(Action{Op: OpDeletePair, Key: d.Key})
	}
	if !whole {
		a = ActualENI{Key: d.Key}
		emit(Action{Op: OpCreatePair, Key: d.Key, MAC: d.MAC})
	} else if !a.FabricUp || !a.NodeUp {
		emit(Action{Op: OpLinkUp, Key: d.Key})
	}
	if d.NodeAddr.IsValid() && !slices.Contains(a.NodeAddrs, d.NodeAddr) {
		emit(Action{Op: OpNodeAddr, Key: d.Key, Prefix: d.NodeAddr})
	}
	if d.NodeGateway.IsValid() && a.NodeGateway != d.NodeGateway {
		emit(Action{Op: OpNodeDefault, Key: d.Key, Addr: d.NodeGateway})
	}
	planNeighs(d, a.Neighs, emit)
	planRoutes(d, a.Routes, emit)
}

// planNeighs: a permanent neighbour for each owned address, no other.
func planNeighs(d DesiredENI, have []Neigh, emit func(Action)) {
	haveMAC := make(map[netip.Addr]string, len(have))
	for _, n := range have {
		haveMAC[n.Addr] = n.MAC
	}
	owned := make(map[netip.Addr]bool, len(d.Owned))
	for _, ip := range d.Owned {
		owned[ip] = true
		if mac, ok := haveMAC[ip]; !ok || mac != d.MAC {
			emit(Action{Op: OpSetNeigh, Key: d.Key, Addr: ip, MAC: d.MAC})
		}
	}
	for _, n := range sortedNeighs(have) {
		if !owned[n.Addr] {
			emit(Action{Op: OpDelNeigh, Key: d.Key, Addr: n.Addr})
		}
	}
}

// planRoutes: a /32 for each owned address, each prefix via the primary.
func planRoutes(d DesiredENI, have []Route, emit func(Action)) {
	var want []Route
	for _, ip := range d.Owned {
		want = append(want, Route{Dst: netip.PrefixFrom(ip, 32)})
	}
	for _, p := range d.Prefixes {
		want = append(want, Route{Dst: p, Via: d.Primary})
	}
	for _, r := range want {
		if !slices.Contains(have, r) {
			emit(Action{Op: OpAddRoute, Key: d.Key, Route: r})
		}
	}
	for _, r := range sortedRoutes(have) {
		if !slices.Contains(want, r) {
			emit(Action{Op: OpDelRoute, Key: d.Key, Route: r})
		}
	}
}

func sortedNeighs(ns []Neigh) []Neigh {
	ns = slices.Clone(ns)
	slices.SortFunc(ns, func(a, b Neigh) int { return a.Addr.Compare(b.Addr) })
	return ns
}

func sortedRoutes(rs []Route) []Route {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b Route) int {
		if c := a.Dst.Addr().Compare(b.Dst.Addr()); c != 0 {
			return c
		}
		return a.Dst.Bits() - b.Dst.Bits()
	})
	return rs
}
