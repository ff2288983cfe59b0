package manager

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/cloud/fake"
	hostfake "github.com/vpc-cni/vpc-cni/ipamd/hostnet/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// passUntil runs a pass in the background, cancels its context once ready
// holds, and fails unless the pass then returns (within the generous
// waitFor: the stop timeout is tiny).
func (e *env) passUntil(ready func() bool) {
	e.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); e.m.Pass(ctx) }()
	eventually(e.t, "the pass to reach the point of the stop", ready)
	cancel()
	select {
	case <-done:
	case <-time.After(waitFor):
		e.t.Fatal("the pass did not return after its context ended: the stop is not bounded")
	}
}

// ours returns the ENI the manager created, if any.
func (e *env) ours() (cloud.ENI, bool) {
	for _, c := range e.cloud.AllENIs() {
		if c.Tags[TagCreatedBy] == CreatedByValue {
			return c, true
		}
	}
	return cloud.ENI{}, false
}

// TestStopLeavesNewENIAttached: a stop while a new ENI waits for metadata
// leaves it attached (no detach, no delete); the next start's sync adopts
// it.
func TestStopLeavesNewENIAttached(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide; c.noClock = true; c.opts.StopTimeout = time.Millisecond })
	e.cloud.SetMetadataLag(time.Hour)
	polls := e.cloud.Calls(fake.OpMetadataENI)
	s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
	e.passUntil(func() bool { return e.cloud.Calls(fake.OpMetadataENI) > polls })
	c, ok := e.ours()
	if !ok || c.Attachment == nil || c.Attachment.State != cloud.Attached {
		t.Fatalf("the new ENI is %+v (found %v), want it left attached", c, ok)
	}
	if n := e.cloud.Calls(fake.OpDetachENI) + e.cloud.Calls(fake.OpDeleteENI); n != 0 {
		t.Errorf("%d detach and delete calls on a stop", n)
	}
	e.cloud.SetMetadataLag(0)
	e.clock.Advance(time.Hour)
	if _, err := e.m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(e.store.ENIs()) != 2 {
		t.Errorf("the sync did not adopt the ENI: %+v", e.store.ENIs())
	}
	e.checkGroundTruth()
}

// TestStopBoundsCleanup: the undo of a new ENI and the retirement of an
// ENI, caught by a stop while they wait for a detach that does not end,
// stop StopTimeout after the context (not after undoTimeout or
// DetachWait), leaving the ENI out of the datastore for the leaked-ENI
// cleanup.
func TestStopBoundsCleanup(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start func(e *env, s *script)
	}{
		{"undo", func(e *env, s *script) {
			e.host.SetFault(hostfake.OpSetupENI, errors.New("boom"), 0)
			s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
		}},
		{"retire", func(e *env, s *script) {
			s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
			e.m.Pass(context.Background())
			s.push(act(pool.Action{Kind: pool.DeleteENI, ENI: e.store.ENIs()[1].ID}))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s script
			e := newEnv(t, func(c *setup) {
				c.decide = s.decide
				c.noClock = true // the detach never completes
				c.cloud.DetachDelay = time.Hour
				c.opts.StopTimeout = time.Millisecond
			})
			tc.start(e, &s)
			lookups := e.cloud.Calls(fake.OpENIs)
			e.passUntil(func() bool {
				return e.cloud.Calls(fake.OpDetachENI) == 1 && e.cloud.Calls(fake.OpENIs) > lookups+2
			})
			c, ok := e.ours()
			if !ok || c.Attachment == nil || c.Attachment.State != cloud.Detaching {
				t.Errorf("the ENI is %+v (found %v), want it left detaching", c, ok)
			}
			if len(e.store.ENIs()) != 1 {
				t.Errorf("datastore %+v, want only the primary", e.store.ENIs())
			}
		})
	}
}
