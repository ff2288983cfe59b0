package capacity

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/vpc-cni/vpc-cni/ipamd/manager"
)

func TestFollow(t *testing.T) {
	h := newHarness(t, testNode())
	var assigned atomic.Int32
	var exhausted, ready atomic.Bool
	ready.Store(true)
	read := func() Pool {
		p := Pool{Ready: ready.Load(), Assigned: int(assigned.Load())}
		if exhausted.Load() {
			p.Cause, p.Class = "subnet subnet-1 has no free addresses", manager.ClassSubnetExhausted
		}
		return p
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); h.w.Follow(ctx, 27, read, time.Second) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	h.waitFor("the pool ready", func() bool { return h.shows(Desired(27, read())) })
	assigned.Store(4)
	exhausted.Store(true)
	ready.Store(false) // ipamd's health fails with no address left: NetworkUnavailable stays False
	want := Desired(27, read())
	h.waitFor("the pool exhausted", func() bool { return h.shows(want) && len(h.events()) == 1 })
	if want.Reason != ReasonSubnetExhausted {
		t.Fatalf("reason %s", want.Reason)
	}
	if c := Condition(h.node(), corev1.NodeNetworkUnavailable); c.Status != corev1.ConditionFalse {
		t.Errorf("NetworkUnavailable %+v, want still False", c)
	}
	exhausted.Store(false)
	h.waitFor("back to ready", func() bool { return h.shows(Desired(27, Pool{Ready: true, Assigned: 4})) })
}
