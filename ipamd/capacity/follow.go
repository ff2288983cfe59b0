package capacity

import (
	"context"
	"time"
)

// DefaultFollowEvery is how often Follow reads the pool.
const DefaultFollowEvery = time.Second

// Follow reads the pool every interval (DefaultFollowEvery if ≤ 0) on the
// writer's clock and Updates the writer with the state it calls for, until
// ctx ends. podIPs is the node's pod address capacity (PodIPs). read must
// not block: the daemon passes the datastore's Stats and the manager's
// BlockedState (see FromStats). Ready latches: once a read says the pool
// can serve, NetworkUnavailable stays False and PodIPsAvailable never goes
// back to PoolNotReady (an exhausted pool is reported by its cause).
// Follow does not write; run Run beside it.
func (w *Writer) Follow(ctx context.Context, podIPs int, read func() Pool, every time.Duration) {
	if every <= 0 {
		every = DefaultFollowEvery
	}
	t := w.o.Clock.NewTimer(0)
	defer t.Stop()
	up := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C():
		}
		p := read()
		up = up || p.Ready
		p.Ready = up
		w.Update(Desired(podIPs, p))
		t.Reset(every)
	}
}
