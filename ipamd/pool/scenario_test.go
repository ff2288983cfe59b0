package pool

import (
	"reflect"
	"slices"
	"testing"
	"time"
)

// The table: for each configuration, the actions taken and the
// steady state from an empty pool, after 20 pods, and after those pods are
// deleted, cooled down and the release delay has passed. The numbers are
// worked out by hand from the AWS VPC CNI's documented semantics:
//
//   - m5.large: 3 ENIs x 10 IPv4 addresses, so 9 per ENI besides its
//     primary, 27 in all; max pods 29 (3*9+2), 110 with prefixes.
//   - t3.medium: 3 ENIs x 6, so 5 per ENI, 15 in all; max pods 17.
//   - c5.4xlarge: 8 ENIs x 30, so 29 per ENI; max pods 234, 110 with
//     prefixes.
func TestScenarios(t *testing.T) {
	const delay = time.Minute
	defaults := Config{WarmENITarget: 1, ReleaseDelay: delay}
	warmIP := Config{WarmENITarget: 1, WarmIPTarget: 5, MinimumIPTarget: 10, ReleaseDelay: delay}
	prefix := Config{WarmENITarget: 1, WarmPrefixTarget: 1, PrefixDelegation: true, ReleaseDelay: delay}
	tests := []struct {
		name             string
		typ              string
		cfg              Config
		maxENIs, maxPods int
		empty, pods20    phase
		deleted          phase
	}{{
		// (a) A full ENI's worth (9) of available addresses, ENIs filled to
		// their limit: 20 pods need 29, the ENI limit stops at 27.
		name: "a/secondary defaults", typ: "m5.large", cfg: defaults, maxPods: 29,
		empty: phase{Actions: []string{"assign-ips eni-0 9"}, ENIs: 1, Total: 9, Available: 9},
		pods20: phase{Actions: []string{"create-eni 9", "create-eni 9"}, ENIs: 3, Total: 27, Assigned: 20,
			Available: 7, Blocked: "ENI limit of m5.large reached (3 ENIs)"},
		deleted: phase{Actions: []string{"delete-eni eni-2", "delete-eni eni-1"}, ENIs: 1, Total: 9, Available: 9},
	}, {
		// (b) max(MINIMUM_IP_TARGET, pods + WARM_IP_TARGET): 10, then 25.
		name: "b/WARM_IP_TARGET=5 MINIMUM_IP_TARGET=10", typ: "m5.large", cfg: warmIP, maxPods: 29,
		empty: phase{Actions: []string{"assign-ips eni-0 9", "create-eni 1"}, ENIs: 2, Total: 10, Available: 10},
		pods20: phase{Actions: slices.Concat(repeat("assign-ips eni-1 1", 8), []string{"create-eni 1"},
			repeat("assign-ips eni-2 1", 6)), ENIs: 3, Total: 25, Assigned: 20, Available: 5},
		deleted: phase{Actions: []string{"delete-eni eni-2", "unassign-ips eni-1 8"}, ENIs: 2, Total: 10, Available: 10},
	}, {
		// (c) One /28's worth of available addresses: 16, then 20+16 -> 3 /28s.
		name: "c/prefix WARM_PREFIX_TARGET=1", typ: "m5.large", cfg: prefix, maxPods: 110,
		empty: phase{Actions: []string{"assign-prefixes eni-0 1"}, ENIs: 1, Total: 16, Available: 16},
		pods20: phase{Actions: repeat("assign-prefixes eni-0 1", 2), ENIs: 1, Total: 48, Assigned: 20,
			Available: 28},
		deleted: phase{Actions: []string{"unassign-prefixes eni-0 2"}, ENIs: 1, Total: 16, Available: 16},
	}, {
		// (d) One ENI: 9 pods fit, 11 find no address.
		name: "d/MAX_ENI=1", typ: "m5.large", cfg: defaults, maxENIs: 1, maxPods: 11,
		empty: phase{Actions: []string{"assign-ips eni-0 9"}, ENIs: 1, Total: 9, Available: 9},
		pods20: phase{ENIs: 1, Total: 9, Assigned: 9, Failed: 11,
			Blocked: "MAX_ENI=1 reached (m5.large allows 3 ENIs)"},
		deleted: phase{ENIs: 1, Total: 9, Available: 9},
	}, {
		// (e) kubelet's max pods of 20: the second new ENI gets only 2.
		name: "e/secondary at max pods", typ: "m5.large", cfg: defaults, maxPods: 20,
		empty: phase{Actions: []string{"assign-ips eni-0 9"}, ENIs: 1, Total: 9, Available: 9},
		pods20: phase{Actions: []string{"create-eni 9", "create-eni 2"}, ENIs: 3, Total: 20, Assigned: 20,
			Blocked: "max pods reached (20)"},
		deleted: phase{Actions: []string{"delete-eni eni-2", "delete-eni eni-1"}, ENIs: 1, Total: 9, Available: 9},
	}, {
		// (e) in prefix mode: the last /28 may pass max pods by less than one.
		name: "e/prefix at max pods", typ: "m5.large", cfg: prefix, maxPods: 20,
		empty: phase{Actions: []string{"assign-prefixes eni-0 1"}, ENIs: 1, Total: 16, Available: 16},
		pods20: phase{Actions: []string{"assign-prefixes eni-0 1"}, ENIs: 1, Total: 32, Assigned: 20,
			Available: 12, Blocked: "max pods reached (20)"},
		deleted: phase{Actions: []string{"unassign-prefixes eni-0 1"}, ENIs: 1, Total: 16, Available: 16},
	}, {
		// A small type: 15 addresses in all, 5 pods find none.
		name: "secondary defaults t3.medium", typ: "t3.medium", cfg: defaults, maxPods: 17,
		empty: phase{Actions: []string{"assign-ips eni-0 5"}, ENIs: 1, Total: 5, Available: 5},
		pods20: phase{Actions: []string{"create-eni 5", "create-eni 5"}, ENIs: 3, Total: 15, Assigned: 15,
			Failed: 5, Blocked: "ENI limit of t3.medium reached (3 ENIs)"},
		deleted: phase{Actions: []string{"delete-eni eni-2", "delete-eni eni-1"}, ENIs: 1, Total: 5, Available: 5},
	}, {
		name: "secondary defaults c5.4xlarge", typ: "c5.4xlarge", cfg: defaults, maxPods: 234,
		empty:   phase{Actions: []string{"assign-ips eni-0 29"}, ENIs: 1, Total: 29, Available: 29},
		pods20:  phase{Actions: []string{"create-eni 29"}, ENIs: 2, Total: 58, Assigned: 20, Available: 38},
		deleted: phase{Actions: []string{"delete-eni eni-1"}, ENIs: 1, Total: 29, Available: 29},
	}, {
		name: "WARM_IP_TARGET=5 MINIMUM_IP_TARGET=10 c5.4xlarge", typ: "c5.4xlarge", cfg: warmIP, maxPods: 234,
		empty:   phase{Actions: []string{"assign-ips eni-0 10"}, ENIs: 1, Total: 10, Available: 10},
		pods20:  phase{Actions: repeat("assign-ips eni-0 1", 15), ENIs: 1, Total: 25, Assigned: 20, Available: 5},
		deleted: phase{Actions: []string{"unassign-ips eni-0 15"}, ENIs: 1, Total: 10, Available: 10},
	}, {
		name: "prefix WARM_PREFIX_TARGET=1 c5.4xlarge", typ: "c5.4xlarge", cfg: prefix, maxPods: 110,
		empty: phase{Actions: []string{"assign-prefixes eni-0 1"}, ENIs: 1, Total: 16, Available: 16},
		pods20: phase{Actions: repeat("assign-prefixes eni-0 1", 2), ENIs: 1, Total: 48, Assigned: 20,
			Available: 28},
		deleted: phase{Actions: []string{"unassign-prefixes eni-0 2"}, ENIs: 1, Total: 16, Available: 16},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSim(t, limitsFor(t, tc.typ, tc.maxENIs, tc.maxPods), tc.cfg)
			s.settle()
			check(t, "from empty", s.phase(), tc.empty)

			for range 20 {
				s.addPod()
			}
			check(t, "after 20 pods", s.phase(), tc.pods20)

			// Deleted but cooling, within the release delay: nothing goes.
			before := s.stats()
			s.deleteAll()
			s.settle()
			if got := s.phase(); len(got.Actions) != 0 || got.Total != before.Total {
				t.Errorf("right after the pods are deleted: actions %q, total %d (was %d); want none, unchanged",
					got.Actions, got.Total, before.Total)
			}

			s.now = s.now.Add(max(s.cooldown, delay) + time.Second)
			s.settle()
			check(t, "after the pods are deleted", s.phase(), tc.deleted)
		})
	}
}

func check(t *testing.T, when string, got, want phase) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", when, got, want)
	}
}
