package ipam

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// patience bounds the waits of these tests: long enough for any machine,
// only reached when the code under test is broken.
const patience = 2 * time.Minute

// addAsync runs an Add in a goroutine.
func addAsync(ctx context.Context, svc *Service, k datastore.Key) <-chan result {
	ch := make(chan result, 1)
	go func() {
		res, err := svc.Add(ctx, k, datastore.Pod{Name: k.ContainerID})
		ch <- result{res, err}
	}()
	return ch
}

func await(t *testing.T, ch <-chan result) result {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(patience):
		t.Fatalf("Add did not return within %s", patience)
		return result{}
	}
}

func TestRefusesMalformedAndNotReady(t *testing.T) {
	store := datastore.New(datastore.Options{})
	if err := store.AddENI(primaryENI(2)); err != nil {
		t.Fatal(err)
	}
	obs := &observer{}
	svc := New(store, newFakePool(), Options{Observer: obs})
	ctx := context.Background()
	good := key(1)

	tests := []struct {
		name string
		key  datastore.Key
		want error
	}{
		{"empty container id", datastore.Key{IfName: "eth0"}, ErrInvalid},
		{"empty ifname", datastore.Key{ContainerID: "c1"}, ErrInvalid},
		{"not ready", good, ErrNotReady},
	}
	for _, tc := range tests {
		if _, err := svc.Add(ctx, tc.key, pod(1)); !errors.Is(err, tc.want) {
			t.Errorf("%s: Add: %v, want %v", tc.name, err, tc.want)
		}
		if _, _, err := svc.Del(ctx, tc.key); !errors.Is(err, tc.want) {
			t.Errorf("%s: Del: %v, want %v", tc.name, err, tc.want)
		}
		if _, _, err := svc.Check(ctx, tc.key); !errors.Is(err, tc.want) {
			t.Errorf("%s: Check: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := svc.GC(ctx, nil); !errors.Is(err, ErrNotReady) {
		t.Errorf("GC before ready: %v, want ErrNotReady", err)
	}
	if n := len(store.Allocations()); n != 0 {
		t.Errorf("%d allocations after refused calls, want 0", n)
	}
	want := []Failure{FailureInvalid, FailureInvalid, FailureNotReady}
	if got := obs.got(); !equal(got, want) {
		t.Errorf("observed %v, want %v", got, want)
	}

	svc.SetReady()
	if _, err := svc.Add(ctx, good, pod(1)); err != nil {
		t.Errorf("Add after SetReady: %v", err)
	}
}

func equal[T comparable](a, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAddIsIdempotentAndCarriesNodeInfo(t *testing.T) {
	node := NodeInfo{VPCCIDRs: []netip.Prefix{subnet}, MTU: 9001, ExternalSNAT: true}
	f := setup(t, 3, Options{Node: node})
	ctx := context.Background()

	first, err := f.svc.Add(ctx, key(1), pod(1))
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.Add(ctx, key(1), pod(1))
	if err != nil {
		t.Fatal(err)
	}
	other, err := f.svc.Add(ctx, key(2), pod(2))
	if err != nil {
		t.Fatal(err)
	}
	if again.Allocation.IP != first.Allocation.IP {
		t.Errorf("a repeated Add got %s, first %s", again.Allocation.IP, first.Allocation.IP)
	}
	if other.Allocation.IP == first.Allocation.IP {
		t.Errorf("two keys share %s", first.Allocation.IP)
	}
	if first.Node.MTU != 9001 || !first.Node.ExternalSNAT || len(first.Node.VPCCIDRs) != 1 || first.Node.VPCCIDRs[0] != subnet {
		t.Errorf("node info %+v, want %+v", first.Node, node)
	}
	first.Node.VPCCIDRs[0] = netip.MustParsePrefix("203.0.113.0/24") // a caller scribbling
	if got := again.Node.VPCCIDRs[0]; got != subnet {
		t.Errorf("results share the node's CIDR slice: %s", got)
	}
	// Each ADD took an address out of the pool (or confirmed one): the
	// manager is woken to refill it at once.
	if n := f.pool.wakeCount(); n != 3 {
		t.Errorf("the pool was woken %d times after 3 ADDs, want 3", n)
	}

	cidr := netip.MustParsePrefix("198.19.0.0/16")
	f.svc.SetNode(NodeInfo{VPCCIDRs: []netip.Prefix{subnet, cidr}, MTU: 1500})
	res, err := f.svc.Add(ctx, key(1), pod(1))
	if err != nil || len(res.Node.VPCCIDRs) != 2 || res.Node.MTU != 1500 {
		t.Errorf("after SetNode: %+v, %v", res.Node, err)
	}
}

func TestAddWaitsForGrowth(t *testing.T) {
	// The poll timer never fires: only the datastore's change signal can
	// end the wait.
	f := setup(t, 0, Options{Poll: forever})
	if err := f.store.AddENI(secondaryENI()); err != nil {
		t.Fatal(err)
	}
	f.pool.onWake = func() {
		if err := f.store.AddBlocks("eni-s", []netip.Prefix{netip.MustParsePrefix("198.18.1.0/28")}); err != nil {
			t.Errorf("AddBlocks: %v", err)
		}
	}
	r := await(t, addAsync(context.Background(), f.svc, key(1)))
	if r.err != nil {
		t.Fatalf("Add: %v", r.err)
	}
	if a := r.res.Allocation; a.ENI != "eni-s" || a.RouteTable != 2 || !netip.MustParsePrefix("198.18.1.0/28").Contains(a.IP) {
		t.Errorf("allocation %+v, want an address of the new prefix on eni-s, table 2", a)
	}
	if n := f.pool.wakeCount(); n != 2 {
		t.Errorf("pool woken %d times, want 2 (short, then refill after the ADD)", n)
	}
	if got := f.obs.got(); !equal(got, []Failure{""}) {
		t.Errorf("observed %v, want one success", got)
	}
}

func TestManyWaitersServedByOneGrowth(t *testing.T) {
	f := setup(t, 0, Options{Poll: forever})
	if err := f.store.AddENI(secondaryENI()); err != nil {
		t.Fatal(err)
	}
	const waiters = 24
	var started sync.WaitGroup
	started.Add(waiters)
	f.pool.onWake = func() {
		started.Wait() // every waiter is started; some are waiting
		err := f.store.AddBlocks("eni-s", []netip.Prefix{
			netip.MustParsePrefix("198.18.1.0/28"), netip.MustParsePrefix("198.18.1.16/28")})
		if err != nil {
			t.Errorf("AddBlocks: %v", err)
		}
	}
	chs := make([]<-chan result, waiters)
	for i := range waiters {
		chs[i] = addAsync(context.Background(), f.svc, key(i))
		started.Done()
	}
	seen := map[netip.Addr]datastore.Key{}
	for i, ch := range chs {
		r := await(t, ch)
		if r.err != nil {
			t.Errorf("Add %d: %v", i, r.err)
			continue
		}
		if k, dup := seen[r.res.Allocation.IP]; dup {
			t.Errorf("%s handed to %v and %v", r.res.Allocation.IP, k, key(i))
		}
		seen[r.res.Allocation.IP] = key(i)
	}
}

func TestAddTimesOutWithCause(t *testing.T) {
	tests := []struct {
		name      string
		cause     string
		permanent bool
		class     string // the pool's BlockedClass
		unclassed bool   // the pool is no BlockedClasser
		want      string
		failure   Failure // observed
	}{
		{"limit", "ENI limit of m5.large reached (3)", true, "eni-limit", false, "ENI limit of m5.large reached (3)", "eni-limit"},
		{"throttled", "EC2 throttling; retrying", false, "throttled", false, "EC2 throttling; retrying", "throttled"},
		{"unclassed pool", "EC2 throttling; retrying", false, "throttled", true, "EC2 throttling; retrying", FailureExhausted},
		{"growing", "", false, "", false, "the pool is growing; no address became available within 20ms", FailureExhausted},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := setup(t, 0, Options{AddWait: 20 * time.Millisecond, Poll: time.Millisecond})
			f.pool.block(tc.cause, tc.permanent)
			f.pool.setClass(tc.class)
			if tc.unclassed {
				f.svc = New(f.store, unclassedPool{f.pool}, Options{AddWait: 20 * time.Millisecond, Poll: time.Millisecond, Observer: f.obs})
				f.svc.SetReady()
			}
			_, err := f.svc.Add(context.Background(), key(1), pod(1))
			var ex *ExhaustedError
			if !errors.As(err, &ex) {
				t.Fatalf("Add: %v, want an ExhaustedError", err)
			}
			if ex.Cause != tc.want || ex.Permanent != tc.permanent {
				t.Errorf("cause %q permanent %v, want %q %v", ex.Cause, ex.Permanent, tc.want, tc.permanent)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("message %q does not name the cause", err)
			}
			if f.pool.wakeCount() != 1 {
				t.Errorf("pool woken %d times, want 1", f.pool.wakeCount())
			}
			if got := f.obs.got(); !equal(got, []Failure{tc.failure}) {
				t.Errorf("observed %v, want %v", got, tc.failure)
			}
			if n := len(f.store.Allocations()); n != 0 {
				t.Errorf("%d allocations after a failed Add", n)
			}
		})
	}
}

func TestAddRespectsCancel(t *testing.T) {
	f := setup(t, 0, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	f.pool.onWake = cancel // the caller gives up while the Add waits
	r := await(t, addAsync(ctx, f.svc, key(1)))
	if !errors.Is(r.err, context.Canceled) {
		t.Fatalf("Add: %v, want context.Canceled", r.err)
	}
	if got := f.obs.got(); !equal(got, []Failure{FailureCanceled}) {
		t.Errorf("observed %v", got)
	}

	// Already canceled: nothing is assigned even with addresses free.
	g := setup(t, 1, Options{})
	if _, err := g.svc.Add(ctx, key(1), pod(1)); !errors.Is(err, context.Canceled) {
		t.Errorf("Add with a canceled context: %v", err)
	}
	if n := len(g.store.Allocations()); n != 0 {
		t.Errorf("%d allocations after a canceled Add", n)
	}
}

func TestWaitEndsBeforeCallersDeadline(t *testing.T) {
	svc := New(datastore.New(datastore.Options{}), nil, Options{AddWait: 10 * time.Second})
	tests := []struct {
		name     string
		deadline time.Duration // from now; 0: none
		atMost   time.Duration
		atLeast  time.Duration
	}{
		{"no deadline", 0, 10 * time.Second, 10 * time.Second},
		{"far deadline", time.Hour, 10 * time.Second, 10 * time.Second},
		{"near deadline", 5 * time.Second, 5*time.Second - deadlineMargin, time.Second},
		{"past deadline", -time.Second, 0, 0},
	}
	for _, tc := range tests {
		ctx := context.Background()
		if tc.deadline != 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, time.Now().Add(tc.deadline))
			defer cancel()
		}
		if got := svc.waitFor(ctx); got > tc.atMost || got < tc.atLeast {
			t.Errorf("%s: wait %s, want between %s and %s", tc.name, got, tc.atLeast, tc.atMost)
		}
	}
}

func TestCooledAddressReusedAfterCooldown(t *testing.T) {
	// A bounded wait: a regression fails with the cause at once rather
	// than after patience. Generous: the address comes a poll after the
	// first wake.
	f := setup(t, 1, Options{Poll: time.Millisecond, AddWait: 30 * time.Second})
	ctx := context.Background()
	first, err := f.svc.Add(ctx, key(1), pod(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, found, err := f.svc.Del(ctx, key(1)); err != nil || !found {
		t.Fatalf("Del: found %v, %v", found, err)
	}
	// The only address cools down for 30s of the injected clock; the
	// waiting Add gets it once the clock passes that, by its poll timer.
	f.pool.onWake = func() { f.clock.Advance(31 * time.Second) }
	r := await(t, addAsync(ctx, f.svc, key(2)))
	if r.err != nil {
		t.Fatalf("Add: %v", r.err)
	}
	if r.res.Allocation.IP != first.Allocation.IP {
		t.Errorf("got %s, want the cooled-down %s", r.res.Allocation.IP, first.Allocation.IP)
	}
}

func TestDelAndCheck(t *testing.T) {
	f := setup(t, 2, Options{})
	ctx := context.Background()
	added, err := f.svc.Add(ctx, key(1), pod(1))
	if err != nil {
		t.Fatal(err)
	}
	if a, found, err := f.svc.Check(ctx, key(1)); err != nil || !found || a.IP != added.Allocation.IP {
		t.Errorf("Check: %v %v %v", a.IP, found, err)
	}
	if _, found, err := f.svc.Del(ctx, key(9)); err != nil || found {
		t.Errorf("Del of an unknown key: found %v, %v; want false, nil", found, err)
	}
	a, found, err := f.svc.Del(ctx, key(1))
	if err != nil || !found || a.IP != added.Allocation.IP {
		t.Errorf("Del: %v %v %v", a.IP, found, err)
	}
	if _, found, err := f.svc.Del(ctx, key(1)); err != nil || found {
		t.Errorf("second Del: found %v, %v; want false, nil", found, err)
	}
	if _, found, err := f.svc.Check(ctx, key(1)); err != nil || found {
		t.Errorf("Check after Del: found %v, %v", found, err)
	}
	if st := f.store.Stats(); st.Cooling != 1 {
		t.Errorf("cooling %d after Del, want 1", st.Cooling)
	}
}

func TestGC(t *testing.T) {
	f := setup(t, 4, Options{})
	ctx := context.Background()
	for i := range 3 {
		if _, err := f.svc.Add(ctx, key(i), pod(i)); err != nil {
			t.Fatal(err)
		}
	}
	released, err := f.svc.GC(ctx, []datastore.Key{key(1), key(7)})
	if err != nil {
		t.Fatal(err)
	}
	var keys []datastore.Key
	for _, a := range released {
		keys = append(keys, a.Key)
	}
	if len(keys) != 2 || !containsKey(keys, key(0)) || !containsKey(keys, key(2)) {
		t.Errorf("released %v, want c0000 and c0002", keys)
	}
	allocs := f.store.Allocations()
	if len(allocs) != 1 || allocs[0].Key != key(1) {
		t.Errorf("left %v, want only c0001", allocs)
	}
	if again, err := f.svc.GC(ctx, []datastore.Key{key(1)}); err != nil || len(again) != 0 {
		t.Errorf("second GC released %v, %v", again, err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := f.svc.GC(canceled, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("GC with a canceled context: %v", err)
	}
	if n := len(f.store.Allocations()); n != 1 {
		t.Errorf("a canceled GC released addresses: %d left", n)
	}
}

func containsKey(ks []datastore.Key, k datastore.Key) bool {
	for _, x := range ks {
		if x == k {
			return true
		}
	}
	return false
}

func TestCheckpointFailure(t *testing.T) {
	w := &failingWrites{}
	f := setupStore(t, 2, Options{}, datastore.Options{
		Path: checkpointPath(t), Cooldown: time.Second, WriteFile: w.write})
	ctx := context.Background()
	if _, err := f.svc.Add(ctx, key(1), pod(1)); err != nil {
		t.Fatal(err)
	}
	w.fail()
	if _, err := f.svc.Add(ctx, key(2), pod(2)); !errors.Is(err, datastore.ErrCheckpoint) {
		t.Errorf("Add: %v, want ErrCheckpoint", err)
	}
	if _, _, err := f.svc.Del(ctx, key(1)); !errors.Is(err, datastore.ErrCheckpoint) {
		t.Errorf("Del: %v, want ErrCheckpoint", err)
	}
	if _, err := f.svc.GC(ctx, nil); !errors.Is(err, datastore.ErrCheckpoint) {
		t.Errorf("GC: %v, want ErrCheckpoint", err)
	}
	if allocs := f.store.Allocations(); len(allocs) != 1 || allocs[0].Key != key(1) {
		t.Errorf("allocations %v after failed writes, want only c0001", allocs)
	}
	if got := f.obs.got(); !equal(got, []Failure{"", FailureCheckpoint}) {
		t.Errorf("observed %v", got)
	}
}

// TestAddAtLimitFailsFast: at a limit only configuration lifts, with no
// released address cooling down, an ADD fails at once rather than after
// AddWait; with one cooling down, it waits, and gets it once the cooldown
// ends.
func TestAddAtLimitFailsFast(t *testing.T) {
	f := setup(t, 1, Options{AddWait: forever, Poll: time.Millisecond})
	if _, err := f.svc.Add(context.Background(), key(1), pod(1)); err != nil {
		t.Fatal(err)
	}
	f.pool.block("ENI limit of m5.large reached (3 ENIs)", true)
	r := await(t, addAsync(context.Background(), f.svc, key(2)))
	var ex *ExhaustedError
	if !errors.As(r.err, &ex) || !ex.Permanent {
		t.Fatalf("Add at the limit: %v, want a permanent ExhaustedError at once", r.err)
	}

	if _, _, err := f.svc.Del(context.Background(), key(1)); err != nil {
		t.Fatal(err)
	}
	ch := addAsync(context.Background(), f.svc, key(3))
	select {
	case r := <-ch:
		t.Fatalf("Add with an address cooling down returned %+v, %v; want it to wait", r.res, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	f.clock.Advance(31 * time.Second) // the cooldown ends
	if r := await(t, ch); r.err != nil {
		t.Errorf("Add after the cooldown: %v", r.err)
	}
}
