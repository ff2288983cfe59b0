package manager

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/cloud/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// staleList is the fake behind a DescribeNetworkInterfaces of the
// instance that lags, as EC2's eventually consistent reads do: while
// stale, InstanceENIs answers with the listing frozen by freeze.
type staleList struct {
	cloud.ENIAPI
	mu     sync.Mutex
	frozen []cloud.ENI
	stale  bool
	// lookups: while stale, ENIs by id answers from the frozen listing too.
	lookups bool
}

// freeze takes the listing a stale InstanceENIs answers with.
func (s *staleList) freeze(t *testing.T, instanceID string) {
	t.Helper()
	enis, err := s.ENIAPI.InstanceENIs(context.Background(), instanceID)
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.frozen = enis
}

func (s *staleList) setStale(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stale = on
}

func (s *staleList) InstanceENIs(ctx context.Context, id string) ([]cloud.ENI, error) {
	s.mu.Lock()
	stale, frozen := s.stale, s.frozen
	s.mu.Unlock()
	if stale {
		return frozen, nil
	}
	return s.ENIAPI.InstanceENIs(ctx, id)
}

func (s *staleList) ENIs(ctx context.Context, f cloud.ENIFilter) ([]cloud.ENI, error) {
	s.mu.Lock()
	stale, frozen := s.stale && s.lookups && len(f.IDs) > 0, s.frozen
	s.mu.Unlock()
	if !stale {
		return s.ENIAPI.ENIs(ctx, f)
	}
	var out []cloud.ENI
	for _, e := range frozen {
		if slices.Contains(f.IDs, e.ID) {
			out = append(out, e)
		}
	}
	return out, nil
}

// withStaleList makes the env's manager list the instance's ENIs through
// the returned staleList.
func withStaleList(sl *staleList) func(*setup) {
	return func(c *setup) {
		c.ec2 = func(f *fake.Cloud) cloud.ENIAPI { sl.ENIAPI = f; return sl }
	}
}

// TestSyncSkipsRecentlyReleasedBlocks: a block the manager released is
// not added back by a Sync whose EC2 listing and metadata both still show
// it (both lag), so none of its addresses, which EC2 may have given to
// another node, is handed out; once the cooldown is over the truth holds.
func TestSyncSkipsRecentlyReleasedBlocks(t *testing.T) {
	var s script
	sl := &staleList{}
	e := grown(t, &s, 3, func(c *setup) { c.noClock = true }, withStaleList(sl))
	sl.freeze(t, e.cloud.Instance().ID)
	sl.setStale(true)
	e.cloud.SetMetadataLag(10 * time.Second)
	victim := sortedBlocks(e.storeBlocks(e.primary()))[:1]
	s.push(act(pool.Action{Kind: pool.UnassignIPs, ENI: e.primary(), Blocks: victim}))
	e.m.Pass(context.Background())
	if c, _ := e.cloud.ENI(e.primary()); slices.Contains(c.SecondaryIPs, victim[0].Addr()) {
		t.Fatalf("setup: EC2 still assigns %s", victim[0])
	}
	rep, err := e.m.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(e.storeBlocks(e.primary()), victim[0]) || len(rep.AddedBlocks) > 0 {
		t.Fatalf("a lagging sync added back the released %s: %+v", victim[0], rep)
	}
	for _, ip := range e.assignAll() {
		if ip == victim[0].Addr() {
			t.Errorf("a pod was handed the released %s", ip)
		}
	}
	// Metadata catches up, then the listing: the cooldown has ended and
	// the datastore matches the cloud.
	e.clock.Advance(DefaultReconcileCooldown)
	sl.setStale(false)
	if _, err := e.m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	e.checkGroundTruth()
}

// TestSyncSkipsRecentlyReleasedENIs: an ENI that left the datastore (the
// manager deleted it, or a Sync dropped it as detaching) is not adopted
// again by a Sync whose listing still shows it attached and whose
// metadata still lists it.
func TestSyncSkipsRecentlyReleasedENIs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		release func(e *env, s *script, sl *staleList, eni cloud.ENI)
	}{
		{"deleted by the manager", func(e *env, s *script, sl *staleList, eni cloud.ENI) {
			s.push(act(pool.Action{Kind: pool.DeleteENI, ENI: eni.ID}))
			e.m.Pass(context.Background())
			if _, ok := e.cloud.ENI(eni.ID); ok {
				e.t.Fatalf("setup: %s not deleted", eni.ID)
			}
		}},
		{"dropped by a sync as detaching", func(e *env, s *script, sl *staleList, eni cloud.ENI) {
			e.cloud.SetDetachDelay(time.Minute)
			if err := e.cloud.DetachENI(context.Background(), eni.Attachment.ID, false); err != nil {
				e.t.Fatal(err)
			}
			sl.setStale(false)
			rep, err := e.m.Sync(context.Background())
			if err != nil || !slices.Equal(rep.RemovedENIs, []string{eni.ID}) {
				e.t.Fatalf("setup: sync %+v, %v", rep, err)
			}
			sl.setStale(true)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s script
			sl := &staleList{}
			e := newEnv(t, func(c *setup) { c.decide = s.decide; c.noClock = true }, withStaleList(sl))
			s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
			e.m.Pass(context.Background())
			if len(e.store.ENIs()) != 2 {
				t.Fatalf("setup: datastore %+v", e.store.ENIs())
			}
			eni, _ := e.cloud.ENI(e.store.ENIs()[1].ID)
			sl.freeze(t, e.cloud.Instance().ID)
			sl.setStale(true)
			e.cloud.SetMetadataLag(10 * time.Second)
			tc.release(e, &s, sl, eni)
			rep, err := e.m.Sync(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Adopted) > 0 || len(e.store.ENIs()) != 1 {
				t.Fatalf("a lagging sync adopted the released %s again: %+v", eni.ID, rep)
			}
			e.clock.Advance(DefaultReconcileCooldown)
			sl.setStale(false)
			if _, err := e.m.Sync(context.Background()); err != nil {
				t.Fatal(err)
			}
			e.checkGroundTruth()
		})
	}
}

// TestSyncQuarantinesDroppedAddresses: the address of an allocation Sync
// dropped (the cloud took it away while a pod held it) is not handed out
// when it comes back to the node soon after, since the pod may still use
// it; it is once DroppedQuarantine is over.
func TestSyncQuarantinesDroppedAddresses(t *testing.T) {
	var s script
	e := grown(t, &s, 2, func(c *setup) { c.noClock = true })
	ctx := context.Background()
	a, err := e.store.Assign(datastore.Key{ContainerID: "c1", IfName: "eth0"}, datastore.Pod{Namespace: "default", Name: "web"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.cloud.UnassignIPs(ctx, a.ENI, []netip.Addr{a.IP}); err != nil {
		t.Fatal(err)
	}
	rep, err := e.m.Sync(ctx)
	if err != nil || len(rep.Dropped) != 1 || rep.Dropped[0].IP != a.IP {
		t.Fatalf("setup: sync %+v, %v", rep, err)
	}
	// The subnet's lowest free address is the pod's again: EC2 gives it
	// back to the node.
	s.push(act(pool.Action{Kind: pool.AssignIPs, ENI: e.primary(), Count: 1}))
	e.m.Pass(ctx)
	if !slices.Contains(e.storeBlocks(e.primary()), netip.PrefixFrom(a.IP, 32)) {
		t.Fatalf("setup: %s did not come back: %v", a.IP, e.storeBlocks(e.primary()))
	}
	for _, ip := range e.assignAll() {
		if ip == a.IP {
			t.Errorf("a pod was handed %s, which the dropped allocation's pod may still use", ip)
		}
	}
	e.clock.Advance(DefaultDroppedQuarantine)
	if !slices.Contains(e.assignAll(), a.IP) {
		t.Errorf("%s still held back after the quarantine", a.IP)
	}
}
