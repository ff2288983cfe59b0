package manager

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
	hostfake "github.com/vpc-cni/vpc-cni/ipamd/hostnet/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// setupWatch is a host that runs a check before each SetupENI (Sync sets
// every managed ENI up again, after changing its blocks).
type setupWatch struct {
	hostnet.Host
	mu    sync.Mutex
	check func(hostnet.ENI)
}

func (w *setupWatch) SetupENI(ctx context.Context, e hostnet.ENI) error {
	w.mu.Lock()
	check := w.check
	w.mu.Unlock()
	if check != nil {
		check(e)
	}
	return w.Host.SetupENI(ctx, e)
}

func (w *setupWatch) watch(check func(hostnet.ENI)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.check = check
}

// podOnPrimary assigns a pod an address and fails unless it is on the
// primary ENI.
func (e *env) podOnPrimary() datastore.Allocation {
	e.t.Helper()
	a, err := e.store.Assign(datastore.Key{ContainerID: "c1", IfName: "eth0"}, datastore.Pod{Namespace: "default", Name: "web"})
	if err != nil || a.ENI != e.primary() {
		e.t.Fatalf("setup: assign %+v, %v; want an address on the primary ENI", a, err)
	}
	return a
}

// TestSyncQuarantinesBeforeAdding: the address of an allocation Sync drops
// is quarantined before Sync adds any block, so that when the cloud has
// moved it to another of the node's ENIs (dropped from one, found on the
// other in the same Sync) it is never free in the datastore meanwhile.
func TestSyncQuarantinesBeforeAdding(t *testing.T) {
	var s script
	w := &setupWatch{}
	e := grown(t, &s, 2, func(c *setup) {
		c.noClock = true
		c.host = func(h *hostfake.Host) hostnet.Host { w.Host = h; return w }
	})
	ctx := context.Background()
	s.push(act(pool.Action{Kind: pool.CreateENI, Count: 1}))
	e.m.Pass(ctx)
	if len(e.store.ENIs()) != 2 {
		t.Fatalf("setup: datastore %+v", e.store.ENIs())
	}
	other := e.store.ENIs()[1]
	a := e.podOnPrimary()
	// The cloud moves the pod's address to the other ENI.
	if err := e.cloud.UnassignIPs(ctx, a.ENI, []netip.Addr{a.IP}); err != nil {
		t.Fatal(err)
	}
	if ips, err := e.cloud.AssignIPs(ctx, other.ID, 1); err != nil || !slices.Equal(ips, []netip.Addr{a.IP}) {
		t.Fatalf("setup: the other ENI got %v, %v; want %s", ips, err, a.IP)
	}
	var exposed bool
	w.watch(func(h hostnet.ENI) {
		_, cooling := e.store.Cooling()[a.IP]
		if h.MAC == other.MAC && slices.Contains(e.storeBlocks(other.ID), netip.PrefixFrom(a.IP, 32)) && !cooling {
			exposed = true
		}
	})
	rep, err := e.m.Sync(ctx)
	w.watch(nil)
	if err != nil || len(rep.Dropped) != 1 || rep.Dropped[0].IP != a.IP {
		t.Fatalf("sync %+v, %v; want the pod's allocation dropped", rep, err)
	}
	if !slices.Contains(rep.AddedBlocks[other.ID], netip.PrefixFrom(a.IP, 32)) {
		t.Fatalf("sync %+v: want %s added to %s in the same sync", rep, a.IP, other.ID)
	}
	if exposed {
		t.Errorf("%s was free on %s during the sync, before its quarantine", a.IP, other.ID)
	}
	if slices.Contains(e.assignAll(), a.IP) {
		t.Errorf("a pod was handed %s, which the dropped allocation's pod may still use", a.IP)
	}
}

// flakyQuarantine fails the manager's quarantine writes while failing.
type flakyQuarantine struct {
	mu      sync.Mutex
	failing bool
	calls   int
}

func (f *flakyQuarantine) install(m *Manager) {
	real := m.quarantineAddrs
	m.quarantineAddrs = func(until time.Time, addrs []netip.Addr) (int, error) {
		f.mu.Lock()
		f.calls++
		failing := f.failing
		f.mu.Unlock()
		if failing {
			return 0, datastore.ErrCheckpoint
		}
		return real(until, addrs)
	}
}

func (f *flakyQuarantine) fail(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failing = on
}

// TestSyncRetriesFailedQuarantine: a quarantine whose write failed is
// retried at the next Sync, before it adds anything; while it keeps
// failing, Sync does not add a block holding one of its addresses.
func TestSyncRetriesFailedQuarantine(t *testing.T) {
	for _, tc := range []struct {
		name       string
		failsAgain bool // the retry fails too
	}{
		{"retried", false},
		{"failing again", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s script
			e := grown(t, &s, 2, func(c *setup) { c.noClock = true })
			ctx := context.Background()
			var fq flakyQuarantine
			fq.install(e.m)
			a := e.podOnPrimary()
			if err := e.cloud.UnassignIPs(ctx, a.ENI, []netip.Addr{a.IP}); err != nil {
				t.Fatal(err)
			}
			fq.fail(true)
			rep, err := e.m.Sync(ctx)
			if !errors.Is(err, datastore.ErrCheckpoint) || len(rep.Dropped) != 1 {
				t.Fatalf("sync %+v, %v; want the allocation dropped and the quarantine failed", rep, err)
			}
			// EC2 gives the address back to the node.
			if ips, err := e.cloud.AssignIPs(ctx, e.primary(), 1); err != nil || !slices.Equal(ips, []netip.Addr{a.IP}) {
				t.Fatalf("setup: the primary got %v, %v; want %s", ips, err, a.IP)
			}
			fq.fail(tc.failsAgain)
			_, err = e.m.Sync(ctx)
			if got := err != nil; got != tc.failsAgain {
				t.Fatalf("second sync: %v", err)
			}
			inStore := slices.Contains(e.storeBlocks(e.primary()), netip.PrefixFrom(a.IP, 32))
			if inStore == tc.failsAgain {
				t.Errorf("%s in the datastore %v after the second sync, want %v", a.IP, inStore, !tc.failsAgain)
			}
			if slices.Contains(e.assignAll(), a.IP) {
				t.Errorf("a pod was handed %s, whose quarantine was never written", a.IP)
			}
			fq.fail(false)
			e.clock.Advance(syncRetry)
			if tc.failsAgain && !e.m.syncDue() {
				t.Error("no sync due soon after a failed quarantine")
			}
			if _, err := e.m.Sync(ctx); err != nil {
				t.Fatal(err)
			}
			e.checkGroundTruth()
			if slices.Contains(e.assignAll(), a.IP) {
				t.Errorf("a pod was handed %s within its quarantine", a.IP)
			}
			e.clock.Advance(DefaultDroppedQuarantine)
			if !slices.Contains(e.assignAll(), a.IP) {
				t.Errorf("%s still held back after the quarantine", a.IP)
			}
		})
	}
}
