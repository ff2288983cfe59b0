package manager

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// Error classes: each is backed off on its own, so that (for instance) a
// full subnet holds back growth but not releases, and throttling holds back
// every EC2 call. They are also the outcomes the Observer sees.
const (
	ClassThrottled         = "throttled"
	ClassSubnetExhausted   = "subnet-exhausted"
	ClassENILimit          = "eni-limit"
	ClassAddressLimit      = "address-limit"
	ClassPrefixFragmented  = "prefix-fragmented"
	ClassOther             = "other"
	OutcomeOK              = "ok"
	outcomeCanceled        = "canceled"
	outcomeSkipped         = "skipped"
	outcomeMetadataTimeout = "metadata-timeout"
)

// classes lists the classes in the order Blocked reports them.
var classes = []string{
	ClassSubnetExhausted, ClassPrefixFragmented, ClassENILimit, ClassAddressLimit, ClassThrottled, ClassOther,
}

var (
	growKinds    = []pool.Kind{pool.AssignIPs, pool.AssignPrefixes, pool.CreateENI}
	releaseKinds = []pool.Kind{pool.UnassignIPs, pool.UnassignPrefixes, pool.DeleteENI}
	allKinds     = append(append([]pool.Kind{}, growKinds...), releaseKinds...)
)

// policy is how one class backs off: the kinds of action it holds back
// (besides the kind that failed), and the first and the longest delay.
type policy struct {
	holds     []pool.Kind
	base, max time.Duration
}

var policies = map[string]policy{
	ClassThrottled:        {holds: allKinds, base: 2 * time.Second, max: 2 * time.Minute},
	ClassSubnetExhausted:  {holds: growKinds, base: 30 * time.Second, max: 5 * time.Minute},
	ClassPrefixFragmented: {holds: []pool.Kind{pool.AssignPrefixes, pool.CreateENI}, base: 30 * time.Second, max: 5 * time.Minute},
	ClassENILimit:         {holds: []pool.Kind{pool.CreateENI}, base: time.Minute, max: 10 * time.Minute},
	ClassAddressLimit:     {holds: []pool.Kind{pool.AssignIPs, pool.AssignPrefixes}, base: 30 * time.Second, max: 10 * time.Minute},
	ClassOther:            {base: 5 * time.Second, max: 5 * time.Minute},
}

// errMetadataTimeout: instance metadata did not show a change in time.
var errMetadataTimeout = errors.New("instance metadata did not show the change in time")

// classify returns the error class of a failed action's error.
func classify(err error) string {
	switch {
	case errors.Is(err, cloud.ErrThrottled):
		return ClassThrottled
	case errors.Is(err, cloud.ErrSubnetExhausted):
		return ClassSubnetExhausted
	case errors.Is(err, cloud.ErrPrefixFragmented):
		return ClassPrefixFragmented
	case errors.Is(err, cloud.ErrENILimit):
		return ClassENILimit
	case errors.Is(err, cloud.ErrAddressLimit):
		return ClassAddressLimit
	default:
		return ClassOther
	}
}

// outcome is what the Observer is told about an action that ended with err.
func outcome(err error) string {
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return outcomeCanceled
	case errors.Is(err, errSkipped):
		return outcomeSkipped
	case errors.Is(err, errMetadataTimeout):
		return outcomeMetadataTimeout
	default:
		return classify(err)
	}
}

// backoff is one class's state: how many failures in a row, until when it
// holds growth back, which kinds it holds, the subnet it is about, and the
// last error.
type backoff struct {
	failures int
	until    time.Time
	holds    map[pool.Kind]bool
	subnet   string
	err      error
}

// delay is the wait after the n-th failure in a row (n ≥ 1): exponential
// from base up to max, with jitter of up to half of it taken off, so
// nodes that failed together do not retry together.
func delay(p policy, n int, jitter func() float64) time.Duration {
	d := p.base
	for i := 1; i < n && d < p.max; i++ {
		d *= 2
	}
	d = min(d, p.max)
	return d - time.Duration(jitter()*float64(d)/2)
}

// randJitter is the default jitter source: uniform in [0, 1).
func randJitter() float64 { return rand.Float64() }

// holds reports whether the backoff holds kind back at now.
func (b *backoff) holdsAt(kind pool.Kind, now time.Time) bool {
	return b != nil && b.holds[kind] && now.Before(b.until)
}
