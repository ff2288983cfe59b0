package manager

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// assignAll assigns every available address of the datastore to a pod
// and returns the addresses.
func (e *env) assignAll() []netip.Addr {
	e.t.Helper()
	var got []netip.Addr
	for i := 0; ; i++ {
		a, err := e.store.Assign(datastore.Key{ContainerID: "all" + string(rune('a'+i)), IfName: "eth0"},
			datastore.Pod{Name: "p"})
		if err != nil {
			return got
		}
		got = append(got, a.IP)
	}
}

// TestUnassignLostAnswer: a release whose answer is ambiguous (lost after
// EC2 applied it, a 5xx, a refusal of a retry whose first attempt took
// effect) keeps the blocks out of the datastore, so none of their
// addresses is handed out; a Sync before the reconcile cooldown ends does
// not put them back; the one after it puts back those the cloud still
// has. A definite refusal (throttling) puts them back at once.
func TestUnassignLostAnswer(t *testing.T) {
	lostTimeout := context.DeadlineExceeded
	for _, tc := range []struct {
		name     string
		fault    func(c *fake.Cloud)
		applied  bool // the unassign took effect in EC2
		putBack  bool // the blocks are back in the datastore at once
		wantOut  string
		wantLeft int // blocks in the datastore after the settling sync
	}{
		{"timeout after EC2 applied it", func(c *fake.Cloud) {
			c.SetFaultAfter(fake.OpUnassignIPs, lostTimeout, 1)
		}, true, false, "unassign-ips canceled", 2},
		{"5xx after EC2 applied it", func(c *fake.Cloud) {
			c.SetFaultAfter(fake.OpUnassignIPs, fake.InjectedError(fake.OpUnassignIPs, "InternalError"), 1)
		}, true, false, "unassign-ips other", 2},
		{"a retry refused after the first attempt applied", func(c *fake.Cloud) {
			c.SetFaultAfter(fake.OpUnassignIPs, fake.InjectedError(fake.OpUnassignIPs, "InvalidParameterValue"), 1)
		}, true, false, "unassign-ips other", 2},
		{"5xx before EC2 applied it", func(c *fake.Cloud) {
			c.SetFault(fake.OpUnassignIPs, fake.InjectedError(fake.OpUnassignIPs, "InternalError"), 1)
		}, false, false, "unassign-ips other", 3},
		{"throttled: put back", func(c *fake.Cloud) {
			c.SetFault(fake.OpUnassignIPs, fake.InjectedError(fake.OpUnassignIPs, "RequestLimitExceeded"), 1)
		}, false, true, "unassign-ips throttled", 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s script
			e := grown(t, &s, 3, func(c *setup) { c.noClock = true })
			victim := sortedBlocks(e.storeBlocks(e.primary()))[:1]
			tc.fault(e.cloud)
			s.push(act(pool.Action{Kind: pool.UnassignIPs, ENI: e.primary(), Blocks: victim}))
			e.m.Pass(context.Background())
			if got := e.obs.outcomes(); got[len(got)-1] != tc.wantOut {
				t.Errorf("outcomes %v, want last %q", got, tc.wantOut)
			}
			c, _ := e.cloud.ENI(e.primary())
			if tc.applied == slices.Contains(c.SecondaryIPs, victim[0].Addr()) {
				t.Fatalf("setup: EC2 has %v; applied %v", c.SecondaryIPs, tc.applied)
			}
			if got := slices.Contains(e.storeBlocks(e.primary()), victim[0]); got != tc.putBack {
				t.Errorf("victim in the datastore %v, want %v", got, tc.putBack)
			}
			// A sync within the cooldown changes nothing about the victim.
			e.clock.Advance(DefaultReconcileCooldown / 2)
			if _, err := e.m.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := slices.Contains(e.storeBlocks(e.primary()), victim[0]); got != tc.putBack {
				t.Errorf("after an early sync: victim in the datastore %v, want %v", got, tc.putBack)
			}
			for _, ip := range e.assignAll() {
				if !slices.Contains(c.SecondaryIPs, ip) {
					t.Errorf("a pod was handed %s, which EC2 does not assign to %s", ip, e.primary())
				}
			}
			// The sync due after the cooldown settles the truth.
			e.clock.Advance(DefaultReconcileCooldown)
			if !e.m.syncDue() {
				t.Error("no sync due once the cooldown has run out")
			}
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
