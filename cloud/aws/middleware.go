package aws

import (
	"context"
	"errors"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awsmiddle "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
	"golang.org/x/time/rate"
)

// ErrRateLimited is the client-side token bucket refusing an attempt
// because waiting for a token would outlast the call's deadline. Errors
// carrying it are also context.DeadlineExceeded.
var ErrRateLimited = errors.New("client-side EC2 rate limit: waiting for a token would exceed the deadline")

// attemptMiddleware runs once per attempt, after the SDK's retry loop and
// before signing: it takes a token from the client-side bucket (waiting as
// long as the context allows), counts the attempt's outcome, and notes on
// the call's outcome (see withOutcome) an attempt that may have taken
// effect without saying so.
type attemptMiddleware struct {
	limiter *rate.Limiter
	m       *ec2Metrics
}

const attemptMiddlewareID = "vpc-cni/RateLimitAttempt"

// ID implements middleware.FinalizeMiddleware.
func (*attemptMiddleware) ID() string { return attemptMiddlewareID }

// HandleFinalize implements middleware.FinalizeMiddleware.
func (a *attemptMiddleware) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (
	middleware.FinalizeOutput, middleware.Metadata, error,
) {
	action := awsmiddle.GetOperationName(ctx)
	start := time.Now()
	err := a.limiter.Wait(ctx)
	observe(a.m.wait, action, time.Since(start))
	if err != nil {
		return middleware.FinalizeOutput{}, middleware.Metadata{}, limiterError(ctx, err)
	}
	out, md, err := next.HandleFinalize(ctx, in)
	a.m.attempts.WithLabelValues(action, errorCode(err)).Inc()
	noteAttempt(ctx, err)
	return out, md, err
}

// limiterError turns a refused token wait into an error the SDK does not
// retry (a canceled request) that is still recognisable as the context's
// error.
func limiterError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = fmt.Errorf("waiting for rate limiter: %w", ctxErr)
	} else {
		// rate.Limiter saw that the wait would outlast the deadline.
		err = fmt.Errorf("%w: %w", ErrRateLimited, context.DeadlineExceeded)
	}
	return &awssdk.RequestCanceledError{Err: err}
}

// addAttemptMiddleware places the attempt middleware inside the retry loop.
func addAttemptMiddleware(a *attemptMiddleware) func(*middleware.Stack) error {
	return func(s *middleware.Stack) error {
		return s.Finalize.Insert(a, "Retry", middleware.After)
	}
}
