package ipam

import (
	"context"
	"errors"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// Failure is why an ADD failed, as the metrics count it.
type Failure string

// Failure kinds. Their number is fixed, so they can label a metric.
const (
	FailureInvalid    Failure = "invalid"    // a malformed request (ErrInvalid)
	FailureNotReady   Failure = "not-ready"  // ipamd still starting (ErrNotReady)
	FailureExhausted  Failure = "exhausted"  // no address within the wait (*ExhaustedError)
	FailureCheckpoint Failure = "checkpoint" // the checkpoint could not be written
	FailureCanceled   Failure = "canceled"   // the caller gave up or timed out
	FailureOther      Failure = "other"      // anything else
)

// Failures lists every Failure kind.
func Failures() []Failure {
	return []Failure{FailureInvalid, FailureNotReady, FailureExhausted,
		FailureCheckpoint, FailureCanceled, FailureOther}
}

// FailureOf classifies an ADD's error; "" for nil.
func FailureOf(err error) Failure {
	var exhausted *ExhaustedError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, ErrInvalid):
		return FailureInvalid
	case errors.Is(err, ErrNotReady):
		return FailureNotReady
	case errors.As(err, &exhausted):
		return FailureExhausted
	case errors.Is(err, datastore.ErrCheckpoint):
		return FailureCheckpoint
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return FailureCanceled
	default:
		return FailureOther
	}
}

// Observer is told the latency and outcome of every ADD (metrics).
type Observer interface {
	// AddNetwork reports one ADD: how long it took and, if it failed, why
	// (failure is "" on success).
	AddNetwork(d time.Duration, failure Failure)
}
