package pool

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// The simulator: a datastore-like model of a node's ENIs, blocks and
// addresses to which decisions are applied as the manager would apply them,
// checking every action against what EC2 and the datastore would allow.

type addrState int

const (
	addrFree addrState = iota
	addrAssigned
	addrCooling
)

type simAddr struct {
	state addrState
	until time.Time // end of the cooldown
}

type simBlock struct {
	prefix netip.Prefix
	addrs  []simAddr
}

type simENI struct {
	id      string
	dev     int
	primary bool
	blocks  []*simBlock
}

type simPod struct {
	blk *simBlock
	i   int
}

type sim struct {
	t        *testing.T
	cfg      Config
	lim      Limits
	now      time.Time
	hist     History
	cooldown time.Duration
	enis     []*simENI
	created  int        // ENIs created so far, for their ids
	nextIP   netip.Addr // next secondary address, in 198.18.0.0/16
	nextPfx  netip.Addr // next /28, in 198.19.0.0/16
	pods     []simPod
	failed   int
	actions  []string // actions applied since the last phase
	last     Decision
}

var simEpoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// newSim starts a node of the given type with only its primary ENI.
func newSim(t *testing.T, lim Limits, cfg Config) *sim {
	t.Helper()
	return &sim{
		t: t, cfg: cfg, lim: lim, now: simEpoch, cooldown: 30 * time.Second,
		enis:    []*simENI{{id: "eni-0", primary: true}},
		nextIP:  netip.MustParseAddr("198.18.0.10"),
		nextPfx: netip.MustParseAddr("198.19.0.0"),
	}
}

// limitsFor is the limits of a built-in type, with maxENIs (0: the type's)
// and maxPods.
func limitsFor(t *testing.T, typ string, maxENIs, maxPods int) Limits {
	t.Helper()
	l, ok := cloud.BuiltinInstanceType(typ)
	if !ok {
		t.Fatalf("no built-in instance type %s", typ)
	}
	if maxENIs <= 0 {
		maxENIs = l.ENIsOnCard(l.DefaultNetworkCard)
	}
	return Limits{Type: l, MaxENIs: maxENIs, MaxPods: maxPods}
}

// sweep ends the cooldowns that are over.
func (s *sim) sweep() {
	for _, e := range s.enis {
		for _, b := range e.blocks {
			for i := range b.addrs {
				if b.addrs[i].state == addrCooling && !s.now.Before(b.addrs[i].until) {
					b.addrs[i] = simAddr{}
				}
			}
		}
	}
}

// stats is the model as the datastore would report it.
func (s *sim) stats() datastore.Stats {
	s.sweep()
	var st datastore.Stats
	for _, e := range s.enis {
		es := datastore.ENIStats{ID: e.id, DeviceIndex: e.dev, Primary: e.primary}
		for _, b := range e.blocks {
			bs := datastore.BlockStats{Prefix: b.prefix}
			for _, a := range b.addrs {
				switch a.state {
				case addrAssigned:
					bs.Assigned++
				case addrCooling:
					bs.Cooling++
				default:
					bs.Available++
				}
			}
			es.Blocks = append(es.Blocks, bs)
			es.Assigned += bs.Assigned
			es.Cooling += bs.Cooling
			es.Available += bs.Available
		}
		es.Total = es.Assigned + es.Cooling + es.Available
		st.ENIs = append(st.ENIs, es)
		st.Assigned += es.Assigned
		st.Cooling += es.Cooling
		st.Available += es.Available
	}
	st.Total = st.Assigned + st.Cooling + st.Available
	return st
}

// decide asks the policy.
func (s *sim) decide() Decision {
	s.last = Decide(Input{Stats: s.stats(), Config: s.cfg, Limits: s.lim, History: s.hist, Now: s.now})
	return s.last
}

// settle runs passes until the policy asks for nothing more.
func (s *sim) settle() {
	s.t.Helper()
	for range 50 {
		d := s.decide()
		if len(d.Actions) == 0 {
			return
		}
		s.apply(d)
		s.now = s.now.Add(time.Second)
	}
	s.t.Fatalf("no steady state after 50 passes; last decision: %s", s.last.Reason)
}

// apply executes a decision's actions, failing the test on any action EC2
// or the datastore would refuse, and checks the pool's caps afterwards.
func (s *sim) apply(d Decision) {
	s.t.Helper()
	grew, shrank := false, false
	for _, a := range d.Actions {
		s.actions = append(s.actions, actionString(a))
		switch a.Kind {
		case AssignIPs, AssignPrefixes, CreateENI:
			grew = true
			s.applyGrow(a)
		case UnassignIPs, UnassignPrefixes:
			shrank = true
			s.applyUnassign(a)
		case DeleteENI:
			shrank = true
			s.applyDelete(a)
		default:
			s.t.Fatalf("unknown action kind %q", a.Kind)
		}
	}
	if grew && shrank {
		s.t.Fatalf("one decision both grows and shrinks: %s", d.Reason)
	}
	if grew {
		s.hist.LastIncrease = s.now
	}
	if shrank {
		s.hist.LastDecrease = s.now
	}
	s.checkCaps()
}

func (s *sim) slots() int { return s.lim.Type.IPv4PerENI - 1 }

func (s *sim) applyGrow(a Action) {
	s.t.Helper()
	want := AssignIPs
	if s.cfg.PrefixDelegation {
		want = AssignPrefixes
	}
	if a.Kind != CreateENI && a.Kind != want {
		s.t.Fatalf("%s in a pool of kind %s", a.Kind, want)
	}
	if a.Count <= 0 {
		s.t.Fatalf("%s with count %d", a.Kind, a.Count)
	}
	e := s.eni(a.ENI)
	if a.Kind == CreateENI {
		if len(s.enis) >= s.lim.MaxENIs {
			s.t.Fatalf("create-eni beyond the ENI limit %d", s.lim.MaxENIs)
		}
		s.created++
		e = &simENI{id: fmt.Sprintf("eni-%d", s.created), dev: s.freeDevice()}
		s.enis = append(s.enis, e)
	}
	if len(e.blocks)+a.Count > s.slots() {
		s.t.Fatalf("%s of %d onto %s with %d of %d slots used", a.Kind, a.Count, e.id, len(e.blocks), s.slots())
	}
	for range a.Count {
		e.blocks = append(e.blocks, s.newBlock())
	}
}

func (s *sim) applyUnassign(a Action) {
	s.t.Helper()
	e := s.eni(a.ENI)
	for _, p := range a.Blocks {
		if p.IsSingleIP() != (a.Kind == UnassignIPs) {
			s.t.Fatalf("%s with block %s", a.Kind, p)
		}
		i := e.block(p)
		if i < 0 {
			s.t.Fatalf("%s: %s has no block %s", a.Kind, e.id, p)
		}
		for _, ad := range e.blocks[i].addrs {
			if ad.state != addrFree {
				s.t.Fatalf("%s: block %s of %s still has an assigned or cooling address", a.Kind, p, e.id)
			}
		}
		e.blocks = append(e.blocks[:i], e.blocks[i+1:]...)
	}
}

func (s *sim) applyDelete(a Action) {
	s.t.Helper()
	e := s.eni(a.ENI)
	if e.primary {
		s.t.Fatalf("delete-eni of the primary ENI %s", e.id)
	}
	for _, b := range e.blocks {
		for _, ad := range b.addrs {
			if ad.state != addrFree {
				s.t.Fatalf("delete-eni %s with an assigned or cooling address", e.id)
			}
		}
	}
	for i, x := range s.enis {
		if x == e {
			s.enis = append(s.enis[:i], s.enis[i+1:]...)
			return
		}
	}
}

// checkCaps fails the test when the pool holds more than max pods allows.
func (s *sim) checkCaps() {
	s.t.Helper()
	st := s.stats()
	slack := 0
	if s.cfg.PrefixDelegation {
		slack = PrefixSize - 1
	}
	if s.lim.MaxPods > 0 && st.Total > s.lim.MaxPods+slack {
		s.t.Fatalf("pool holds %d addresses, max pods %d", st.Total, s.lim.MaxPods)
	}
	if len(s.enis) > s.lim.MaxENIs {
		s.t.Fatalf("%d ENIs, limit %d", len(s.enis), s.lim.MaxENIs)
	}
}

func (s *sim) eni(id string) *simENI {
	s.t.Helper()
	if id == "" {
		return nil
	}
	for _, e := range s.enis {
		if e.id == id {
			return e
		}
	}
	s.t.Fatalf("no ENI %q", id)
	return nil
}

func (e *simENI) block(p netip.Prefix) int {
	for i, b := range e.blocks {
		if b.prefix == p {
			return i
		}
	}
	return -1
}

// freeDevice is the lowest device index no ENI uses, as EC2 attaches.
func (s *sim) freeDevice() int {
	for d := 1; ; d++ {
		used := false
		for _, e := range s.enis {
			used = used || e.dev == d
		}
		if !used {
			return d
		}
	}
}

func (s *sim) newBlock() *simBlock {
	if !s.cfg.PrefixDelegation {
		b := &simBlock{prefix: netip.PrefixFrom(s.nextIP, 32), addrs: make([]simAddr, 1)}
		s.nextIP = s.nextIP.Next()
		return b
	}
	b := &simBlock{prefix: netip.PrefixFrom(s.nextPfx, 28), addrs: make([]simAddr, PrefixSize)}
	for range PrefixSize {
		s.nextPfx = s.nextPfx.Next()
	}
	return b
}

// assign hands an available address to a pod, lowest ENI and block first.
func (s *sim) assign() bool {
	s.sweep()
	for _, e := range s.enis {
		for _, b := range e.blocks {
			for i := range b.addrs {
				if b.addrs[i].state == addrFree {
					b.addrs[i].state = addrAssigned
					s.pods = append(s.pods, simPod{blk: b, i: i})
					return true
				}
			}
		}
	}
	return false
}

// addPod is a pod's ADD: an empty pool wakes the manager, which runs to a
// steady state before the ADD gives up; then the periodic passes run.
func (s *sim) addPod() {
	s.now = s.now.Add(time.Second)
	if !s.assign() {
		s.settle()
		if !s.assign() {
			s.failed++
		}
	}
	s.settle()
}

// deleteAll is every pod's DEL: their addresses start cooling down.
func (s *sim) deleteAll() {
	for _, p := range s.pods {
		p.blk.addrs[p.i] = simAddr{state: addrCooling, until: s.now.Add(s.cooldown)}
	}
	s.pods = nil
}

// phase is the pool's state after a phase and the actions it took.
type phase struct {
	Actions                          []string
	ENIs, Total, Assigned, Available int
	Failed                           int    // ADDs that found no address
	Blocked                          string // the last decision's
}

func (s *sim) phase() phase {
	st := s.stats()
	p := phase{
		Actions: s.actions, ENIs: len(s.enis), Total: st.Total, Assigned: st.Assigned,
		Available: st.Available, Failed: s.failed, Blocked: s.last.Blocked,
	}
	s.actions, s.failed = nil, 0
	return p
}

func actionString(a Action) string {
	switch a.Kind {
	case CreateENI:
		return fmt.Sprintf("%s %d", a.Kind, a.Count)
	case UnassignIPs, UnassignPrefixes:
		return fmt.Sprintf("%s %s %d", a.Kind, a.ENI, len(a.Blocks))
	case DeleteENI:
		return fmt.Sprintf("%s %s", a.Kind, a.ENI)
	default:
		return fmt.Sprintf("%s %s %d", a.Kind, a.ENI, a.Count)
	}
}

// repeat is n copies of s.
func repeat(s string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = s
	}
	return out
}
