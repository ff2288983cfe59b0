package manager

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestGraceful: a graceful context outlives its parent, then ends with
// errStopTimeout once StopTimeout has passed after the parent ended, or at
// its own bound; its cancel ends it at once.
func TestGraceful(t *testing.T) {
	for _, tc := range []struct {
		name      string
		stop      time.Duration
		bound     time.Duration
		endParent bool
		wantCause error
	}{
		{"stop timeout after the parent ends", time.Millisecond, 0, true, errStopTimeout},
		{"own bound", waitFor, time.Millisecond, false, context.DeadlineExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Deps{}, Options{StopTimeout: tc.stop})
			parent, cancelParent := context.WithCancel(context.Background())
			defer cancelParent()
			g, cancel := m.graceful(parent, tc.bound)
			defer cancel()
			if tc.endParent {
				cancelParent()
			}
			select {
			case <-g.Done():
			case <-time.After(waitFor):
				t.Fatal("the graceful context did not end")
			}
			if cause := context.Cause(g); !errors.Is(cause, tc.wantCause) {
				t.Errorf("cause %v, want %v", cause, tc.wantCause)
			}
		})
	}
	m := New(Deps{}, Options{StopTimeout: waitFor})
	parent, cancelParent := context.WithCancel(context.Background())
	g, cancel := m.graceful(parent, 0)
	cancelParent()
	if g.Err() != nil {
		t.Error("the graceful context ended with its parent")
	}
	cancel()
	if g.Err() == nil {
		t.Error("cancel did not end the graceful context")
	}
}
