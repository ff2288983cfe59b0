package ipamc

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
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
// on. p is the call's peer: set when the call reached ipamd, so that an
// Unavailable ipamd answered (not ready, its checkpoint failed) is told
// apart from one gRPC made up because nothing answered.
func (c *GRPC) callErr(err error, p *peer.Peer) error {
	st, _ := status.FromError(err)
	msg := st.Message()
	switch st.Code() {
	case codes.Unavailable:
		if p.Addr != nil {
			return &callError{kinds: []error{ErrUnreachable},
				msg: fmt.Sprintf("ipamd on %s cannot serve now (try again): %s", c.socket, msg)}
		}
		return &callError{kinds: []error{ErrUnreachable},
			msg: fmt.Sprintf("ipamd does not answer on %s (%s): is ipamd running?", c.socket, msg)}
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

// malformed is an answer of rpc that could not be read.
func malformed(rpc string, err error) error {
	return &callError{kinds: []error{ErrMalformed},
		msg: fmt.Sprintf("malformed %s answer from ipamd: %v", rpc, err)}
}

// fieldErr names a malformed field of an answer.
func fieldErr(field, format string, args ...any) error {
	return errors.New(field + " " + fmt.Sprintf(format, args...))
}
