package manager

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/cloud/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	hostfake "github.com/vpc-cni/vpc-cni/ipamd/hostnet/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// TestDetachLostAnswerStaleListing: after a detach whose answer was lost,
// a listing that still shows the ENI attached may only lag the detach, so
// it does not put the ENI back into the pool: the ENI stays out until the
// sync due at the end of its reconcile cooldown, which adopts it again
// only if it is still attached. Only a definite refusal puts it back at
// once.
func TestDetachLostAnswerStaleListing(t *testing.T) {
	internal := fake.InjectedError(fake.OpDetachENI, "InternalError")
	for _, tc := range []struct {
		name    string
		fault   func(c *fake.Cloud)
		applied bool // the detach took effect in EC2
		putBack bool // the ENI is back in the datastore at once
		adopted bool // the settling sync adopts it again
	}{
		{"took effect, listing stale", func(c *fake.Cloud) { c.SetFaultAfter(fake.OpDetachENI, internal, 1) },
			true, false, false},
		{"did not take effect", func(c *fake.Cloud) { c.SetFault(fake.OpDetachENI, internal, 1) },
			false, false, true},
		{"refused", func(c *fake.Cloud) {
			c.SetFault(fake.OpDetachENI, fake.InjectedError(fake.OpDetachENI, "RequestLimitExceeded"), 1)
		}, false, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s script
			sl := &staleList{lookups: true}
			e := newEnv(t, func(c *setup) {
				c.decide = s.decide
				c.noClock = true
				c.cloud.DetachDelay = 10 * time.Second
			}, withStaleList(sl))
			s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
			e.m.Pass(context.Background())
			if len(e.store.ENIs()) != 2 {
				t.Fatalf("setup: datastore %+v", e.store.ENIs())
			}
			id := e.store.ENIs()[1].ID
			inStore := func() bool {
				return slices.ContainsFunc(e.store.ENIs(), func(s datastore.ENI) bool { return s.ID == id })
			}
			sl.freeze(t, e.cloud.Instance().ID)
			sl.setStale(true)
			tc.fault(e.cloud)
			s.push(act(pool.Action{Kind: pool.DeleteENI, ENI: id}))
			e.m.Pass(context.Background())
			c, _ := e.cloud.ENI(id)
			if detaching := c.Attachment != nil && c.Attachment.State == cloud.Detaching; detaching != tc.applied {
				t.Fatalf("setup: attachment %+v, want detaching %v", c.Attachment, tc.applied)
			}
			if got := inStore(); got != tc.putBack {
				t.Fatalf("in the datastore %v after the detach, want %v", got, tc.putBack)
			}
			// A sync within the cooldown, its listing still stale.
			e.clock.Advance(DefaultReconcileCooldown / 2)
			if _, err := e.m.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := inStore(); got != tc.putBack {
				t.Errorf("in the datastore %v after an early sync, want %v", got, tc.putBack)
			}
			// The listing catches up; the sync due when the cooldown ends
			// settles it.
			e.clock.Advance(DefaultReconcileCooldown)
			sl.setStale(false)
			if !e.m.syncDue() {
				t.Error("no sync due once the cooldown has run out")
			}
			if _, err := e.m.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := inStore(); got != tc.adopted {
				t.Errorf("in the datastore %v after the settling sync, want %v", got, tc.adopted)
			}
			e.checkGroundTruth()
		})
	}
}

// detachLag is the fake behind a DescribeNetworkInterfaces that lags every
// detach: it lists a detaching ENI as still attached.
type detachLag struct{ cloud.ENIAPI }

func (d detachLag) ENIs(ctx context.Context, f cloud.ENIFilter) ([]cloud.ENI, error) {
	enis, err := d.ENIAPI.ENIs(ctx, f)
	return stillAttached(enis), err
}

func (d detachLag) InstanceENIs(ctx context.Context, id string) ([]cloud.ENI, error) {
	enis, err := d.ENIAPI.InstanceENIs(ctx, id)
	return stillAttached(enis), err
}

func stillAttached(enis []cloud.ENI) []cloud.ENI {
	for i, e := range enis {
		if e.Attachment != nil && e.Attachment.State == cloud.Detaching {
			a := *e.Attachment
			a.State = cloud.Attached
			enis[i].Attachment = &a
		}
	}
	return enis
}

// TestUndoDetachLostAnswerStaleListing: the undo of a new ENI whose detach
// lost its answer, with a listing that still shows the ENI attached, does
// not leave it for the next sync to adopt at once: it may be on its way
// out. The sync at the end of its cooldown finds it detached and leaves it
// to the leaked-ENI cleanup.
func TestUndoDetachLostAnswerStaleListing(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) {
		c.decide = s.decide
		c.noClock = true
		c.cloud.DetachDelay = 10 * time.Second
		c.ec2 = func(f *fake.Cloud) cloud.ENIAPI { return detachLag{f} }
	})
	e.host.SetFault(hostfake.OpSetupENI, errors.New("boom"), 0)
	e.cloud.SetFaultAfter(fake.OpDetachENI, fake.InjectedError(fake.OpDetachENI, "InternalError"), 1)
	s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
	e.m.Pass(context.Background())
	all := e.cloud.AllENIs()
	if len(all) != 2 || all[1].Attachment == nil || all[1].Attachment.State != cloud.Detaching {
		t.Fatalf("setup: cloud has %+v, want the new ENI detaching", all)
	}
	id := all[1].ID
	e.host.SetFault(hostfake.OpSetupENI, nil, 0)
	if _, err := e.m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if slices.ContainsFunc(e.store.ENIs(), func(s datastore.ENI) bool { return s.ID == id }) {
		t.Fatalf("a sync with a lagging listing adopted %s, which is detaching", id)
	}
	e.clock.Advance(DefaultReconcileCooldown)
	if !e.m.syncDue() {
		t.Error("no sync due once the cooldown has run out")
	}
	if _, err := e.m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(e.store.ENIs()); n != 1 {
		t.Errorf("datastore has %d ENIs after the settling sync, want the primary only", n)
	}
	e.checkGroundTruth()
}
