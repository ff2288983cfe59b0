package aws

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// Whether a failed call may have taken effect. The SDK's retryer returns
// the last attempt's error only: an unassign whose first attempt took
// effect and lost its answer (a 5xx) and whose retries were throttled
// comes back as a plain throttling error, which says "nothing changed".
// So EC2.request puts an outcome on the context of each call that changes
// something, the attempt middleware (which sees every attempt) marks it
// when an attempt ends without a definite answer, and request then adds
// cloud.ErrOutcomeUnknown to the final error.

// outcome records whether any attempt of one call ended ambiguously.
type outcome struct{ unknown atomic.Bool }

type outcomeKey struct{}

// withOutcome returns ctx carrying a new outcome for one call.
func withOutcome(ctx context.Context) (context.Context, *outcome) {
	o := &outcome{}
	return context.WithValue(ctx, outcomeKey{}, o), o
}

// noteAttempt marks the call's outcome unknown if the attempt that ended
// with err may have taken effect without saying so.
func noteAttempt(ctx context.Context, err error) {
	if o, ok := ctx.Value(outcomeKey{}).(*outcome); ok && ambiguousAttempt(err) {
		o.unknown.Store(true)
	}
}

// mutating reports whether an EC2 action changes something (its outcome
// matters); the Describe actions only read.
func mutating(op string) bool { return !strings.HasPrefix(op, "Describe") }

// serverFaultCodes are EC2 error codes of a failure on EC2's side, after
// which the change may have been made.
var serverFaultCodes = map[string]bool{
	"InternalError": true, "InternalFailure": true, "ServiceUnavailable": true, "Unavailable": true,
}

// ambiguousAttempt reports whether an attempt that ended with err may
// have taken effect: EC2 failed on its side (a 5xx that is not
// throttling), the answer could not be read, the request may have gone
// out before the connection failed or the context ended. A definite
// answer (an error code of EC2's own, throttling), a request that was
// never sent (a failed dial, the request could not be built or signed)
// and success are not. The attempt middleware calls it only for attempts
// the client-side rate limiter let through.
func ambiguousAttempt(err error) bool {
	var ae smithy.APIError
	var ser *smithy.SerializationError
	switch {
	case err == nil, errors.Is(err, ErrRateLimited), errors.As(err, &ser):
		return false
	case errors.As(err, &ae):
		return serverFault(ae.ErrorCode(), err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return true // the request may have gone out
	}
	var send *smithyhttp.RequestSendError
	var de *smithy.DeserializationError
	switch {
	case errors.As(err, &de):
		return true // EC2 answered; its answer was lost
	case errors.As(err, &send):
		return !dialFailed(send)
	}
	return false // failed before sending: endpoint, credentials, signing
}

// ambiguousFinal reports whether a call's final error is itself one that
// may have taken effect: the middleware saw every attempt, this is the
// backstop. A context that ended is not taken as such here: between
// attempts (in the backoff) nothing is in flight, and an attempt it cut
// short was seen by the middleware.
func ambiguousFinal(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	return ambiguousAttempt(err)
}

// serverFault reports whether an EC2 error code (with the response's HTTP
// status in err) is a failure on EC2's side rather than a refusal.
func serverFault(code string, err error) bool {
	if cloud.KindOf(code) != nil {
		return false // a refusal of EC2's own: nothing changed
	}
	if _, throttle := retry.DefaultThrottleErrorCodes[code]; throttle {
		return false
	}
	if serverFaultCodes[code] {
		return true
	}
	status, ok := httpStatus(err)
	return ok && status >= 500
}

// dialFailed reports whether a transport error is a failure to connect:
// nothing was sent.
func dialFailed(err *smithyhttp.RequestSendError) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}
