package ipam

import (
	"context"
	"net/netip"
	"sync"
	"testing"
)

// trickle is a pool manager whose every pass adds one address, as the
// policy does with WARM_IP_TARGET=1: each pass covers one waiting ADD.
type trickle struct {
	f    *fixture
	t    *testing.T
	mu   sync.Mutex
	next int
	wake chan struct{}
}

func (p *trickle) Wake() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *trickle) Blocked() (string, bool) { return "", false }

func (p *trickle) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
		p.mu.Lock()
		ip := netip.AddrFrom4([4]byte{198, 18, 1, byte(1 + p.next)})
		p.next++
		p.mu.Unlock()
		if err := p.f.store.AddBlocks("eni-s", []netip.Prefix{netip.PrefixFrom(ip, 32)}); err != nil {
			p.t.Errorf("AddBlocks: %v", err)
		}
	}
}

// TestWaiterWakesAgainAfterLosingGrowth: ADDs that wait for a pool that
// grows one address per pass are all served, without a periodic pass:
// a waiter that sees the pool grow but loses the address to another asks
// for another pass.
func TestWaiterWakesAgainAfterLosingGrowth(t *testing.T) {
	f := setup(t, 0, Options{Poll: forever, AddWait: patience})
	if err := f.store.AddENI(secondaryENI()); err != nil {
		t.Fatal(err)
	}
	p := &trickle{f: f, t: t, wake: make(chan struct{}, 1)}
	f.svc = New(f.store, p, Options{Poll: forever, AddWait: patience})
	f.svc.SetReady()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.run(ctx)

	const waiters = 6
	chs := make([]<-chan result, waiters)
	for i := range waiters {
		chs[i] = addAsync(context.Background(), f.svc, key(i))
	}
	seen := map[netip.Addr]int{}
	for i, ch := range chs {
		r := await(t, ch)
		if r.err != nil {
			t.Fatalf("Add %d: %v", i, r.err)
		}
		if j, dup := seen[r.res.Allocation.IP]; dup {
			t.Errorf("%s handed to %d and %d", r.res.Allocation.IP, j, i)
		}
		seen[r.res.Allocation.IP] = i
	}
}
