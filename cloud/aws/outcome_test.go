package aws

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"net/url"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// TestOutcomeUnknown: the error of a call that changes something carries
// cloud.ErrOutcomeUnknown when any attempt may have taken effect, whatever
// the last attempt's answer was; a call whose every attempt was refused
// outright, a call that succeeded and a read do not.
func TestOutcomeUnknown(t *testing.T) {
	throttled := errReply(503, "RequestLimitExceeded", "Request limit exceeded.", "r-throttled")
	internal := errReply(500, "InternalError", "An internal error has occurred.", "r-internal")
	refused := errReply(400, "InvalidParameterValue", "Some of the addresses are not assigned.", "r-refused")
	unavailable := errReply(503, "Unavailable", "The service is unavailable.", "r-unavailable")
	unknownCode := errReply(400, "UnauthorizedOperation", "You are not authorized.", "r-unauth")
	tests := []struct {
		name     string
		answers  []reply // by attempt; the last repeats
		read     bool    // a Describe call instead of an unassign
		timeout  time.Duration
		wantKind error // besides the outcome, if any
		unknown  bool
		ok       bool // the call succeeds
	}{
		{"5xx, then throttled to the end", []reply{internal, throttled}, false, 0, cloud.ErrThrottled, true, false},
		{"5xx, then a retry refused", []reply{internal, refused}, false, 0, cloud.ErrInvalidParameter, true, false},
		{"Unavailable, then throttled", []reply{unavailable, throttled}, false, 0, cloud.ErrThrottled, true, false},
		{"dropped, then throttled", []reply{{drop: true}, throttled}, false, 0, cloud.ErrThrottled, true, false},
		{"garbled 502, then throttled", []reply{{status: 502, body: "bad gateway"}, throttled}, false, 0, cloud.ErrThrottled, true, false},
		{"5xx to the end", []reply{internal}, false, 0, nil, true, false},
		{"garbled 502 to the end", []reply{{status: 502, body: "bad gateway"}}, false, 0, nil, true, false},
		{"no answer before the call timeout", []reply{{hang: true}}, false, 300 * time.Millisecond, context.DeadlineExceeded, true, false},
		{"throttled to the end", []reply{throttled}, false, 0, cloud.ErrThrottled, false, false},
		{"refused", []reply{refused}, false, 0, cloud.ErrInvalidParameter, false, false},
		{"a code of no kind", []reply{unknownCode}, false, 0, nil, false, false},
		{"5xx, then success", []reply{internal, okReply("UnassignPrivateIpAddresses", "<return>true</return>")}, false, 0, nil, false, true},
		{"a read: 5xx to the end", []reply{internal}, true, 0, nil, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeEC2(t, func(n int, _ string, _ url.Values) reply {
				return tc.answers[min(n, len(tc.answers))-1]
			})
			o, _ := testOptions(f.srv.URL)
			o.MaxAttempts = 3
			if tc.timeout > 0 {
				o.CallTimeout = tc.timeout
			}
			c := newTestEC2(t, o)
			var err error
			if tc.read {
				_, err = c.ENIs(context.Background(), cloud.ENIFilter{IDs: []string{"eni-1"}})
			} else {
				err = c.UnassignIPs(context.Background(), "eni-1", []netip.Addr{netip.MustParseAddr("10.0.0.7")})
			}
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want success %v", err, tc.ok)
			}
			if tc.wantKind != nil && !errors.Is(err, tc.wantKind) {
				t.Errorf("err = %v, want %v", err, tc.wantKind)
			}
			if got := errors.Is(err, cloud.ErrOutcomeUnknown); got != tc.unknown {
				t.Errorf("err = %v: outcome unknown %v, want %v", err, got, tc.unknown)
			}
			if tc.wantKind != nil && tc.wantKind != context.DeadlineExceeded {
				var ae *cloud.APIError
				if !errors.As(err, &ae) || ae.RequestID == "" {
					t.Errorf("err = %v lost its *cloud.APIError", err)
				}
			}
		})
	}
}

// TestOutcomeKnownWhenNothingWasSent: a call that never reached EC2 (the
// connection was refused, the client-side rate limiter refused it) changed
// nothing.
func TestOutcomeKnownWhenNothingWasSent(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	o, _ := testOptions(closed)
	o.MaxAttempts = 2
	c := newTestEC2(t, o)
	err = c.DeleteENI(context.Background(), "eni-1")
	if err == nil || errors.Is(err, cloud.ErrOutcomeUnknown) {
		t.Errorf("connection refused: err = %v, want an error without an unknown outcome", err)
	}

	f := newFakeEC2(t, func(_ int, action string, _ url.Values) reply { return okReply(action, "<return>true</return>") })
	o, _ = testOptions(f.srv.URL)
	o.QPS, o.Burst = 0.001, 1
	c = newTestEC2(t, o)
	if err := c.DeleteENI(context.Background(), "eni-1"); err != nil {
		t.Fatalf("first call (the burst token): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = c.DeleteENI(ctx, "eni-2")
	if !errors.Is(err, ErrRateLimited) || errors.Is(err, cloud.ErrOutcomeUnknown) {
		t.Errorf("rate limited: err = %v, want ErrRateLimited without an unknown outcome", err)
	}
}
