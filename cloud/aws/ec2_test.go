package aws

import (
	"context"
	"errors"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

const assignOK = `<networkInterfaceId>eni-1</networkInterfaceId>
<assignedPrivateIpAddressesSet><item><privateIpAddress>10.0.0.7</privateIpAddress></item>
<item><privateIpAddress>10.0.0.8</privateIpAddress></item></assignedPrivateIpAddressesSet><return>true</return>`

func TestRetryThenSuccess(t *testing.T) {
	f := newFakeEC2(t, func(n int, action string, _ url.Values) reply {
		switch n {
		case 1:
			return errReply(503, "RequestLimitExceeded", "Request limit exceeded.", "r1")
		case 2:
			return errReply(500, "InternalError", "An internal error has occurred.", "r2")
		}
		return okReply(action, assignOK)
	})
	o, reg := testOptions(f.srv.URL)
	c := newTestEC2(t, o)

	ips, err := c.AssignIPs(context.Background(), "eni-1", 2)
	if err != nil {
		t.Fatalf("AssignIPs: %v", err)
	}
	want := []netip.Addr{netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("10.0.0.8")}
	if !slices.Equal(ips, want) {
		t.Errorf("ips = %v, want %v", ips, want)
	}
	if got := len(f.requests()); got != 3 {
		t.Errorf("server saw %d requests, want 3", got)
	}
	const action = "AssignPrivateIpAddresses"
	checks := []struct {
		name  string
		code  string
		value float64
	}{
		{"vpc_cni_ec2_api_requests_total", "OK", 1},
		{"vpc_cni_ec2_api_requests_total", "RequestLimitExceeded", 0},
		{"vpc_cni_ec2_api_attempts_total", "RequestLimitExceeded", 1},
		{"vpc_cni_ec2_api_attempts_total", "InternalError", 1},
		{"vpc_cni_ec2_api_attempts_total", "OK", 1},
	}
	for _, ch := range checks {
		got := counterValue(t, reg, ch.name, map[string]string{"action": action, "code": ch.code})
		if got != ch.value {
			t.Errorf("%s{code=%s} = %v, want %v", ch.name, ch.code, got, ch.value)
		}
	}
	labels := map[string]string{"action": action}
	if got := histogramCount(t, reg, "vpc_cni_ec2_api_request_duration_seconds", labels); got != 1 {
		t.Errorf("duration histogram count = %d, want 1", got)
	}
	if got := histogramCount(t, reg, "vpc_cni_ec2_api_rate_limiter_wait_seconds", labels); got != 3 {
		t.Errorf("limiter wait histogram count = %d, want 3 (one per attempt)", got)
	}
}

func TestRetryOnTransportError(t *testing.T) {
	f := newFakeEC2(t, func(n int, action string, _ url.Values) reply {
		if n == 1 {
			return reply{status: 502, body: "bad gateway"} // not even XML
		}
		return okReply(action, assignOK)
	})
	o, _ := testOptions(f.srv.URL)
	c := newTestEC2(t, o)
	if _, err := c.AssignIPs(context.Background(), "eni-1", 2); err != nil {
		t.Fatalf("AssignIPs: %v", err)
	}
	if got := len(f.requests()); got != 2 {
		t.Errorf("server saw %d requests, want 2", got)
	}
}

func TestGiveUpAfterMaxAttempts(t *testing.T) {
	f := newFakeEC2(t, func(int, string, url.Values) reply {
		return errReply(503, "RequestLimitExceeded", "Request limit exceeded.", "req-throttled")
	})
	o, reg := testOptions(f.srv.URL)
	o.MaxAttempts = 3
	c := newTestEC2(t, o)

	_, err := c.AssignIPs(context.Background(), "eni-1", 1)
	if !errors.Is(err, cloud.ErrThrottled) {
		t.Fatalf("err = %v, want ErrThrottled", err)
	}
	var ae *cloud.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("err = %T %v, want a *cloud.APIError inside", err, err)
	}
	if ae.Op != "AssignPrivateIpAddresses" || ae.Code != "RequestLimitExceeded" || ae.RequestID != "req-throttled" {
		t.Errorf("APIError = %+v", ae)
	}
	for _, s := range []string{"eni-1", "after 3 attempts"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if got := len(f.requests()); got != 3 {
		t.Errorf("server saw %d requests, want 3", got)
	}
	labels := map[string]string{"action": "AssignPrivateIpAddresses", "code": "RequestLimitExceeded"}
	if got := counterValue(t, reg, "vpc_cni_ec2_api_requests_total", labels); got != 1 {
		t.Errorf("requests_total = %v, want 1", got)
	}
	if got := counterValue(t, reg, "vpc_cni_ec2_api_attempts_total", labels); got != 3 {
		t.Errorf("attempts_total = %v, want 3", got)
	}
}

func TestNoRetryOnClientError(t *testing.T) {
	f := newFakeEC2(t, func(int, string, url.Values) reply {
		return errReply(400, "PrivateIpAddressLimitExceeded", "Number of private addresses will exceed limit.", "r")
	})
	o, _ := testOptions(f.srv.URL)
	c := newTestEC2(t, o)
	_, err := c.AssignIPs(context.Background(), "eni-1", 1)
	if !errors.Is(err, cloud.ErrAddressLimit) {
		t.Fatalf("err = %v, want ErrAddressLimit", err)
	}
	if got := len(f.requests()); got != 1 {
		t.Errorf("server saw %d requests, want 1", got)
	}
}

func TestCallTimeoutBoundsAllAttempts(t *testing.T) {
	f := newFakeEC2(t, func(int, string, url.Values) reply { return reply{hang: true} })
	o, reg := testOptions(f.srv.URL)
	o.CallTimeout = 300 * time.Millisecond
	c := newTestEC2(t, o)

	err := c.DeleteENI(context.Background(), "eni-1")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	if errors.Is(err, cloud.ErrThrottled) {
		t.Errorf("a timeout must not look throttled: %v", err)
	}
	labels := map[string]string{"action": "DeleteNetworkInterface", "code": "Timeout"}
	if got := counterValue(t, reg, "vpc_cni_ec2_api_requests_total", labels); got != 1 {
		t.Errorf("requests_total{code=Timeout} = %v, want 1", got)
	}
}

func TestCallerCancel(t *testing.T) {
	f := newFakeEC2(t, func(int, string, url.Values) reply { return reply{hang: true} })
	o, _ := testOptions(f.srv.URL)
	c := newTestEC2(t, o)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for len(f.requests()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	err := c.DeleteENI(ctx, "eni-1")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestRateLimiterRefusesBeyondDeadline(t *testing.T) {
	f := newFakeEC2(t, func(_ int, action string, _ url.Values) reply { return okReply(action, "<return>true</return>") })
	o, reg := testOptions(f.srv.URL)
	o.QPS = 0.001 // one token per 1000s
	o.Burst = 1
	c := newTestEC2(t, o)

	if err := c.DeleteENI(context.Background(), "eni-1"); err != nil {
		t.Fatalf("first call (the burst token): %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.DeleteENI(ctx, "eni-2")
	if !errors.Is(err, ErrRateLimited) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want ErrRateLimited and context.DeadlineExceeded", err)
	}
	if got := len(f.requests()); got != 1 {
		t.Errorf("server saw %d requests, want 1: the limiter must refuse the second", got)
	}
	labels := map[string]string{"action": "DeleteNetworkInterface", "code": codeRateLimited}
	if got := counterValue(t, reg, "vpc_cni_ec2_api_requests_total", labels); got != 1 {
		t.Errorf("requests_total{code=%s} = %v, want 1", codeRateLimited, got)
	}
	okLabels := map[string]string{"action": "DeleteNetworkInterface", "code": "OK"}
	if got := counterValue(t, reg, "vpc_cni_ec2_api_attempts_total", okLabels); got != 1 {
		t.Errorf("attempts_total{code=OK} = %v, want 1 (the refused attempt was never sent)", got)
	}
}

// TestRateLimiterWaitsForTokens: with the burst spent and a negligible
// refill rate, the next call blocks in the limiter holding a reserved
// token (the bucket goes negative) without reaching the server, gives the
// token back when canceled, and a call whose deadline comes before the
// next token is refused at once. Nothing here depends on elapsed time.
func TestRateLimiterWaitsForTokens(t *testing.T) {
	f := newFakeEC2(t, func(_ int, action string, _ url.Values) reply { return okReply(action, "<return>true</return>") })
	o, _ := testOptions(f.srv.URL)
	const burst = 3
	o.QPS = 0.001 // one token per 1000s
	o.Burst = burst
	o.CallTimeout = time.Hour // long enough to wait for that token
	c := newTestEC2(t, o)
	for i := range burst {
		if err := c.DeleteENI(context.Background(), "eni-1"); err != nil {
			t.Fatalf("call %d (a burst token): %v", i, err)
		}
	}
	if got := c.limiter.Tokens(); got >= 1 {
		t.Fatalf("limiter has %v tokens after the burst, want less than one", got)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.DeleteENI(ctx, "eni-1") }()
	waitForWaiter(t, c, done)
	if got := len(f.requests()); got != burst {
		t.Errorf("server saw %d requests while a call waits for a token, want %d", got, burst)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("canceled wait: err = %v, want context.Canceled", err)
	}
	if got := c.limiter.Tokens(); got < 0 {
		t.Errorf("limiter has %v tokens after the wait was canceled, want the reservation given back", got)
	}

	short, cancelShort := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelShort()
	if err := c.DeleteENI(short, "eni-1"); !errors.Is(err, ErrRateLimited) {
		t.Errorf("call with a deadline before the next token: err = %v, want ErrRateLimited", err)
	}
	if got := len(f.requests()); got != burst {
		t.Errorf("server saw %d requests, want exactly the burst, %d", got, burst)
	}
}

// waitForWaiter returns once a call holds a reservation in c's limiter
// (its token count is negative); it fails if the call returns first.
func waitForWaiter(t *testing.T, c *EC2, done <-chan error) {
	t.Helper()
	giveUp := time.After(time.Minute)
	for c.limiter.Tokens() >= 0 {
		select {
		case err := <-done:
			t.Fatalf("call returned (err %v) instead of waiting for a token", err)
		case <-giveUp:
			t.Fatal("no call ever waited on the limiter")
		case <-time.After(time.Millisecond):
		}
	}
}

func TestSharedRegistry(t *testing.T) {
	f := newFakeEC2(t, func(_ int, action string, _ url.Values) reply { return okReply(action, "<return>true</return>") })
	o, reg := testOptions(f.srv.URL)
	a, b := newTestEC2(t, o), newTestEC2(t, o)
	for _, c := range []*EC2{a, b} {
		if err := c.DeleteENI(context.Background(), "eni-1"); err != nil {
			t.Fatal(err)
		}
	}
	labels := map[string]string{"action": "DeleteNetworkInterface", "code": "OK"}
	if got := counterValue(t, reg, "vpc_cni_ec2_api_requests_total", labels); got != 2 {
		t.Errorf("requests_total = %v, want 2 from two clients on one registry", got)
	}
}

func TestNilRegisterer(t *testing.T) {
	f := newFakeEC2(t, func(_ int, action string, _ url.Values) reply { return okReply(action, "<return>true</return>") })
	o, _ := testOptions(f.srv.URL)
	o.Registerer = nil
	c := newTestEC2(t, o)
	if err := c.DeleteENI(context.Background(), "eni-1"); err != nil {
		t.Fatal(err)
	}
}

func TestValidation(t *testing.T) {
	f := newFakeEC2(t, func(int, string, url.Values) reply { return errReply(500, "ShouldNotBeCalled", "", "") })
	o, _ := testOptions(f.srv.URL)
	c := newTestEC2(t, o)
	ctx := context.Background()
	ip := []netip.Addr{netip.MustParseAddr("10.0.0.1")}
	pfx := []netip.Prefix{netip.MustParsePrefix("10.0.0.16/28")}
	tests := []struct {
		name string
		call func() error
	}{
		{"instance type empty", func() error { _, err := c.InstanceType(ctx, ""); return err }},
		{"subnets none", func() error { _, err := c.Subnets(ctx); return err }},
		{"subnets empty id", func() error { _, err := c.Subnets(ctx, "subnet-1", ""); return err }},
		{"instance enis empty", func() error { _, err := c.InstanceENIs(ctx, ""); return err }},
		{"enis empty id", func() error { _, err := c.ENIs(ctx, cloud.ENIFilter{IDs: []string{""}}); return err }},
		{"create no subnet", func() error { _, err := c.CreateENI(ctx, cloud.CreateENIRequest{}); return err }},
		{"create both", func() error {
			_, err := c.CreateENI(ctx, cloud.CreateENIRequest{SubnetID: "s", SecondaryIPs: 1, Prefixes: 1})
			return err
		}},
		{"create negative", func() error {
			_, err := c.CreateENI(ctx, cloud.CreateENIRequest{SubnetID: "s", SecondaryIPs: -1})
			return err
		}},
		{"attach no eni", func() error { _, err := c.AttachENI(ctx, "", "i-1", 1, 0); return err }},
		{"attach no instance", func() error { _, err := c.AttachENI(ctx, "eni-1", "", 1, 0); return err }},
		{"attach negative index", func() error { _, err := c.AttachENI(ctx, "eni-1", "i-1", -1, 0); return err }},
		{"detach empty", func() error { return c.DetachENI(ctx, "", false) }},
		{"delete empty", func() error { return c.DeleteENI(ctx, "") }},
		{"dot empty attachment", func() error { return c.SetDeleteOnTermination(ctx, "eni-1", "", true) }},
		{"assign zero", func() error { _, err := c.AssignIPs(ctx, "eni-1", 0); return err }},
		{"assign huge", func() error { _, err := c.AssignIPs(ctx, "eni-1", 1<<40); return err }},
		{"assign no eni", func() error { _, err := c.AssignIPs(ctx, "", 1); return err }},
		{"prefixes zero", func() error { _, err := c.AssignPrefixes(ctx, "eni-1", 0); return err }},
		{"unassign none", func() error { return c.UnassignIPs(ctx, "eni-1", nil) }},
		{"unassign no eni", func() error { return c.UnassignIPs(ctx, "", ip) }},
		{"unassign invalid addr", func() error { return c.UnassignIPs(ctx, "eni-1", []netip.Addr{{}}) }},
		{"unassign prefixes none", func() error { return c.UnassignPrefixes(ctx, "eni-1", nil) }},
		{"unassign prefixes no eni", func() error { return c.UnassignPrefixes(ctx, "", pfx) }},
		{"tag none", func() error { return c.TagENI(ctx, "eni-1", nil) }},
		{"tag empty key", func() error { return c.TagENI(ctx, "eni-1", map[string]string{"": "v"}) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, cloud.ErrInvalidParameter) {
				t.Errorf("err = %v, want ErrInvalidParameter", err)
			}
		})
	}
	if n := len(f.requests()); n != 0 {
		t.Errorf("server saw %d requests, want none", n)
	}
}

func TestErrorKinds(t *testing.T) {
	tests := []struct {
		code string
		kind error
	}{
		{"InsufficientFreeAddressesInSubnet", cloud.ErrSubnetExhausted},
		{"AttachmentLimitExceeded", cloud.ErrENILimit},
		{"PrivateIpAddressLimitExceeded", cloud.ErrAddressLimit},
		{"InvalidNetworkInterfaceID.NotFound", cloud.ErrNotFound},
		{"InsufficientCidrBlocks", cloud.ErrPrefixFragmented},
		{"InvalidNetworkInterface.InUse", cloud.ErrInUse},
		{"InvalidParameterValue", cloud.ErrInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			f := newFakeEC2(t, func(int, string, url.Values) reply { return errReply(400, tt.code, "msg", "rid") })
			o, _ := testOptions(f.srv.URL)
			c := newTestEC2(t, o)
			err := c.DeleteENI(context.Background(), "eni-9")
			if !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want %v", err, tt.kind)
			}
			if !strings.Contains(err.Error(), "eni-9") || !strings.Contains(err.Error(), "rid") {
				t.Errorf("error %q should name the eni and the request id", err)
			}
		})
	}
}

// TestCreateENIRetryKeepsClientToken: every attempt of one CreateENI
// carries the same client token, so EC2 can tell a retry from a new
// request; a new CreateENI call gets a new token.
func TestCreateENIRetryKeepsClientToken(t *testing.T) {
	created := "<networkInterface>" + strings.TrimSuffix(strings.TrimPrefix(eniXML("eni-new", 1), "<item>"), "</item>") + "</networkInterface>"
	f := newFakeEC2(t, func(n int, action string, _ url.Values) reply {
		if n == 1 {
			return errReply(500, "InternalError", "An internal error has occurred.", "r1")
		}
		return okReply(action, created)
	})
	o, _ := testOptions(f.srv.URL)
	c := newTestEC2(t, o)
	for range 2 {
		if _, err := c.CreateENI(context.Background(), cloud.CreateENIRequest{SubnetID: "subnet-1"}); err != nil {
			t.Fatal(err)
		}
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("server saw %d requests, want 3 (a retried call, then another call)", len(reqs))
	}
	first, retry, next := reqs[0].Get("ClientToken"), reqs[1].Get("ClientToken"), reqs[2].Get("ClientToken")
	if first == "" || retry != first {
		t.Errorf("client tokens of the two attempts = %q, %q; want one non-empty token", first, retry)
	}
	if next == "" || next == first {
		t.Errorf("client token of the next call = %q, want a new one (first was %q)", next, first)
	}
}
