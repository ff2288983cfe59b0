package netenv

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

const (
	mac0 = "02:00:00:00:00:0a"
	mac1 = "02:00:00:00:00:0b"
	macX = "02:00:00:00:00:ff"
)

var (
	k10 = Key{Node: 1, Device: 0}
	k11 = Key{Node: 1, Device: 1}
	k20 = Key{Node: 2, Device: 0}
)

// eth0 is node 1's primary ENI as desired.
func eth0() DesiredENI {
	return DesiredENI{Key: k10, MAC: mac0, Primary: a("198.18.0.11"), Owned: []netip.Addr{a("198.18.0.11")},
		NodeAddr: pf("198.18.0.11/20"), NodeGateway: a("198.18.0.1")}
}

// eth1 is node 1's secondary ENI with two secondaries and a prefix.
func eth1() DesiredENI {
	return DesiredENI{Key: k11, MAC: mac1, Primary: a("198.18.0.40"),
		Owned:    []netip.Addr{a("198.18.0.40"), a("198.18.0.41"), a("198.18.0.42")},
		Prefixes: []netip.Prefix{pf("198.18.1.0/28")}}
}

// inStep is what exists once d has been applied.
func inStep(d DesiredENI) ActualENI {
	x := ActualENI{Key: d.Key, Fabric: true, FabricUp: true, Node: true, NodeUp: true, MAC: d.MAC}
	if d.NodeAddr.IsValid() {
		x.NodeAddrs, x.NodeGateway = []netip.Prefix{d.NodeAddr}, d.NodeGateway
	}
	for _, ip := range d.Owned {
		x.Routes = append(x.Routes, Route{Dst: netip.PrefixFrom(ip, 32)})
		x.Neighs = append(x.Neighs, Neigh{Addr: ip, MAC: d.MAC})
	}
	for _, p := range d.Prefixes {
		x.Routes = append(x.Routes, Route{Dst: p, Via: d.Primary})
	}
	return x
}

func desired(gw bool, enis ...DesiredENI) Desired {
	d := Desired{ENIs: enis}
	if gw {
		d.Gateways = []netip.Addr{a("198.18.0.1")}
	}
	return d
}

func actual(enis ...ActualENI) Actual {
	return Actual{ENIs: enis, Gateways: []netip.Addr{a("169.254.169.253"), a("198.18.0.1")}}
}

func route(k Key, dst string, via string) Action {
	r := Route{Dst: pf(dst)}
	if via != "" {
		r.Via = a(via)
	}
	return Action{Op: OpAddRoute, Key: k, Route: r}
}

func delRoute(k Key, dst string, via string) Action {
	x := route(k, dst, via)
	x.Op = OpDelRoute
	return x
}

func setNeigh(k Key, ip, mac string) Action {
	return Action{Op: OpSetNeigh, Key: k, Addr: a(ip), MAC: mac}
}

// createEth0 is everything a fresh eth0 of node 1 needs.
var createEth0 = []Action{
	{Op: OpCreatePair, Key: k10, MAC: mac0},
	{Op: OpNodeAddr, Key: k10, Prefix: pf("198.18.0.11/20")},
	{Op: OpNodeDefault, Key: k10, Addr: a("198.18.0.1")},
	setNeigh(k10, "198.18.0.11", mac0),
	route(k10, "198.18.0.11/32", ""),
}

func TestPlan(t *testing.T) {
	eth1Less := eth1()
	eth1Less.Owned = eth1Less.Owned[:2] // 198.18.0.42 unassigned
	eth1Less.Prefixes = nil
	eth1More := eth1()
	eth1More.Owned = append(slices.Clone(eth1More.Owned), a("198.18.0.43"))
	eth1More.Prefixes = append(slices.Clone(eth1More.Prefixes), pf("198.18.1.16/28"))
	downed := inStep(eth1())
	downed.NodeUp = false
	wrongNeigh := inStep(eth1())
	wrongNeigh.Neighs[1].MAC = macX
	noDefault := inStep(eth0())
	noDefault.NodeGateway = netip.Addr{}
	otherDefault := inStep(eth0())
	otherDefault.NodeGateway = a("198.18.0.2")
	macChanged := inStep(eth1())
	macChanged.MAC = macX
	fabricOnly := ActualENI{Key: k11, Fabric: true, FabricUp: true}
	nodeOnly := ActualENI{Key: k11, Node: true, NodeUp: true, MAC: mac1}
	// 198.18.0.41 moves from node 1's eth1 to node 2's eth0.
	n2 := DesiredENI{Key: k20, MAC: macX, Primary: a("198.18.0.12"),
		Owned:    []netip.Addr{a("198.18.0.12"), a("198.18.0.41")},
		NodeAddr: pf("198.18.0.12/20"), NodeGateway: a("198.18.0.1")}
	n2Before := inStep(n2)
	n2Before.Routes, n2Before.Neighs = n2Before.Routes[:1], n2Before.Neighs[:1]

	for _, tc := range []struct {
		name    string
		desired Desired
		actual  Actual
		want    []Action
	}{
		{"nothing", Desired{}, Actual{}, nil},
		{"in step", desired(true, eth0(), eth1()), actual(inStep(eth0()), inStep(eth1())), nil},
		{"primary ENI appears", desired(true, eth0()), Actual{},
			append([]Action{{Op: OpAddGateway, Addr: a("198.18.0.1")}}, createEth0...)},
		{"secondary ENI attached", desired(true, eth0(), eth1()), actual(inStep(eth0())), []Action{
			{Op: OpCreatePair, Key: k11, MAC: mac1},
			setNeigh(k11, "198.18.0.40", mac1), setNeigh(k11, "198.18.0.41", mac1), setNeigh(k11, "198.18.0.42", mac1),
			route(k11, "198.18.0.40/32", ""), route(k11, "198.18.0.41/32", ""), route(k11, "198.18.0.42/32", ""),
			route(k11, "198.18.1.0/28", "198.18.0.40"),
		}},
		{"ENI detached", desired(true, eth0()), actual(inStep(eth0()), inStep(eth1())),
			[]Action{{Op: OpDeletePair, Key: k11}}},
		{"node gone from the state", Desired{}, actual(inStep(eth0()), inStep(eth1())),
			[]Action{{Op: OpDeletePair, Key: k10}, {Op: OpDeletePair, Key: k11}}},
		{"address and prefix unassigned", desired(true, eth0(), eth1Less), actual(inStep(eth0()), inStep(eth1())),
			[]Action{
				delRoute(k11, "198.18.0.42/32", ""), delRoute(k11, "198.18.1.0/28", "198.18.0.40"),
				{Op: OpDelNeigh, Key: k11, Addr: a("198.18.0.42")},
			}},
		{"address and prefix assigned", desired(true, eth0(), eth1More), actual(inStep(eth0()), inStep(eth1())),
			[]Action{
				setNeigh(k11, "198.18.0.43", mac1),
				route(k11, "198.18.0.43/32", ""), route(k11, "198.18.1.16/28", "198.18.0.40"),
			}},
		{"MAC changed: recreated", desired(true, eth1()), actual(macChanged), append([]Action{
			{Op: OpDeletePair, Key: k11}, {Op: OpCreatePair, Key: k11, MAC: mac1},
		}, planFresh(eth1())...)},
		{"fabric side alone", desired(true, eth1()), actual(fabricOnly), append([]Action{
			{Op: OpDeletePair, Key: k11}, {Op: OpCreatePair, Key: k11, MAC: mac1},
		}, planFresh(eth1())...)},
		{"node side alone", desired(true, eth1()), actual(nodeOnly), append([]Action{
			{Op: OpDeletePair, Key: k11}, {Op: OpCreatePair, Key: k11, MAC: mac1},
		}, planFresh(eth1())...)},
		{"a side down", desired(true, eth1()), actual(downed), []Action{{Op: OpLinkUp, Key: k11}}},
		{"neighbour with another MAC", desired(true, eth1()), actual(wrongNeigh),
			[]Action{setNeigh(k11, "198.18.0.41", mac1)}},
		{"default route missing", desired(true, eth0()), actual(noDefault),
			[]Action{{Op: OpNodeDefault, Key: k10, Addr: a("198.18.0.1")}}},
		{"default route elsewhere", desired(true, eth0()), actual(otherDefault),
			[]Action{{Op: OpNodeDefault, Key: k10, Addr: a("198.18.0.1")}}},
		{"other node addresses kept", desired(true, eth0()), actual(func() ActualENI {
			x := inStep(eth0())
			x.NodeAddrs = append(x.NodeAddrs, pf("198.18.0.99/32"))
			return x
		}()), nil},
		{"address moves between nodes: removed first", desired(true, eth0(), eth1Less, n2),
			actual(inStep(eth0()), inStep(eth1()), n2Before), []Action{
				delRoute(k11, "198.18.0.42/32", ""), delRoute(k11, "198.18.1.0/28", "198.18.0.40"),
				{Op: OpDelNeigh, Key: k11, Addr: a("198.18.0.42")},
				setNeigh(k20, "198.18.0.41", macX), route(k20, "198.18.0.41/32", ""),
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Plan(tc.desired, tc.actual)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Plan:\n got %s\nwant %s", show(got), show(tc.want))
			}
		})
	}
}

// planFresh is what a fresh pair of d needs after create-pair.
func planFresh(d DesiredENI) []Action {
	var out []Action
	for _, ip := range d.Owned {
		out = append(out, setNeigh(d.Key, ip.String(), d.MAC))
	}
	for _, ip := range d.Owned {
		out = append(out, route(d.Key, netip.PrefixFrom(ip, 32).String(), ""))
	}
	for _, p := range d.Prefixes {
		out = append(out, route(d.Key, p.String(), d.Primary.String()))
	}
	return out
}

// TestPlanConverges: applying a plan to its actual (as the fabric would)
// gives an actual the same desired state plans nothing for.
func TestPlanConverges(t *testing.T) {
	d := desired(true, eth0(), eth1())
	for _, start := range []Actual{{}, actual(inStep(eth1())), actual(ActualENI{Key: k20, Fabric: true})} {
		next := simulate(start, Plan(d, start))
		if p := Plan(d, next); len(p) != 0 {
			t.Errorf("from %+v: second plan %s, want none", start, show(p))
		}
	}
}

// TestPlanDeterministic: the order of what exists does not change the plan.
func TestPlanDeterministic(t *testing.T) {
	x := inStep(eth1())
	x.Routes = append(x.Routes, Route{Dst: pf("198.18.0.99/32")}, Route{Dst: pf("198.18.0.98/32")})
	x.Neighs = append(x.Neighs, Neigh{Addr: a("198.18.0.99"), MAC: mac1}, Neigh{Addr: a("198.18.0.98"), MAC: mac1})
	y := x
	y.Routes, y.Neighs = slices.Clone(x.Routes), slices.Clone(x.Neighs)
	slices.Reverse(y.Routes)
	slices.Reverse(y.Neighs)
	d := desired(false, eth1(), eth0())
	d.ENIs = []DesiredENI{eth0(), eth1()}
	p1 := Plan(d, Actual{ENIs: []ActualENI{x, {Key: k20, Node: true}}})
	p2 := Plan(d, Actual{ENIs: []ActualENI{{Key: k20, Node: true}, y}})
	if !slices.Equal(p1, p2) {
		t.Errorf("plans differ:\n%s\n%s", show(p1), show(p2))
	}
}

// simulate applies a plan to an Actual as the fabric would.
func simulate(act Actual, plan []Action) Actual {
	m := map[Key]*ActualENI{}
	var keys []Key
	for _, e := range act.ENIs {
		m[e.Key] = &e
		keys = append(keys, e.Key)
	}
	get := func(k Key) *ActualENI {
		if m[k] == nil {
			m[k] = &ActualENI{Key: k}
			keys = append(keys, k)
		}
		return m[k]
	}
	gws := slices.Clone(act.Gateways)
	for _, p := range plan {
		e := get(p.Key)
		switch p.Op {
		case OpDeletePair:
			*e = ActualENI{Key: p.Key}
		case OpCreatePair:
			*e = ActualENI{Key: p.Key, Fabric: true, FabricUp: true, Node: true, NodeUp: true, MAC: p.MAC}
		case OpLinkUp:
			e.FabricUp, e.NodeUp = true, true
		case OpNodeAddr:
			e.NodeAddrs = append(e.NodeAddrs, p.Prefix)
		case OpNodeDefault:
			e.NodeGateway = p.Addr
		case OpSetNeigh:
			e.Neighs = slices.DeleteFunc(e.Neighs, func(n Neigh) bool { return n.Addr == p.Addr })
			e.Neighs = append(e.Neighs, Neigh{Addr: p.Addr, MAC: p.MAC})
		case OpDelNeigh:
			e.Neighs = slices.DeleteFunc(e.Neighs, func(n Neigh) bool { return n.Addr == p.Addr })
		case OpAddRoute:
			e.Routes = append(e.Routes, p.Route)
		case OpDelRoute:
			e.Routes = slices.DeleteFunc(e.Routes, func(r Route) bool { return r == p.Route })
		case OpAddGateway:
			gws = append(gws, p.Addr)
		}
	}
	out := Actual{Gateways: gws}
	for _, k := range keys {
		if e := m[k]; e.Fabric || e.Node {
			out.ENIs = append(out.ENIs, *e)
		}
	}
	return out
}

func show(as []Action) string {
	var b strings.Builder
	for _, x := range as {
		b.WriteString("\n  " + x.String())
	}
	return b.String()
}

// TestPlanKeyOrder: within a kind, actions go in key order, whether the
// pair is gone from the state or must be remade.
func TestPlanKeyOrder(t *testing.T) {
	macChanged := inStep(eth1())
	macChanged.MAC = macX
	gone := inStep(eth0())
	got := Plan(desired(false, eth1()), Actual{ENIs: []ActualENI{gone, macChanged}})
	want := []Action{{Op: OpDeletePair, Key: k10}, {Op: OpDeletePair, Key: k11}}
	if len(got) < 2 || !slices.Equal(got[:2], want) {
		t.Errorf("Plan: %s, want it to start with %s", show(got), show(want))
	}
}
