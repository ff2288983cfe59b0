package manager

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// steady runs passes until the policy asks for nothing more (at most
// limit passes) and returns the last decision.
func (e *env) steady(limit int) pool.Decision {
	e.t.Helper()
	for range limit {
		if d := e.m.Pass(context.Background()); len(d.Actions) == 0 {
			return d
		}
	}
	e.t.Fatalf("the pool is not steady after %d passes: %s", limit, e.m.State().LastDecision.Reason)
	return pool.Decision{}
}

// counts returns the managed ENIs and their blocks.
func (e *env) counts() (enis, blocks int) {
	for _, s := range e.store.ENIs() {
		enis++
		blocks += len(s.Blocks)
	}
	return enis, blocks
}

// schedule assigns n pods, running a pass whenever the pool is empty, as
// ADDs that wake the manager would.
func (e *env) schedule(n int) []datastore.Key {
	e.t.Helper()
	var keys []datastore.Key
	for i := range n {
		key := datastore.Key{ContainerID: fmt.Sprintf("pod-%03d", i), IfName: "eth0"}
		for try := 0; ; try++ {
			_, err := e.store.Assign(key, datastore.Pod{Namespace: "default", Name: key.ContainerID})
			if err == nil {
				break
			}
			if !errors.Is(err, datastore.ErrNoAddress) || try > 10 {
				e.t.Fatalf("pod %d: %v (%s)", i, err, e.m.State().LastDecision.Reason)
			}
			e.m.Pass(context.Background())
		}
		keys = append(keys, key)
	}
	e.steady(20)
	return keys
}

// TestGrowsToPolicyTarget drives the real policy, datastore and fake cloud
// from an empty pool, through pods arriving and leaving, and checks the
// pool the AWS VPC CNI's documentation gives for a t3.small (3 ENIs of 4
// addresses) at each step, with the datastore equal to the cloud.
func TestGrowsToPolicyTarget(t *testing.T) {
	eni1 := pool.Config{WarmENITarget: 1}
	ip25 := pool.Config{WarmENITarget: 1, WarmIPTarget: 2, MinimumIPTarget: 5}
	pfx := pool.Config{PrefixDelegation: true, WarmPrefixTarget: 1}
	type step struct{ enis, blocks int }
	for _, tc := range []struct {
		name    string
		cfg     pool.Config
		pods    int
		empty   step // from an empty pool
		busy    step // with the pods
		after   step // once the pods are gone and the excess released
		maxPods int
	}{
		{"WARM_ENI_TARGET=1", eni1, 5, step{1, 3}, step{3, 9}, step{1, 3}, 11},
		{"WARM_IP_TARGET=2 MINIMUM_IP_TARGET=5", ip25, 5, step{2, 5}, step{3, 7}, step{2, 5}, 11},
		{"WARM_PREFIX_TARGET=1", pfx, 17, step{1, 1}, step{1, 3}, step{1, 1}, 110},
		{"max pods", eni1, 11, step{1, 3}, step{3, 9}, step{1, 3}, 9},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *setup) {
				c.cloud.InstanceType = "t3.small"
				c.opts.Pool = tc.cfg
				c.opts.Pool.ReleaseDelay = time.Minute
				c.noClock = true
			})
			e.m.opts.Limits.MaxPods = tc.maxPods
			e.steady(20)
			if n, b := e.counts(); n != tc.empty.enis || b != tc.empty.blocks {
				t.Errorf("empty pool: %d ENIs, %d blocks; want %d, %d", n, b, tc.empty.enis, tc.empty.blocks)
			}
			e.checkGroundTruth()

			pods := tc.pods
			if tc.maxPods < pods {
				pods = tc.maxPods
			}
			keys := e.schedule(pods)
			if n, b := e.counts(); n != tc.busy.enis || b != tc.busy.blocks {
				t.Errorf("%d pods: %d ENIs, %d blocks; want %d, %d", pods, n, b, tc.busy.enis, tc.busy.blocks)
			}
			e.checkGroundTruth()

			for _, k := range keys {
				if _, _, err := e.store.Release(k); err != nil {
					t.Fatal(err)
				}
			}
			e.clock.Advance(2 * time.Minute) // past the cooldown and the release delay
			e.steady(20)
			if n, b := e.counts(); n != tc.after.enis || b != tc.after.blocks {
				t.Errorf("pods gone: %d ENIs, %d blocks; want %d, %d", n, b, tc.after.enis, tc.after.blocks)
			}
			e.checkGroundTruth()
			if leaked := len(e.cloud.AllENIs()) - len(e.store.ENIs()); leaked != 0 {
				t.Errorf("%d ENIs in the cloud that the datastore does not manage", leaked)
			}
		})
	}
}

// TestMaxPodsBlocked: at max pods with every address assigned, Blocked
// passes the policy's cause through as permanent.
func TestMaxPodsBlocked(t *testing.T) {
	e := newEnv(t, func(c *setup) { c.cloud.InstanceType = "t3.small"; c.noClock = true })
	e.m.opts.Limits.MaxPods = 3
	e.steady(20)
	e.schedule(3)
	cause, permanent := e.m.Blocked()
	if cause != "max pods reached (3)" || !permanent {
		t.Errorf("Blocked() = %q, %v", cause, permanent)
	}
}
