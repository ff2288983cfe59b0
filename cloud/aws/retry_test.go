package aws

import (
	"testing"
	"time"
)

func TestBackoffBounds(t *testing.T) {
	b := newBackoff(100*time.Millisecond, time.Second)
	tests := []struct {
		attempt int
		ceiling time.Duration
	}{
		{0, 100 * time.Millisecond},
		{1, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{3, 400 * time.Millisecond},
		{4, 800 * time.Millisecond},
		{5, time.Second},
		{60, time.Second},
	}
	for _, tt := range tests {
		if got := b.ceiling(tt.attempt); got != tt.ceiling {
			t.Errorf("ceiling(%d) = %v, want %v", tt.attempt, got, tt.ceiling)
		}
		for _, pick := range []func(int64) int64{
			func(int64) int64 { return 0 },
			func(n int64) int64 { return n - 1 },
		} {
			b.rand = pick
			d, err := b.BackoffDelay(tt.attempt, nil)
			if err != nil || d < tt.ceiling/2 || d > tt.ceiling {
				t.Errorf("BackoffDelay(%d) = %v, %v; want within [%v, %v]", tt.attempt, d, err, tt.ceiling/2, tt.ceiling)
			}
		}
	}
}

func TestBackoffJitters(t *testing.T) {
	b := newBackoff(time.Second, time.Minute)
	seen := map[time.Duration]bool{}
	for range 50 {
		d, _ := b.BackoffDelay(3, nil)
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Errorf("50 delays took %d distinct values; want jitter", len(seen))
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.QPS != DefaultQPS || o.Burst != DefaultBurst || o.MaxAttempts != DefaultMaxAttempts ||
		o.CallTimeout != DefaultCallTimeout || o.PageSize != DefaultPageSize {
		t.Errorf("defaults = %+v", o)
	}
	if got := (Options{PageSize: 2}).withDefaults().PageSize; got != 5 {
		t.Errorf("page size 2 clamped to %d, want 5", got)
	}
	if got := (Options{BaseBackoff: time.Minute, MaxBackoff: time.Second}).withDefaults().MaxBackoff; got != time.Minute {
		t.Errorf("max backoff below base = %v, want raised to base", got)
	}
}
