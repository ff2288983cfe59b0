package manager

import (
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// TestPolicyClass drives the real policy into each limit it names and
// checks the class BlockedClass reports for it (the policy's BlockedBy).
func TestPolicyClass(t *testing.T) {
	m5, _ := cloud.BuiltinInstanceType("m5.large")
	tiny := cloud.InstanceTypeLimits{Type: "x1.tiny", MaxENIs: 2, IPv4PerENI: 1,
		NetworkCards: []cloud.NetworkCard{{MaxENIs: 2}}}
	for _, tc := range []struct {
		name   string
		limits pool.Limits
		fake   *cloud.InstanceTypeLimits
		cfg    pool.Config
		want   string
	}{
		{"max pods", pool.Limits{Type: m5, MaxENIs: 3, MaxPods: 3}, nil, pool.Config{WarmIPTarget: 5}, ClassMaxPods},
		{"MAX_ENI", pool.Limits{Type: m5, MaxENIs: 1, MaxPods: 110}, nil, pool.Config{WarmIPTarget: 20}, ClassMaxENI},
		{"ENI limit", pool.Limits{Type: m5, MaxENIs: 3, MaxPods: 110}, nil, pool.Config{WarmIPTarget: 40}, ClassENILimit},
		{"address limit", pool.Limits{Type: tiny, MaxENIs: 2, MaxPods: 4}, &tiny, pool.Config{WarmENITarget: 1},
			ClassAddressLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *setup) {
				c.opts.Limits, c.opts.Pool, c.cloud.Limits = tc.limits, tc.cfg, tc.fake
			})
			d := e.steady(20)
			if d.Blocked == "" {
				t.Fatalf("the policy is not blocked: %s", d.Reason)
			}
			if got := e.m.BlockedClass(); got != tc.want {
				t.Errorf("BlockedClass() = %q for %q, want %q", got, d.Blocked, tc.want)
			}
		})
	}
}
