package manager

import (
	"errors"
	"sync"
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

// TestBlockedStateConsistent: while the pool's state flips between a
// policy limit and a backoff, every BlockedState gives a cause and a class
// that belong together.
func TestBlockedStateConsistent(t *testing.T) {
	lim, _ := cloud.BuiltinInstanceType("m5.large")
	m := New(Deps{}, Options{Limits: pool.Limits{Type: lim, MaxENIs: 3, MaxPods: 29}})
	m.failed(ClassThrottled, pool.AssignIPs, "subnet-1", errors.New("slow down"), epoch)
	limit := pool.Decision{Short: 4, Blocked: "max pods reached (29)", BlockedBy: pool.LimitMaxPods}
	short := pool.Decision{Short: 4}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			m.mu.Lock()
			m.last = [2]pool.Decision{limit, short}[i%2]
			m.mu.Unlock()
		}
	})
	defer func() { close(done); wg.Wait() }()
	want := map[string]string{"max pods reached (29)": ClassMaxPods, "EC2 throttling; retrying": ClassThrottled}
	for range 2000 {
		cause, class, _ := m.BlockedState()
		if want[cause] != class {
			t.Fatalf("BlockedState() = %q, %q: the class is not the cause's", cause, class)
		}
	}
}
