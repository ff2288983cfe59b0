package ipamc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// callError is a failed call: its own message (which keeps ipamd's), and
// the sentinels callers branch on.
type callError struct {
	msg   string
	kinds []error
}

func (e *callError) Error() string   { return e.msg }
func (e *callError) Unwrap() []error { return e.kinds }

// exhaustedPrefix is how ipamd's exhausted errors begin; ExhaustedError
// adds it again.
const exhaustedPrefix = "no address available: "

// callErr maps a failed call's gRPC status to the errors callers branch
// on. Unavailable is gRPC's when nothing answers on the socket or the
// connection broke, and ipamd's own while it starts or when it could not
// write its checkpoint: unavailable tells them apart.
func (c *GRPC) callErr(ctx context.Context, err error) error {
	st, _ := status.FromError(err)
	msg := st.Message()
	switch st.Code() {
	case codes.Unavailable:
		return c.unavailable(ctx, msg)
	case codes.DeadlineExceeded:
		return &callError{kinds: []error{ErrTimeout, context.DeadlineExceeded},
			msg: fmt.Sprintf("ipamd on %s did not answer in time: %s", c.socket, msg)}
	case codes.Canceled:
		return &callError{kinds: []error{context.Canceled},
			msg: fmt.Sprintf("call to ipamd on %s canceled: %s", c.socket, msg)}
	case codes.ResourceExhausted:
		return &ExhaustedError{Cause: strings.TrimPrefix(msg, exhaustedPrefix)}
	case codes.FailedPrecondition:
		return &ExhaustedError{Cause: strings.TrimPrefix(msg, exhaustedPrefix), Permanent: true}
	case codes.InvalidArgument:
		return &callError{kinds: []error{ErrRejected}, msg: "ipamd rejected the request: " + msg}
	default:
		return &callError{msg: fmt.Sprintf("ipamd on %s failed (%s): %s", c.socket, st.Code(), msg)}
	}
}

// unavailable is a call that failed with Unavailable and msg:
// ErrUnreachable when nothing answers on the socket (it is absent, or
// refuses connections), ErrUnavailable when ipamd is there but could not
// serve the call (it said so, the message is then its own; or the
// connection broke midway, or could not be made for another reason).
func (c *GRPC) unavailable(ctx context.Context, msg string) error {
	if why := c.dialer.whyUnavailable(ctx); absent(why) {
		return &callError{kinds: []error{ErrUnreachable},
			msg: fmt.Sprintf("nothing answers on ipamd's socket %s (%v): is ipamd running?", c.socket, why)}
	}
	return &callError{kinds: []error{ErrUnavailable},
		msg: fmt.Sprintf("ipamd on %s is unavailable: %s", c.socket, msg)}
}

// malformed is an answer of rpc that could not be read.
func malformed(rpc string, err error) error {
	return &callError{kinds: []error{ErrMalformed},
		msg: fmt.Sprintf("malformed %s answer from ipamd: %v", rpc, err)}
}

// fieldErr names a malformed field of an answer.
func fieldErr(field, format string, args ...any) error {
	return errors.New(field + " " + fmt.Sprintf(format, args...))
}
