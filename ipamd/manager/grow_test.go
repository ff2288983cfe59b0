package manager

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// TestIMDSLagHoldsAddressesBack: addresses EC2 assigned are not in the
// datastore (so cannot be handed out) until instance metadata shows them.
func TestIMDSLagHoldsAddressesBack(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide; c.noClock = true })
	e.cloud.SetMetadataLag(10 * time.Second)
	s.push(act(pool.Action{Kind: pool.AssignIPs, ENI: e.primary(), Count: 3}))
	done := make(chan struct{})
	go func() { defer close(done); e.m.Pass(context.Background()) }()

	polls := e.cloud.Calls(fake.OpMetadataENI)
	eventually(t, "metadata polled a few times", func() bool { return e.cloud.Calls(fake.OpMetadataENI) >= polls+3 })
	if c, _ := e.cloud.ENI(e.primary()); len(c.SecondaryIPs) != 3 {
		t.Fatalf("EC2 has %d secondary addresses, want 3", len(c.SecondaryIPs))
	}
	if got := e.storeBlocks(e.primary()); len(got) != 0 {
		t.Fatalf("datastore has %v before metadata shows them", got)
	}
	if st := e.store.Stats(); st.Available != 0 {
		t.Fatalf("datastore offers %d addresses before metadata shows them", st.Available)
	}
	e.clock.Advance(10 * time.Second)
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("the pass did not end after metadata caught up")
	}
	if got := e.storeBlocks(e.primary()); len(got) != 3 {
		t.Fatalf("datastore has %v, want the 3 addresses", got)
	}
	e.checkGroundTruth()
	if got := e.obs.outcomes(); !slices.Equal(got, []string{"assign-ips ok"}) {
		t.Errorf("outcomes %v", got)
	}
}

// TestIMDSTimeoutLeavesAddressesToSync: when metadata does not catch up
// within IMDSWait the addresses stay out of the datastore; a later Sync
// adopts them once metadata shows them.
func TestIMDSTimeoutLeavesAddressesToSync(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide; c.noClock = true; c.opts.IMDSWait = time.Minute })
	e.cloud.SetMetadataLag(5 * time.Minute)
	s.push(act(pool.Action{Kind: pool.AssignPrefixes, ENI: e.primary(), Count: 1}))
	done := make(chan struct{})
	go func() { defer close(done); e.m.Pass(context.Background()) }()
	polls := e.cloud.Calls(fake.OpMetadataENI)
	eventually(t, "metadata polled", func() bool { return e.cloud.Calls(fake.OpMetadataENI) > polls })
	e.clock.Advance(time.Minute + time.Second)
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("the pass did not give up after IMDSWait")
	}
	if got := e.storeBlocks(e.primary()); len(got) != 0 {
		t.Fatalf("datastore has %v though metadata never showed them", got)
	}
	if got := e.obs.outcomes(); !slices.Equal(got, []string{"assign-prefixes metadata-timeout"}) {
		t.Errorf("outcomes %v", got)
	}
	if !e.m.syncDue() {
		t.Error("a metadata timeout did not ask for a sync")
	}

	rep, err := e.m.Sync(context.Background()) // metadata still behind: nothing to adopt yet
	if err != nil || len(rep.AddedBlocks) != 0 {
		t.Fatalf("sync while metadata lags: %+v, %v", rep, err)
	}
	e.clock.Advance(5 * time.Minute)
	rep, err = e.m.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.AddedBlocks[e.primary()]; len(got) != 1 || got[0].Bits() != 28 {
		t.Fatalf("sync added %v, want the /28", rep.AddedBlocks)
	}
	e.checkGroundTruth()
}

// TestGrowsENIsConcurrently: one pass grows several ENIs, each waiting for
// metadata on its own.
func TestGrowsENIsConcurrently(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide })
	other := e.addENI(1, 0, nil)
	if _, err := e.m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.push(act(
		pool.Action{Kind: pool.AssignIPs, ENI: e.primary(), Count: 4},
		pool.Action{Kind: pool.AssignIPs, ENI: other.ID, Count: 5},
	))
	e.m.Pass(context.Background())
	if n := len(e.storeBlocks(e.primary())); n != 4 {
		t.Errorf("primary has %d blocks, want 4", n)
	}
	if n := len(e.storeBlocks(other.ID)); n != 5 {
		t.Errorf("%s has %d blocks, want 5", other.ID, n)
	}
	e.checkGroundTruth()
}

// TestWakeRunsAPassAtOnce: with an hour between timed passes, a Wake runs
// one without waiting; Run ends with its context.
func TestWakeRunsAPassAtOnce(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide })
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- e.m.Run(ctx) }()
	eventually(t, "the first pass", func() bool { return s.count() == 1 })
	s.push(act(pool.Action{Kind: pool.AssignIPs, ENI: e.primary(), Count: 2}))
	e.m.Wake()
	e.m.Wake() // coalesces; never blocks
	eventually(t, "the woken pass", func() bool { return len(e.storeBlocks(e.primary())) == 2 })
	cancel()
	select {
	case err := <-ran:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Run did not end with its context")
	}
}
