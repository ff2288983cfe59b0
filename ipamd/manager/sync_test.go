package manager

import (
	"context"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// TestSyncAdoptsPrimary: from an empty datastore (a fresh start) Sync
// adopts the primary ENI with its addresses, and sets nothing up on the
// host for it (it routes through the main table).
func TestSyncAdoptsPrimary(t *testing.T) {
	e := newEnv(t, func(c *setup) { c.noSync = true })
	if _, err := e.cloud.AssignIPs(context.Background(), e.primary(), 2); err != nil {
		t.Fatal(err)
	}
	rep, err := e.m.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Adopted, []string{e.primary()}) || len(rep.AddedBlocks[e.primary()]) != 2 {
		t.Errorf("report %+v", rep)
	}
	enis := e.store.ENIs()
	if len(enis) != 1 || !enis[0].Primary || enis[0].RouteTable() != datastore.MainRouteTable {
		t.Errorf("datastore %+v", enis)
	}
	if len(e.host.ENIs()) != 0 {
		t.Error("the primary ENI was set up on the host")
	}
	e.checkGroundTruth()
	if rep, err := e.m.Sync(context.Background()); err != nil || rep.Changed() {
		t.Errorf("a second sync changed %+v, %v", rep, err)
	}
}

// TestSyncAdoptsUnknownENIs: an ENI attached but unknown to the datastore
// (a crash between attach and checkpoint) is set up and adopted, with the
// blocks metadata shows; one tagged no_manage is left alone; one still
// attaching waits for a later sync.
func TestSyncAdoptsUnknownENIs(t *testing.T) {
	e := newEnv(t, func(c *setup) { c.noClock = true })
	ours := e.addENI(1, 3, map[string]string{TagCreatedBy: CreatedByValue})
	theirs := e.addENI(2, 2, map[string]string{TagNoManage: "true"})
	rep, err := e.m.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Adopted, []string{ours.ID}) || !slices.Equal(rep.NoManage, []string{theirs.ID}) {
		t.Errorf("adopted %v, left alone %v", rep.Adopted, rep.NoManage)
	}
	if got := len(e.storeBlocks(ours.ID)); got != 3 {
		t.Errorf("adopted ENI has %d blocks, want 3", got)
	}
	if h, ok := e.host.ENI(ours.MAC); !ok || h.RouteTable != 2 || h.MTU != 9001 {
		t.Errorf("host has %+v, %v for the adopted ENI", h, ok)
	}
	if _, ok := e.host.ENI(theirs.MAC); ok {
		t.Error("the no_manage ENI was set up on the host")
	}
	if len(e.storeBlocks(theirs.ID)) != 0 || len(e.store.ENIs()) != 2 {
		t.Errorf("datastore %+v", e.store.ENIs())
	}
	// Ours was attached without DeleteOnTermination (a crash before that
	// call): adopting it sets it, so it goes with the instance; theirs is
	// not touched.
	if got, _ := e.cloud.ENI(ours.ID); got.Attachment == nil || !got.Attachment.DeleteOnTermination {
		t.Errorf("adopted ENI of ours: attachment %+v, want DeleteOnTermination", got.Attachment)
	}
	if got, _ := e.cloud.ENI(theirs.ID); got.Attachment == nil || got.Attachment.DeleteOnTermination {
		t.Errorf("no_manage ENI: attachment %+v, want it left as it was", got.Attachment)
	}
	e.checkGroundTruth()
}

// TestSyncWaitsForMetadata: an attached ENI that metadata does not show
// yet, and blocks it does not show yet, are adopted only once it does.
func TestSyncWaitsForMetadata(t *testing.T) {
	e := newEnv(t, func(c *setup) { c.noClock = true })
	e.cloud.SetMetadataLag(10 * time.Second)
	late := e.addENI(1, 2, nil)
	if _, err := e.cloud.AssignIPs(context.Background(), e.primary(), 1); err != nil {
		t.Fatal(err)
	}
	rep, err := e.m.Sync(context.Background())
	if err != nil || rep.Changed() {
		t.Fatalf("sync before metadata shows anything: %+v, %v", rep, err)
	}
	e.clock.Advance(10 * time.Second)
	rep, err = e.m.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.Adopted, []string{late.ID}) || len(rep.AddedBlocks[e.primary()]) != 1 {
		t.Errorf("report %+v", rep)
	}
	e.checkGroundTruth()
}

// TestSyncRemovesWhatTheCloudLost: blocks and ENIs gone from the cloud
// leave the datastore (and the host), and the allocations that drops are
// reported.
func TestSyncRemovesWhatTheCloudLost(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide })
	ctx := context.Background()
	s.push(act(
		pool.Action{Kind: pool.AssignIPs, ENI: e.primary(), Count: 2},
		pool.Action{Kind: pool.CreateENI, Count: 2},
	))
	e.m.Pass(ctx)
	eni := e.store.ENIs()[1]
	key := datastore.Key{ContainerID: "c1", IfName: "eth0"}
	a, err := e.store.Assign(key, datastore.Pod{Namespace: "default", Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	// Someone else takes the pod's address off its ENI, and the other ENI
	// away altogether.
	if err := e.cloud.UnassignIPs(ctx, a.ENI, []netip.Addr{a.IP}); err != nil {
		t.Fatal(err)
	}
	if a.ENI != e.primary() {
		t.Fatalf("the pod landed on %s, not on the primary ENI (the datastore fills the first ENI first)", a.ENI)
	}
	other := eni.ID
	c, _ := e.cloud.ENI(other)
	if err := e.cloud.DetachENI(ctx, c.Attachment.ID, false); err != nil {
		t.Fatal(err)
	}

	rep, err := e.m.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rep.RemovedBlocks[a.ENI], []netip.Prefix{a.Block}) {
		t.Errorf("removed blocks %v, want %v on %s", rep.RemovedBlocks, a.Block, a.ENI)
	}
	if !slices.Equal(rep.RemovedENIs, []string{other}) {
		t.Errorf("removed ENIs %v, want %s", rep.RemovedENIs, other)
	}
	if len(rep.Dropped) != 1 || rep.Dropped[0].Key != key {
		t.Errorf("dropped %+v, want the pod's allocation", rep.Dropped)
	}
	if _, ok := e.store.Get(key); ok {
		t.Error("the allocation is still in the datastore")
	}
	if _, ok := e.host.ENI(eni.MAC); ok {
		t.Error("the ENI gone from the instance is still set up on the host")
	}
	e.checkGroundTruth()
}

// TestSyncRepairsHost: a managed ENI someone took off the host is set up
// again.
func TestSyncRepairsHost(t *testing.T) {
	e := newEnv(t, func(c *setup) { c.noClock = true })
	eni := e.addENI(1, 1, nil)
	if _, err := e.m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, _ := e.host.ENI(eni.MAC)
	if err := e.host.TeardownENI(context.Background(), h); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, ok := e.host.ENI(eni.MAC); !ok {
		t.Error("sync did not set the ENI up again")
	}
}

// TestSyncFailureRetriesSooner: a failed sync is retried before
// SyncInterval; a good one waits for it.
func TestSyncFailureRetriesSooner(t *testing.T) {
	e := newEnv(t, func(c *setup) { c.noClock = true })
	if e.m.syncDue() {
		t.Fatal("sync due right after a sync")
	}
	e.cloud.SetFault(fake.OpInstanceENIs, fake.InjectedError(fake.OpInstanceENIs, "RequestLimitExceeded"), 1)
	e.m.wantSync()
	if _, err := e.m.Sync(context.Background()); err == nil {
		t.Fatal("sync did not fail")
	}
	e.clock.Advance(syncRetry)
	if !e.m.syncDue() {
		t.Error("a failed sync is not retried after syncRetry")
	}
	if _, err := e.m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(syncRetry)
	if e.m.syncDue() {
		t.Error("a good sync is repeated before SyncInterval")
	}
	if st := e.m.State(); !st.LastSync.Equal(e.clock.Now().Add(-syncRetry)) {
		t.Errorf("LastSync %v", st.LastSync)
	}
}
