package pool

import (
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// The example tables of the AWS VPC CNI's docs/eni-and-ip-target.md and
// docs/prefix-and-ip-target.md, reproduced pod by pod from an empty pool:
// for each row, the ENIs and the addresses (or /28s) attached once the pool
// is steady with that many pods.
func TestAWSDocTables(t *testing.T) {
	// p3dn.24xlarge is not in the built-in table: 15 ENIs x 50 addresses,
	// as the EC2 documentation lists it.
	p3dn := Limits{
		Type: cloud.InstanceTypeLimits{
			Type: "p3dn.24xlarge", MaxENIs: 15, IPv4PerENI: 50,
			NetworkCards: []cloud.NetworkCard{{Index: 0, MaxENIs: 15}},
			Hypervisor:   cloud.HypervisorNitro,
		},
		MaxENIs: 15, MaxPods: 250,
	}
	t3small := limitsFor(t, "t3.small", 0, 110)
	eni := func(n int) Config { return Config{WarmENITarget: n} }
	ip := func(warm, min int) Config { return Config{WarmENITarget: 1, WarmIPTarget: warm, MinimumIPTarget: min} }
	pfx := func(c Config) Config { c.PrefixDelegation = true; c.WarmPrefixTarget = 1; return c }
	wpt := pfx(Config{})

	tests := []struct {
		name   string
		lim    Limits
		cfg    Config
		pods   int
		enis   int // 0: not checked (see below)
		blocks int // secondary addresses, or /28 prefixes
	}{
		// eni-and-ip-target.md
		{"t3.small WARM_ENI_TARGET=1", t3small, eni(1), 0, 1, 3},
		{"t3.small WARM_ENI_TARGET=1", t3small, eni(1), 5, 3, 9},
		{"t3.small WARM_ENI_TARGET=1", t3small, eni(1), 9, 3, 9},
		{"t3.small WARM_IP_TARGET=1 MINIMUM_IP_TARGET=1", t3small, ip(1, 1), 0, 1, 1},
		{"t3.small WARM_IP_TARGET=1 MINIMUM_IP_TARGET=1", t3small, ip(1, 1), 5, 2, 6},
		{"t3.small WARM_IP_TARGET=1 MINIMUM_IP_TARGET=1", t3small, ip(1, 1), 9, 3, 9},
		{"t3.small WARM_IP_TARGET=2 MINIMUM_IP_TARGET=5", t3small, ip(2, 5), 0, 2, 5},
		{"t3.small WARM_IP_TARGET=2 MINIMUM_IP_TARGET=5", t3small, ip(2, 5), 5, 3, 7},
		{"t3.small WARM_IP_TARGET=2 MINIMUM_IP_TARGET=5", t3small, ip(2, 5), 9, 3, 9},
		{"p3dn.24xlarge WARM_ENI_TARGET=1", p3dn, eni(1), 0, 1, 49},
		{"p3dn.24xlarge WARM_ENI_TARGET=1", p3dn, eni(1), 3, 2, 98},
		{"p3dn.24xlarge WARM_ENI_TARGET=1", p3dn, eni(1), 95, 3, 147},
		{"p3dn.24xlarge WARM_IP_TARGET=5 MINIMUM_IP_TARGET=10", p3dn, ip(5, 10), 0, 1, 10},
		{"p3dn.24xlarge WARM_IP_TARGET=5 MINIMUM_IP_TARGET=10", p3dn, ip(5, 10), 7, 1, 12},
		{"p3dn.24xlarge WARM_IP_TARGET=5 MINIMUM_IP_TARGET=10", p3dn, ip(5, 10), 15, 1, 20},
		{"p3dn.24xlarge WARM_IP_TARGET=5 MINIMUM_IP_TARGET=10", p3dn, ip(5, 10), 45, 2, 50},

		// prefix-and-ip-target.md
		{"t3.small WARM_PREFIX_TARGET=1", t3small, wpt, 0, 1, 1},
		{"t3.small WARM_PREFIX_TARGET=1", t3small, wpt, 5, 1, 2},
		{"t3.small WARM_PREFIX_TARGET=1", t3small, wpt, 16, 1, 2},
		{"t3.small WARM_PREFIX_TARGET=1", t3small, wpt, 17, 1, 3},
		{"t3.small WARM_PREFIX_TARGET=1", t3small, wpt, 58, 2, 5},
		{"t3.small prefix WARM_IP_TARGET=1 MINIMUM_IP_TARGET=1", t3small, pfx(ip(1, 1)), 0, 1, 1},
		{"t3.small prefix WARM_IP_TARGET=1 MINIMUM_IP_TARGET=1", t3small, pfx(ip(1, 1)), 5, 1, 1},
		{"t3.small prefix WARM_IP_TARGET=1 MINIMUM_IP_TARGET=1", t3small, pfx(ip(1, 1)), 17, 1, 2},
		{"t3.small prefix WARM_IP_TARGET=1 MINIMUM_IP_TARGET=1", t3small, pfx(ip(1, 1)), 58, 2, 4},
		// The doc's row for 0 pods says 1 attached prefix but 2 per ENI and
		// 16 unused addresses; MINIMUM_IP_TARGET=20 needs two /28s.
		{"t3.small prefix WARM_IP_TARGET=7 MINIMUM_IP_TARGET=20", t3small, pfx(ip(7, 20)), 0, 1, 2},
		{"t3.small prefix WARM_IP_TARGET=7 MINIMUM_IP_TARGET=20", t3small, pfx(ip(7, 20)), 5, 1, 2},
		{"t3.small prefix WARM_IP_TARGET=7 MINIMUM_IP_TARGET=20", t3small, pfx(ip(7, 20)), 17, 1, 2},
		{"t3.small prefix WARM_IP_TARGET=7 MINIMUM_IP_TARGET=20", t3small, pfx(ip(7, 20)), 58, 2, 5},
		// The doc's p3dn rows also count an empty ENI the AWS CNI attaches
		// for WARM_ENI_TARGET in prefix mode; we attach none, so only the
		// prefixes are compared.
		{"p3dn.24xlarge WARM_PREFIX_TARGET=1", p3dn, wpt, 0, 0, 1},
		{"p3dn.24xlarge WARM_PREFIX_TARGET=1", p3dn, wpt, 3, 0, 2},
		{"p3dn.24xlarge WARM_PREFIX_TARGET=1", p3dn, wpt, 95, 0, 7},
		{"p3dn.24xlarge prefix WARM_IP_TARGET=5 MINIMUM_IP_TARGET=10", p3dn, pfx(ip(5, 10)), 0, 0, 1},
		{"p3dn.24xlarge prefix WARM_IP_TARGET=5 MINIMUM_IP_TARGET=10", p3dn, pfx(ip(5, 10)), 7, 0, 1},
		{"p3dn.24xlarge prefix WARM_IP_TARGET=5 MINIMUM_IP_TARGET=10", p3dn, pfx(ip(5, 10)), 15, 0, 2},
		{"p3dn.24xlarge prefix WARM_IP_TARGET=5 MINIMUM_IP_TARGET=10", p3dn, pfx(ip(5, 10)), 45, 0, 4},
	}
	for _, tc := range tests {
		s := newSim(t, tc.lim, tc.cfg)
		s.settle()
		for range tc.pods {
			s.addPod()
		}
		blocks := 0
		for _, e := range s.stats().ENIs {
			blocks += len(e.Blocks)
		}
		if (tc.enis != 0 && len(s.enis) != tc.enis) || blocks != tc.blocks || s.failed != 0 {
			t.Errorf("%s, %d pods: %d ENIs, %d blocks, %d failed ADDs; want %d ENIs, %d blocks, none failed",
				tc.name, tc.pods, len(s.enis), blocks, s.failed, tc.enis, tc.blocks)
		}
	}
}
