package pool

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// FuzzDecide feeds Decide arbitrary pools and settings and checks that it
// never panics and never asks for what must not be done.
func FuzzDecide(f *testing.F) {
	f.Add([]byte{0, 1, 2, 0x10, 0x11, 0xff}, 1, 0, 0, 1, false, 29, 3, 10, int64(0))
	f.Add([]byte{0x80, 0x81, 0x90, 0x01}, 0, 5, 10, 1, true, 110, 3, 10, int64(30))
	f.Add([]byte{}, -3, -1, -7, -2, true, -1, -5, -2, int64(-9))
	f.Add([]byte{0xff, 0xfe, 0x7f, 0x00, 0x40}, 1<<40, 1<<40, 1<<40, 1<<40, false, 1<<40, 1<<40, 1<<40, int64(1)<<60)
	f.Fuzz(func(t *testing.T, layout []byte, warmENI, warmIP, minIP, warmPfx int, pd bool,
		maxPods, maxENIs, ipv4 int, delay int64) {
		if len(layout) > 512 {
			return
		}
		in := Input{
			Stats: fuzzStats(layout, pd),
			Config: Config{WarmENITarget: warmENI, WarmIPTarget: warmIP, MinimumIPTarget: minIP,
				WarmPrefixTarget: warmPfx, PrefixDelegation: pd, ReleaseDelay: time.Duration(delay)},
			Limits: Limits{Type: cloud.InstanceTypeLimits{Type: "fuzz.type", MaxENIs: maxENIs, IPv4PerENI: ipv4},
				MaxENIs: maxENIs, MaxPods: maxPods},
			History: History{LastIncrease: testNow.Add(-time.Duration(delay))},
			Now:     testNow,
		}
		checkDecision(t, in, Decide(in))
	})
}

// fuzzStats builds a pool from bytes: each byte is a block (low 3 bits its
// state mix, bit 7 a new ENI before it).
func fuzzStats(layout []byte, pd bool) datastore.Stats {
	var enis []datastore.ENIStats
	for i, c := range layout {
		if len(enis) == 0 || c&0x80 != 0 {
			enis = append(enis, mkENI(len(enis)))
		}
		size := 1
		if pd && c&0x40 != 0 {
			size = PrefixSize
		}
		b := blk{f: size}
		switch c & 7 {
		case 1:
			b = blk{a: 1, f: size - 1}
		case 2:
			b = blk{c: 1, f: size - 1}
		case 3:
			b = blk{a: size}
		}
		e := &enis[len(enis)-1]
		bs := datastore.BlockStats{Assigned: b.a, Cooling: b.c, Available: b.f,
			Prefix: netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, byte(i >> 4), byte(i << 4)}), 33-bitsFor(size))}
		e.Blocks = append(e.Blocks, bs)
		e.Assigned += b.a
		e.Cooling += b.c
		e.Available += b.f
		e.Total += size
	}
	return mkStats(enis...)
}

func bitsFor(size int) int {
	if size == PrefixSize {
		return 5
	}
	return 1
}

// checkDecision checks a decision against the rules every decision keeps.
func checkDecision(t *testing.T, in Input, d Decision) {
	t.Helper()
	p := newPlan(in)
	byID := map[string]datastore.ENIStats{}
	for _, e := range in.Stats.ENIs {
		byID[e.ID] = e
	}
	grew, shrank, added, created := false, false, 0, 0
	for _, a := range d.Actions {
		e, known := byID[a.ENI]
		switch a.Kind {
		case AssignIPs, AssignPrefixes:
			grew = true
			if !known || a.Count <= 0 || len(e.Blocks)+a.Count > p.slots {
				t.Fatalf("bad %s: %+v", a.Kind, a)
			}
			added += a.Count
		case CreateENI:
			grew, created = true, created+1
			if a.Count <= 0 || a.Count > p.slots || len(in.Stats.ENIs)+created > p.maxENIs {
				t.Fatalf("bad create: %+v (max ENIs %d)", a, p.maxENIs)
			}
			added += a.Count
		case UnassignIPs, UnassignPrefixes:
			shrank = true
			for _, pfx := range a.Blocks {
				if !known || !freeBlock(e, pfx) {
					t.Fatalf("%s of %s on %s: not a free block of it", a.Kind, pfx, a.ENI)
				}
			}
		case DeleteENI:
			shrank = true
			if !known || e.Primary || busy(e) {
				t.Fatalf("delete of %s: unknown, primary or busy", a.ENI)
			}
		default:
			t.Fatalf("unknown kind %q", a.Kind)
		}
	}
	if grew && shrank {
		t.Fatalf("grows and shrinks at once: %s", d.Reason)
	}
	if lim := in.Limits.MaxPods; grew && lim > 0 && in.Stats.Total+added*p.blockSize >= lim+p.blockSize {
		t.Fatalf("grows %d blocks of %d from %d past max pods %d", added, p.blockSize, in.Stats.Total, lim)
	}
	if d.Short < 0 || d.Excess < 0 || d.Reason == "" {
		t.Fatalf("short %d, excess %d, reason %q", d.Short, d.Excess, d.Reason)
	}
}

func freeBlock(e datastore.ENIStats, p netip.Prefix) bool {
	for _, b := range e.Blocks {
		if b.Prefix == p {
			return b.Assigned == 0 && b.Cooling == 0
		}
	}
	return false
}

// The simulator's checks hold for every configuration over a long run of
// pods coming and going.
func TestSimulatorChurn(t *testing.T) {
	for _, typ := range []string{"t3.medium", "m5.large", "c5.4xlarge"} {
		for _, cfg := range []Config{
			{WarmENITarget: 1}, {WarmENITarget: 2}, {WarmENITarget: 0},
			{WarmIPTarget: 3}, {WarmIPTarget: 5, MinimumIPTarget: 10}, {MinimumIPTarget: 12},
			{PrefixDelegation: true, WarmPrefixTarget: 1}, {PrefixDelegation: true, WarmPrefixTarget: 0},
			{PrefixDelegation: true, WarmIPTarget: 7, MinimumIPTarget: 20},
		} {
			cfg.ReleaseDelay = 20 * time.Second
			t.Run(fmt.Sprintf("%s/%+v", typ, cfg), func(t *testing.T) {
				s := newSim(t, limitsFor(t, typ, 0, 40), cfg)
				for round := range 6 {
					for range 10 + 7*round {
						s.addPod()
					}
					// Delete every other pod, in place.
					kept := s.pods[:0]
					for i, p := range s.pods {
						if i%2 == 0 {
							p.blk.addrs[p.i] = simAddr{state: addrCooling, until: s.now.Add(s.cooldown)}
						} else {
							kept = append(kept, p)
						}
					}
					s.pods = kept
					s.now = s.now.Add(time.Minute)
					s.settle()
				}
				s.deleteAll()
				s.now = s.now.Add(time.Hour)
				s.settle()
				checkIdle(t, s)
			})
		}
	}
}

// checkIdle checks an idle, settled pool against its target: never below
// it, and above it by less than what the mode grows by (an address, a /28,
// an ENI's worth).
func checkIdle(t *testing.T, s *sim) {
	t.Helper()
	st := s.stats()
	p := newPlan(Input{Stats: st, Config: s.cfg, Limits: s.lim})
	slack := 1
	switch {
	case s.cfg.PrefixDelegation:
		slack = PrefixSize
	case p.mode == modeENI:
		slack = p.slots
	}
	if st.Total < p.capped || st.Total-p.capped >= slack {
		t.Errorf("idle pool holds %d addresses on %d ENIs, target %d (%s)", st.Total, len(s.enis), p.capped, s.last.Reason)
	}
}
