package ipam

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// Failure is why an ADD failed, as the metrics count it.
type Failure string

// Failure kinds. Their number is fixed, so they can label a metric. An
// exhausted ADD whose pool named the class of its cause is labelled with
// that class instead of FailureExhausted (see FailureOf).
const (
	FailureInvalid    Failure = "invalid"    // a malformed request (ErrInvalid)
	FailureNotReady   Failure = "not-ready"  // ipamd still starting (ErrNotReady)
	FailureExhausted  Failure = "exhausted"  // no address within the wait (*ExhaustedError), the pool growing or its cause unclassified
	FailureCheckpoint Failure = "checkpoint" // the checkpoint could not be written
	FailureCanceled   Failure = "canceled"   // the caller gave up or timed out
	FailureOther      Failure = "other"      // anything else
)

// Failures lists every Failure kind.
func Failures() []Failure {
	return []Failure{FailureInvalid, FailureNotReady, FailureExhausted,
		FailureCheckpoint, FailureCanceled, FailureOther}
}

// FailureOf classifies an ADD's error; "" for nil. An *ExhaustedError
// with a Class is that class (subnet-exhausted, eni-limit, max-pods,
// throttled, ...), unless the class is not a short lower-case word or is
// one of the other kinds, which would make the label ambiguous.
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
		return exhaustedFailure(exhausted.Class)
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

// maxClass bounds a class used as a label value.
const maxClass = 32

// exhaustedFailure is the Failure of an exhausted ADD of the given class.
func exhaustedFailure(class string) Failure {
	f := Failure(class)
	if class == "" || len(class) > maxClass || slices.Contains(Failures(), f) ||
		strings.ContainsFunc(class, func(r rune) bool { return (r < 'a' || r > 'z') && r != '-' }) {
		return FailureExhausted
	}
	return f
}
