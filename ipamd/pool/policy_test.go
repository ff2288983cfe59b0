package pool

import (
	"fmt"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// blk is one block of a hand-built ENI: how many of its addresses are
// assigned, cooling and available. Blocks of 16 addresses are /28s, others
// /32s.
type blk struct{ a, c, f int }

var testNow = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)

// mkENI builds an ENI's stats; device index 0 is the primary ENI. Block
// addresses are unique per device index and block position.
func mkENI(dev int, blocks ...blk) datastore.ENIStats {
	e := datastore.ENIStats{ID: fmt.Sprintf("eni-%d", dev), DeviceIndex: dev, Primary: dev == 0}
	for i, b := range blocks {
		bs := datastore.BlockStats{Assigned: b.a, Cooling: b.c, Available: b.f}
		base := netip.AddrFrom4([4]byte{198, 18, byte(dev), byte(i * 16)})
		if b.a+b.c+b.f == PrefixSize {
			bs.Prefix = netip.PrefixFrom(base, 28)
		} else {
			bs.Prefix = netip.PrefixFrom(base, 32)
		}
		e.Blocks = append(e.Blocks, bs)
		e.Assigned += b.a
		e.Cooling += b.c
		e.Available += b.f
	}
	e.Total = e.Assigned + e.Cooling + e.Available
	return e
}

func mkStats(enis ...datastore.ENIStats) datastore.Stats {
	s := datastore.Stats{ENIs: enis}
	for _, e := range enis {
		s.Total += e.Total
		s.Assigned += e.Assigned
		s.Cooling += e.Cooling
		s.Available += e.Available
	}
	return s
}

// ips is n /32 blocks in state b.
func ips(n int, b blk) []blk {
	out := make([]blk, n)
	for i := range out {
		out[i] = b
	}
	return out
}

var (
	free    = blk{f: 1}
	used    = blk{a: 1}
	cooling = blk{c: 1}
)

// m5 is m5.large's limits: 3 ENIs x 10 addresses, max pods 29.
func m5(t *testing.T) Limits { return limitsFor(t, "m5.large", 0, 29) }

// acts renders actions as the simulator does, with the blocks listed.
func acts(as []Action) []string {
	var out []string
	for _, a := range as {
		s := actionString(a)
		if len(a.Blocks) > 0 {
			s += fmt.Sprint(" ", a.Blocks)
		}
		out = append(out, s)
	}
	return out
}

type decideCase struct {
	name    string
	lim     Limits
	cfg     Config
	hist    History
	stats   datastore.Stats
	actions []string
	short   int
	excess  int
	blocked string
}

func runDecide(t *testing.T, tests []decideCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(Input{Stats: tc.stats, Config: tc.cfg, Limits: tc.lim, History: tc.hist, Now: testNow})
			if got := acts(d.Actions); !reflect.DeepEqual(got, tc.actions) {
				t.Errorf("actions %q, want %q (%s)", got, tc.actions, d.Reason)
			}
			if d.Short != tc.short || d.Excess != tc.excess || d.Blocked != tc.blocked {
				t.Errorf("short %d, excess %d, blocked %q; want %d, %d, %q (%s)",
					d.Short, d.Excess, d.Blocked, tc.short, tc.excess, tc.blocked, d.Reason)
			}
			if d.Reason == "" {
				t.Error("no reason")
			}
		})
	}
}

func TestDecideCooling(t *testing.T) {
	lim := m5(t)
	warm2 := Config{WarmIPTarget: 2}
	runDecide(t, []decideCase{{
		// 5 assigned + 4 cooling + 2 warm = 11 > 9: cooling addresses
		// count in the total but cannot be handed out.
		name: "cooling is not available", lim: lim, cfg: warm2,
		stats:   mkStats(mkENI(0, append(ips(5, used), ips(4, cooling)...)...)),
		actions: []string{"create-eni 2"}, short: 2,
	}, {
		// need 1 assigned + 1 cooling + 2 = 4 of 9: the cooling block and the
		// assigned one stay, the 5 free ones above them... and below them go.
		name: "cooling blocks are never released", lim: lim, cfg: warm2,
		stats: mkStats(mkENI(0, free, used, free, cooling, free, free, free, free, free)),
		actions: []string{"unassign-ips eni-0 5 [198.18.0.128/32 198.18.0.112/32 198.18.0.96/32 " +
			"198.18.0.80/32 198.18.0.64/32]"},
		excess: 5,
	}, {
		// need 1 cooling + 2 = 3: eni-1's loss would leave 9, but its
		// address is cooling; the primary's free blocks go instead.
		name: "an ENI with only cooling addresses is not deleted", lim: lim, cfg: warm2,
		stats: mkStats(mkENI(0, ips(9, free)...), mkENI(1, cooling)),
		actions: []string{"unassign-ips eni-0 7 [198.18.0.128/32 198.18.0.112/32 198.18.0.96/32 " +
			"198.18.0.80/32 198.18.0.64/32 198.18.0.48/32 198.18.0.32/32]"},
		excess: 7,
	}, {
		name: "an ENI with one cooling address keeps it, the rest goes", lim: lim, cfg: warm2,
		stats:   mkStats(mkENI(0, ips(2, free)...), mkENI(1, cooling, free, free)),
		actions: []string{"unassign-ips eni-1 2 [198.18.1.32/32 198.18.1.16/32]"}, excess: 2,
	}})
}

func TestDecideBlocked(t *testing.T) {
	full := func(n int) []datastore.ENIStats {
		var es []datastore.ENIStats
		for d := range n {
			es = append(es, mkENI(d, ips(9, used)...))
		}
		return es
	}
	noAddr := Limits{Type: cloud.InstanceTypeLimits{Type: "x1.tiny", MaxENIs: 2, IPv4PerENI: 1,
		NetworkCards: []cloud.NetworkCard{{MaxENIs: 2}}}, MaxENIs: 2, MaxPods: 4}
	maxENI1 := limitsFor(t, "m5.large", 1, 11)
	runDecide(t, []decideCase{{
		name: "ENI limit of the type", lim: m5(t), cfg: Config{WarmENITarget: 1},
		stats: mkStats(full(3)...), short: 9, blocked: "ENI limit of m5.large reached (3 ENIs)",
	}, {
		name: "MAX_ENI", lim: maxENI1, cfg: Config{WarmENITarget: 1},
		stats: mkStats(full(1)...), short: 9, blocked: "MAX_ENI=1 reached (m5.large allows 3 ENIs)",
	}, {
		name: "max pods", lim: limitsFor(t, "m5.large", 0, 18), cfg: Config{WarmENITarget: 1},
		stats: mkStats(full(2)...), short: 9, blocked: "max pods reached (18)",
	}, {
		name: "partly blocked: grows what it can and says why not more", lim: m5(t), cfg: Config{MinimumIPTarget: 40},
		stats:   mkStats(mkENI(0)),
		actions: []string{"assign-ips eni-0 9", "create-eni 9", "create-eni 9"}, short: 40,
		blocked: "ENI limit of m5.large reached (3 ENIs)",
	}, {
		name: "no secondary addresses at all", lim: noAddr, cfg: Config{WarmENITarget: 1},
		stats: mkStats(mkENI(0)), short: 1,
		blocked: "every ENI is at its address limit (x1.tiny: 1 IPv4 addresses per ENI, the primary included)",
	}, {
		name: "room to grow: not blocked", lim: m5(t), cfg: Config{WarmENITarget: 1},
		stats: mkStats(full(2)...), actions: []string{"create-eni 9"}, short: 9,
	}})
}

func TestDecideMaxPods(t *testing.T) {
	prefix := Config{PrefixDelegation: true, WarmPrefixTarget: 1}
	runDecide(t, []decideCase{{
		name: "a new ENI gets only what max pods leaves", lim: limitsFor(t, "m5.large", 0, 20),
		cfg:     Config{WarmENITarget: 1},
		stats:   mkStats(mkENI(0, ips(9, used)...), mkENI(1, append(ips(1, used), ips(8, free)...)...)),
		actions: []string{"create-eni 2"}, short: 1,
	}, {
		name: "WARM_IP_TARGET stops at max pods", lim: limitsFor(t, "m5.large", 0, 12),
		cfg:     Config{WarmIPTarget: 5},
		stats:   mkStats(mkENI(0, ips(9, used)...)),
		actions: []string{"create-eni 3"}, short: 5, blocked: "max pods reached (12)",
	}, {
		// 20 assigned + 16 = 36, capped at 40: one more /28 makes 48, less
		// than one prefix past max pods.
		name: "prefix: the last /28 may pass max pods", lim: limitsFor(t, "m5.large", 0, 40), cfg: prefix,
		stats:   mkStats(mkENI(0, blk{a: 16}, blk{a: 4, f: 12})),
		actions: []string{"assign-prefixes eni-0 1"}, short: 4,
	}, {
		name: "prefix: at max pods no more /28s", lim: limitsFor(t, "m5.large", 0, 32), cfg: prefix,
		stats: mkStats(mkENI(0, blk{a: 16}, blk{a: 4, f: 12})), short: 4, blocked: "max pods reached (32)",
	}, {
		// Max pods lowered under a pool that holds more: the free excess
		// goes, the assigned block stays.
		name: "more than max pods: free blocks released", lim: limitsFor(t, "m5.large", 0, 5),
		cfg:     Config{WarmIPTarget: 5},
		stats:   mkStats(mkENI(0, used, used, free, free, free, free, free, free)),
		actions: []string{"unassign-ips eni-0 3 [198.18.0.112/32 198.18.0.96/32 198.18.0.80/32]"},
		excess:  3,
	}})
}

func TestDecideHysteresis(t *testing.T) {
	lim := m5(t)
	cfg := Config{WarmIPTarget: 2, ReleaseDelay: 30 * time.Second}
	stats := mkStats(mkENI(0, ips(4, free)...))
	release := []string{"unassign-ips eni-0 2 [198.18.0.48/32 198.18.0.32/32]"}
	runDecide(t, []decideCase{{
		name: "grew 10s ago: held", lim: lim, cfg: cfg, stats: stats,
		hist: History{LastIncrease: testNow.Add(-10 * time.Second)}, excess: 2,
	}, {
		name: "grew 1ns short of the delay: held", lim: lim, cfg: cfg, stats: stats,
		hist: History{LastIncrease: testNow.Add(-30*time.Second + 1)}, excess: 2,
	}, {
		name: "grew exactly the delay ago: released", lim: lim, cfg: cfg, stats: stats,
		hist: History{LastIncrease: testNow.Add(-30 * time.Second)}, actions: release, excess: 2,
	}, {
		name: "never grew: released", lim: lim, cfg: cfg, stats: stats, actions: release, excess: 2,
	}, {
		name: "shrank recently: released (only growth holds release)", lim: lim, cfg: cfg, stats: stats,
		hist: History{LastIncrease: testNow.Add(-time.Hour), LastDecrease: testNow}, actions: release, excess: 2,
	}, {
		name: "no delay configured: released", lim: lim, cfg: Config{WarmIPTarget: 2}, stats: stats,
		hist: History{LastIncrease: testNow}, actions: release, excess: 2,
	}})

	d := Decide(Input{Stats: stats, Config: cfg, Limits: lim, Now: testNow,
		History: History{LastIncrease: testNow.Add(-10 * time.Second)}})
	if !strings.Contains(d.Reason, "held until 2030-01-01T12:00:20Z") {
		t.Errorf("reason %q does not say until when release is held", d.Reason)
	}
}

func TestDecideENIDeletion(t *testing.T) {
	lim := m5(t)
	runDecide(t, []decideCase{{
		name: "the primary ENI is never deleted, only its free blocks released", lim: lim,
		cfg:     Config{MinimumIPTarget: 2, WarmIPTarget: 1},
		stats:   mkStats(mkENI(0, ips(4, free)...)),
		actions: []string{"unassign-ips eni-0 2 [198.18.0.48/32 198.18.0.32/32]"}, excess: 2,
	}, {
		// WARM_ENI_TARGET=0 wants 1 available: the idle primary ENI would
		// do as well as eni-2 to go, but the primary stays.
		name: "the idle primary ENI is never deleted", lim: lim, cfg: Config{},
		stats: mkStats(mkENI(0, ips(9, free)...), mkENI(1, append(ips(1, used), ips(8, free)...)...),
			mkENI(2, ips(9, free)...)),
		actions: []string{"delete-eni eni-2"}, excess: 25,
	}, {
		name: "a busy ENI is not deleted; its free blocks go", lim: lim, cfg: Config{WarmIPTarget: 1},
		stats:   mkStats(mkENI(0, free), mkENI(1, used, free, free)),
		actions: []string{"unassign-ips eni-1 2 [198.18.1.32/32 198.18.1.16/32]"}, excess: 2,
	}, {
		name: "an idle secondary ENI goes whole, highest device index first", lim: lim, cfg: Config{WarmIPTarget: 3},
		stats:   mkStats(mkENI(0, used, free, free, free), mkENI(1, free, free), mkENI(2, free, free)),
		actions: []string{"delete-eni eni-2", "delete-eni eni-1"}, excess: 4,
	}, {
		name: "an idle ENI whose loss breaks the target loses blocks instead", lim: lim, cfg: Config{WarmIPTarget: 4},
		stats:   mkStats(mkENI(0, used, free), mkENI(1, free, free, free, free, free)),
		actions: []string{"unassign-ips eni-1 2 [198.18.1.64/32 198.18.1.48/32]"}, excess: 2,
	}, {
		// WARM_ENI_TARGET=1: 3 idle ENIs, one goes; the last two are
		// needed (available would drop below 9).
		name: "WARM_ENI_TARGET: more idle ENIs than the target", lim: lim, cfg: Config{WarmENITarget: 1},
		stats:   mkStats(mkENI(0, append(ips(1, used), ips(8, free)...)...), mkENI(1, ips(9, free)...), mkENI(2, ips(9, free)...)),
		actions: []string{"delete-eni eni-2"}, excess: 17,
	}, {
		// Enough available without eni-2, but it is the only idle ENI: the
		// pool keeps WARM_ENI_TARGET entirely free ENIs, and never releases
		// single addresses in this mode.
		name: "WARM_ENI_TARGET: the last idle ENI stays", lim: lim, cfg: Config{WarmENITarget: 1},
		stats: mkStats(mkENI(0, append(ips(1, used), ips(8, free)...)...),
			mkENI(1, append(ips(1, used), ips(8, free)...)...), mkENI(2, ips(9, free)...)),
		excess: 16,
	}, {
		name: "WARM_ENI_TARGET=0: every idle secondary ENI goes", lim: lim, cfg: Config{},
		stats:   mkStats(mkENI(0, append(ips(1, used), ips(8, free)...)...), mkENI(1, ips(9, free)...)),
		actions: []string{"delete-eni eni-1"}, excess: 16,
	}})
}

func TestDecidePrefixRounding(t *testing.T) {
	lim := limitsFor(t, "m5.large", 0, 110)
	pd := func(warm, min int) Config {
		return Config{PrefixDelegation: true, WarmPrefixTarget: 1, WarmIPTarget: warm, MinimumIPTarget: min}
	}
	runDecide(t, []decideCase{{
		name: "MINIMUM_IP_TARGET=20 is two /28s", lim: lim, cfg: pd(5, 20), stats: mkStats(mkENI(0)),
		actions: []string{"assign-prefixes eni-0 2"}, short: 20,
	}, {
		name: "one address short is a whole /28", lim: lim, cfg: pd(1, 0),
		stats:   mkStats(mkENI(0, blk{a: 16})),
		actions: []string{"assign-prefixes eni-0 1"}, short: 1,
	}, {
		name: "WARM_IP_TARGET overrides WARM_PREFIX_TARGET", lim: lim, cfg: pd(2, 0),
		stats: mkStats(mkENI(0, blk{a: 10, f: 6})), excess: 4,
	}, {
		name: "WARM_PREFIX_TARGET=2 is 32 available", lim: lim,
		cfg:     Config{PrefixDelegation: true, WarmPrefixTarget: 2},
		stats:   mkStats(mkENI(0, blk{a: 10, f: 6})),
		actions: []string{"assign-prefixes eni-0 2"}, short: 26,
	}, {
		// need 10+5 = 15: 48 -> 16 keeps 6 available.
		name: "release whole /28s down to the target", lim: lim, cfg: pd(5, 0),
		stats:   mkStats(mkENI(0, blk{a: 10, f: 6}, blk{f: 16}, blk{f: 16})),
		actions: []string{"unassign-prefixes eni-0 2 [198.18.0.32/28 198.18.0.16/28]"}, excess: 33,
	}, {
		// need 20: releasing a second /28 would leave 16.
		name: "never release below MINIMUM_IP_TARGET", lim: lim, cfg: pd(5, 20),
		stats:   mkStats(mkENI(0, blk{a: 10, f: 6}, blk{f: 16}, blk{f: 16})),
		actions: []string{"unassign-prefixes eni-0 1 [198.18.0.32/28]"}, excess: 28,
	}, {
		name: "a /28 with one cooling address stays", lim: lim, cfg: pd(1, 0),
		stats:   mkStats(mkENI(0, blk{f: 16}, blk{c: 1, f: 15})),
		actions: []string{"unassign-prefixes eni-0 1 [198.18.0.0/28]"}, excess: 30,
	}, {
		name: "a full ENI: the /28s go on a new ENI", lim: limitsFor(t, "t3.small", 0, 110), cfg: pd(20, 0),
		stats:   mkStats(mkENI(0, blk{a: 16}, blk{a: 16}, blk{a: 16})),
		actions: []string{"create-eni 2"}, short: 20,
	}, {
		// Left over from secondary mode: /32s count against the slots, and
		// free ones are released like prefixes.
		name: "mixed /32s and /28s", lim: limitsFor(t, "t3.small", 0, 110), cfg: pd(1, 0),
		stats:   mkStats(mkENI(0, free, free, blk{a: 3, f: 13})),
		actions: []string{"unassign-ips eni-0 2 [198.18.0.16/32 198.18.0.0/32]"}, excess: 14,
	}})
}
