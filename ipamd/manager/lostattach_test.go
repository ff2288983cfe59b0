package manager

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/cloud/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	hostfake "github.com/vpc-cni/vpc-cni/ipamd/hostnet/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// TestAttachLostAnswer: an attach whose answer is lost is looked into:
// when it took effect the new ENI goes on into the pool; when EC2 cannot
// tell, the undo does not retry a delete of the attached ENI for
// DetachWait but leaves it to Sync, which adopts it.
func TestAttachLostAnswer(t *testing.T) {
	lost := fmt.Errorf("attach: %w", context.DeadlineExceeded)
	for _, tc := range []struct {
		name      string
		fault     func(c *fake.Cloud)
		wantOut   string
		wantSyncs bool // the ENI comes into the pool only by a sync
	}{
		{"found attached", func(c *fake.Cloud) { c.SetFaultAfter(fake.OpAttachENI, lost, 1) }, "create-eni ok", false},
		{"5xx after the attach, found attached", func(c *fake.Cloud) {
			c.SetFaultAfter(fake.OpAttachENI, fake.InjectedError(fake.OpAttachENI, "InternalError"), 1)
		}, "create-eni ok", false},
		{"cannot be looked up", func(c *fake.Cloud) {
			c.SetFaultAfter(fake.OpAttachENI, lost, 1)
			c.SetFault(fake.OpENIs, fake.InjectedError(fake.OpENIs, "InternalError"), 0)
		}, "create-eni canceled", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s script
			e := newEnv(t, func(c *setup) { c.decide = s.decide })
			tc.fault(e.cloud)
			s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
			e.m.Pass(context.Background())
			if got := e.obs.outcomes(); got[len(got)-1] != tc.wantOut {
				t.Errorf("outcomes %v, want last %q", got, tc.wantOut)
			}
			if got := e.cloud.Calls(fake.OpDeleteENI); got > 1 {
				t.Errorf("%d DeleteENI calls: a delete of an attached ENI was retried", got)
			}
			if tc.wantSyncs {
				if n := len(e.store.ENIs()); n != 1 {
					t.Fatalf("datastore has %d ENIs before the sync", n)
				}
				if !e.m.syncDue() {
					t.Error("no sync due")
				}
				e.cloud.ClearFaults()
				if _, err := e.m.Sync(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			if n := len(e.store.ENIs()); n != 2 {
				t.Errorf("datastore has %d ENIs, want the new one too", n)
			}
			if len(e.cloud.AllENIs()) != 2 {
				t.Errorf("cloud has %+v", e.cloud.AllENIs())
			}
			e.checkGroundTruth()
		})
	}
}

// flakyENIs fails ENIs lookups with a 5xx once armed, after letting skip
// more through.
type flakyENIs struct {
	cloud.ENIAPI
	mu    sync.Mutex
	armed bool
	skip  int
}

func (f *flakyENIs) arm(skip int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.armed, f.skip = true, skip
}

func (f *flakyENIs) ENIs(ctx context.Context, filter cloud.ENIFilter) ([]cloud.ENI, error) {
	f.mu.Lock()
	fail := f.armed && f.skip == 0
	if f.armed && f.skip > 0 {
		f.skip--
	}
	f.mu.Unlock()
	if fail {
		return nil, fake.InjectedError(fake.OpENIs, "InternalError")
	}
	return f.ENIAPI.ENIs(ctx, filter)
}

// TestDetachLostAnswer: a detach whose answer is lost but which took
// effect does not put the ENI back into the pool (it is leaving the
// instance): the retirement, or the undo of a new ENI, goes on to delete
// it; when EC2 cannot tell or does not show it detaching, the ENI stays
// out of the pool until the sync at the end of its cooldown settles it
// (adopting it if it is still attached).
func TestDetachLostAnswer(t *testing.T) {
	lost := fake.InjectedError(fake.OpDetachENI, "InternalError")
	t.Run("retire", func(t *testing.T) {
		for _, tc := range []struct {
			name     string
			fault    func(c *fake.Cloud)
			noLookup bool // the look into the detach fails
			gone     bool
			wantOut  string
		}{
			{"took effect", func(c *fake.Cloud) { c.SetFaultAfter(fake.OpDetachENI, lost, 1) }, false, true, "delete-eni ok"},
			{"did not", func(c *fake.Cloud) { c.SetFault(fake.OpDetachENI, lost, 1) }, false, false, "delete-eni other"},
			{"cannot tell", func(c *fake.Cloud) { c.SetFaultAfter(fake.OpDetachENI, lost, 1) }, true, false, "delete-eni other"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var s script
				flaky := &flakyENIs{}
				e := newEnv(t, func(c *setup) {
					c.decide = s.decide
					c.cloud.DetachDelay = 10 * time.Second
					c.ec2 = func(f *fake.Cloud) cloud.ENIAPI { flaky.ENIAPI = f; return flaky }
				})
				s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
				e.m.Pass(context.Background())
				id := e.store.ENIs()[1].ID
				tc.fault(e.cloud)
				if tc.noLookup {
					flaky.arm(1) // the retirement's own lookup of the ENI works
				}
				s.push(act(pool.Action{Kind: pool.DeleteENI, ENI: id}))
				e.m.Pass(context.Background())
				if got := e.obs.outcomes(); got[len(got)-1] != tc.wantOut {
					t.Errorf("outcomes %v, want last %q", got, tc.wantOut)
				}
				if slices.ContainsFunc(e.store.ENIs(), func(s datastore.ENI) bool { return s.ID == id }) {
					t.Errorf("%s went back into the pool after a detach that may have taken effect", id)
				}
				// The sync at the end of the cooldown settles it.
				e.clock.Advance(DefaultReconcileCooldown)
				if _, err := e.m.Sync(context.Background()); err != nil {
					t.Fatal(err)
				}
				c, inCloud := e.cloud.ENI(id)
				if inCloud == tc.gone {
					t.Errorf("in the cloud %v, want %v", inCloud, !tc.gone)
				}
				inStore := slices.ContainsFunc(e.store.ENIs(), func(s datastore.ENI) bool { return s.ID == id })
				attached := c.Attachment != nil && c.Attachment.State == cloud.Attached
				if inStore != attached {
					t.Errorf("in the datastore %v, attachment %+v", inStore, c.Attachment)
				}
				e.checkGroundTruth()
			})
		}
	})
	t.Run("undo", func(t *testing.T) {
		var s script
		e := newEnv(t, func(c *setup) { c.decide = s.decide; c.cloud.DetachDelay = 5 * time.Second })
		e.host.SetFault(hostfake.OpSetupENI, errors.New("boom"), 0)
		e.cloud.SetFaultAfter(fake.OpDetachENI, lost, 1)
		s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
		e.m.Pass(context.Background())
		e.onlyPrimary()
	})
}
