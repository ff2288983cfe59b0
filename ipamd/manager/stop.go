package manager

import (
	"context"
	"errors"
	"time"
)

// errStopTimeout is the cause of a graceful context that the stop
// timeout ended.
var errStopTimeout = errors.New("the manager is stopping and its stop timeout ran out")

// graceful returns a context for work that must not be cut off midway when
// ctx ends (an EC2 call whose answer would be lost, an undo): it does not
// end with ctx, but StopTimeout after ctx ends, or bound after now when
// bound is positive, whichever comes first. Its cause then is
// errStopTimeout, or context.DeadlineExceeded.
func (m *Manager) graceful(ctx context.Context, bound time.Duration) (context.Context, context.CancelFunc) {
	base, cancelBase := context.WithCancelCause(context.WithoutCancel(ctx))
	stopWatch := context.AfterFunc(ctx, func() {
		t := time.NewTimer(m.opts.StopTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			cancelBase(errStopTimeout)
		case <-base.Done():
		}
	})
	g, cancel := base, context.CancelFunc(func() {})
	if bound > 0 {
		g, cancel = context.WithTimeout(base, bound)
	}
	return g, func() {
		stopWatch()
		cancel()
		cancelBase(context.Canceled)
	}
}
