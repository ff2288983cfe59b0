package manager

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/cloud/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// unknownOutcome is the error cloud/aws returns for a call whose first
// attempt took effect and lost its answer and whose retries all got code
// (the SDK returns the last attempt's error): EC2's refusal, and
// cloud.ErrOutcomeUnknown besides.
func unknownOutcome(op fake.Op, code string) error {
	return fmt.Errorf("%w (%w)", fake.InjectedError(op, code), cloud.ErrOutcomeUnknown)
}

// TestOutcomeUnknownUnassign: an unassign whose error carries
// ErrOutcomeUnknown keeps its blocks out of the pool even when the final
// answer was a refusal (throttling, a retry refused), and the settling
// sync puts back only what the cloud still has.
func TestOutcomeUnknownUnassign(t *testing.T) {
	for _, tc := range []struct {
		name     string
		applied  bool
		code     string
		wantLeft int
	}{
		{"applied, then throttled", true, "RequestLimitExceeded", 2},
		{"applied, then a retry refused", true, "InvalidParameterValue", 2},
		{"not applied, throttled", false, "RequestLimitExceeded", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s script
			e := grown(t, &s, 3, func(c *setup) { c.noClock = true })
			victim := sortedBlocks(e.storeBlocks(e.primary()))[:1]
			err := unknownOutcome(fake.OpUnassignIPs, tc.code)
			if tc.applied {
				e.cloud.SetFaultAfter(fake.OpUnassignIPs, err, 1)
			} else {
				e.cloud.SetFault(fake.OpUnassignIPs, err, 1)
			}
			s.push(act(pool.Action{Kind: pool.UnassignIPs, ENI: e.primary(), Blocks: victim}))
			e.m.Pass(context.Background())
			if slices.Contains(e.storeBlocks(e.primary()), victim[0]) {
				t.Fatalf("the victim %s went back into the pool", victim[0])
			}
			for _, ip := range e.assignAll() {
				if ip == victim[0].Addr() {
					t.Errorf("a pod was handed %s, whose unassign may have taken effect", ip)
				}
			}
			e.clock.Advance(DefaultReconcileCooldown + time.Second)
			if _, err := e.m.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := len(e.storeBlocks(e.primary())); got != tc.wantLeft {
				t.Errorf("%d blocks after the settling sync, want %d", got, tc.wantLeft)
			}
			e.checkGroundTruth()
		})
	}
}

// TestOutcomeUnknownDetach: a retirement whose detach error carries
// ErrOutcomeUnknown behind a refusal (throttled retries after the detach
// took effect) does not put the ENI back into the pool: it is looked up,
// found detaching, and deleted.
func TestOutcomeUnknownDetach(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide; c.cloud.DetachDelay = 10 * time.Second })
	s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
	e.m.Pass(context.Background())
	id := e.store.ENIs()[1].ID
	e.cloud.SetFaultAfter(fake.OpDetachENI, unknownOutcome(fake.OpDetachENI, "RequestLimitExceeded"), 1)
	s.push(act(pool.Action{Kind: pool.DeleteENI, ENI: id}))
	e.m.Pass(context.Background())
	if slices.ContainsFunc(e.store.ENIs(), func(s datastore.ENI) bool { return s.ID == id }) {
		t.Errorf("%s went back into the pool though it is detaching", id)
	}
	if _, ok := e.cloud.ENI(id); ok {
		t.Errorf("%s was not deleted", id)
	}
	e.checkGroundTruth()
}

// TestOutcomeUnknownCreateAttach: a create or an attach whose error
// carries ErrOutcomeUnknown behind a refusal is looked into: the create's
// ENI is found by its token and deleted; the attach that took effect goes
// on into the pool.
func TestOutcomeUnknownCreateAttach(t *testing.T) {
	t.Run("create", func(t *testing.T) {
		var s script
		e := newEnv(t, func(c *setup) { c.decide = s.decide })
		e.cloud.SetFaultAfter(fake.OpCreateENI, unknownOutcome(fake.OpCreateENI, "RequestLimitExceeded"), 1)
		s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
		e.m.Pass(context.Background())
		e.onlyPrimary()
	})
	t.Run("attach", func(t *testing.T) {
		var s script
		e := newEnv(t, func(c *setup) { c.decide = s.decide })
		e.cloud.SetFaultAfter(fake.OpAttachENI, unknownOutcome(fake.OpAttachENI, "RequestLimitExceeded"), 1)
		s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
		e.m.Pass(context.Background())
		if got := e.obs.outcomes(); got[len(got)-1] != "create-eni ok" {
			t.Errorf("outcomes %v, want the create to go on", got)
		}
		if n := len(e.store.ENIs()); n != 2 {
			t.Errorf("datastore has %d ENIs, want the new one too", n)
		}
		e.checkGroundTruth()
	})
}

// TestOutcomeUnknownAssign: an assign that may have taken effect asks for
// a sync, which adopts the addresses EC2 and metadata show instead of
// leaving them unused until the periodic one.
func TestOutcomeUnknownAssign(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide; c.noClock = true })
	e.cloud.SetFaultAfter(fake.OpAssignIPs, unknownOutcome(fake.OpAssignIPs, "RequestLimitExceeded"), 1)
	s.push(act(pool.Action{Kind: pool.AssignIPs, ENI: e.primary(), Count: 2}))
	e.m.Pass(context.Background())
	if !e.m.syncDue() {
		t.Fatal("no sync due after an assign that may have taken effect")
	}
	if _, err := e.m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := len(e.storeBlocks(e.primary())); got != 2 {
		t.Errorf("%d blocks after the sync, want the 2 EC2 assigned", got)
	}
	e.checkGroundTruth()
}
