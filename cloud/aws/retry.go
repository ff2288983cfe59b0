package aws

import (
	"math/rand/v2"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// backoff is a jittered exponential backoff: before retry k (k ≥ 1) the
// ceiling is base·2^(k-1), capped at max, and the delay is drawn uniformly
// from the ceiling's upper half, so that nodes throttled together do not
// retry together yet each waits at least half the ceiling.
type backoff struct {
	base, max time.Duration
	rand      func(n int64) int64 // uniform in [0, n); rand.Int64N by default
}

func newBackoff(base, max time.Duration) backoff {
	return backoff{base: base, max: max, rand: rand.Int64N}
}

// ceiling returns the backoff ceiling before retry attempt (1 for the first
// retry).
func (b backoff) ceiling(attempt int) time.Duration {
	d := b.base
	for i := 1; i < attempt && d < b.max; i++ {
		d *= 2
	}
	return min(d, b.max)
}

// BackoffDelay implements retry.BackoffDelayer.
func (b backoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	c := b.ceiling(attempt)
	half := c / 2
	if half <= 0 {
		return c, nil
	}
	return c - half + time.Duration(b.rand(int64(half)+1)), nil
}

// newRetryer is the SDK's standard retryer (it retries throttling error
// codes, 5xx responses and transport errors, and never a canceled or
// expired context) with our backoff and attempt count, and with the SDK's
// client-side retry quota disabled: the token bucket in front of every
// attempt is the one limiter, and a quota that runs dry under throttling
// would turn a slow node into a failing one.
func newRetryer(maxAttempts int, b backoff) func() awssdk.Retryer {
	return func() awssdk.Retryer {
		return retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = maxAttempts
			so.MaxBackoff = b.max
			so.Backoff = b
			so.RateLimiter = ratelimit.None
		})
	}
}
