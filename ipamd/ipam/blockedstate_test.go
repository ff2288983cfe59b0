package ipam

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// flippingPool is a pool whose blockage changes between any two reads (a
// pass runs in between): each read of Blocked or BlockedClass answers for
// the state and then flips it. BlockedState reads the state at once.
type flippingPool struct {
	mu    sync.Mutex
	state int
}

var flipStates = []struct {
	cause, class string
	permanent    bool
}{
	{"EC2 throttling; retrying", "throttled", false},
	{"ENI limit of m5.large reached (3 ENIs)", "eni-limit", true},
}

func (p *flippingPool) Wake() {}

func (p *flippingPool) read() (cause, class string, permanent bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := flipStates[p.state]
	p.state = 1 - p.state
	return s.cause, s.class, s.permanent
}

func (p *flippingPool) Blocked() (string, bool) {
	cause, _, permanent := p.read()
	return cause, permanent
}

func (p *flippingPool) BlockedClass() string {
	_, class, _ := p.read()
	return class
}

func (p *flippingPool) BlockedState() (cause, class string, permanent bool) { return p.read() }

// TestExhaustedCauseAndClassAgree: the cause, class and permanence of an
// exhausted ADD come from one read of the pool (BlockedState), so they
// agree even when the pool's state changes between reads.
func TestExhaustedCauseAndClassAgree(t *testing.T) {
	f := setup(t, 0, Options{AddWait: 20 * time.Millisecond, Poll: time.Millisecond})
	f.svc = New(f.store, &flippingPool{}, Options{AddWait: 20 * time.Millisecond, Poll: time.Millisecond, Observer: f.obs})
	f.svc.SetReady()
	for i := range 4 {
		_, err := f.svc.Add(context.Background(), key(i), pod(i))
		var ex *ExhaustedError
		if !errors.As(err, &ex) {
			t.Fatalf("Add: %v, want an ExhaustedError", err)
		}
		ok := false
		for _, s := range flipStates {
			ok = ok || (ex.Cause == s.cause && ex.Class == s.class && ex.Permanent == s.permanent)
		}
		if !ok {
			t.Errorf("Add %d: cause %q, class %q, permanent %v do not belong together", i, ex.Cause, ex.Class, ex.Permanent)
		}
	}
}
