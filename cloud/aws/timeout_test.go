package aws

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// sameDeadline fails the test unless every recorded request carried a
// deadline, all of them the same one.
func sameDeadline(t *testing.T, recs []recordedDeadline) {
	t.Helper()
	for i, r := range recs {
		if !r.ok {
			t.Errorf("request %d (%s %s) has no deadline", i, r.method, r.path)
			continue
		}
		if !r.deadline.Equal(recs[0].deadline) {
			t.Errorf("request %d (%s %s) has its own deadline, %v after the first request's: want one deadline for the whole call",
				i, r.method, r.path, r.deadline.Sub(recs[0].deadline))
			return
		}
	}
}

// TestCallTimeoutBoundsAllPages: the second page hangs; the call fails
// with a timeout, and both pages ran under one deadline.
func TestCallTimeoutBoundsAllPages(t *testing.T) {
	tests := []struct {
		name string
		call func(c *EC2) error
	}{
		{"ENIs", func(c *EC2) error {
			_, err := c.ENIs(context.Background(), cloud.ENIFilter{VPCID: "vpc-1"})
			return err
		}},
		{"InstanceENIs", func(c *EC2) error {
			_, err := c.InstanceENIs(context.Background(), "i-1")
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeEC2(t, func(_ int, action string, form url.Values) reply {
				if form.Get("NextToken") == "" {
					return okReply(action, "<networkInterfaceSet>"+eniXML("eni-a", 0)+"</networkInterfaceSet><nextToken>t2</nextToken>")
				}
				return reply{hang: true}
			})
			o, reg := testOptions(f.srv.URL)
			o.CallTimeout = 2 * time.Second
			rec := recordDeadlines(t, &o)
			c := newTestEC2(t, o)

			err := tt.call(c)
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("err = %v, want context.DeadlineExceeded", err)
			}
			recs := rec.recorded()
			if len(recs) < 2 {
				t.Fatalf("client sent %d requests, want both pages", len(recs))
			}
			sameDeadline(t, recs)
			for _, code := range []string{codeOK, codeTimeout} {
				labels := map[string]string{"action": "DescribeNetworkInterfaces", "code": code}
				if got := counterValue(t, reg, "vpc_cni_ec2_api_requests_total", labels); got != 1 {
					t.Errorf("requests_total{code=%s} = %v, want 1 (one per page)", code, got)
				}
			}
		})
	}
}

// TestCallTimeoutSubnetsOneDeadline: the pages of Subnets share one
// deadline too.
func TestCallTimeoutSubnetsOneDeadline(t *testing.T) {
	f := newFakeEC2(t, func(_ int, action string, form url.Values) reply {
		if form.Get("NextToken") == "" {
			return okReply(action, `<subnetSet><item><subnetId>subnet-a</subnetId><cidrBlock>10.0.0.0/24</cidrBlock></item></subnetSet><nextToken>p2</nextToken>`)
		}
		return okReply(action, `<subnetSet><item><subnetId>subnet-b</subnetId><cidrBlock>10.0.1.0/24</cidrBlock></item></subnetSet>`)
	})
	o, _ := testOptions(f.srv.URL)
	rec := recordDeadlines(t, &o)
	c := newTestEC2(t, o)
	if _, err := c.Subnets(context.Background(), "subnet-a", "subnet-b"); err != nil {
		t.Fatal(err)
	}
	if recs := rec.recorded(); len(recs) != 2 {
		t.Errorf("client sent %d requests, want 2 pages", len(recs))
	} else {
		sameDeadline(t, recs)
	}
}

// TestIMDSTimeoutBoundsWholeCall: listing ENIs makes many reads; one of
// the last hangs; the call fails with a timeout, and every read ran under
// one deadline.
func TestIMDSTimeoutBoundsWholeCall(t *testing.T) {
	f := newFakeIMDS(t, instanceMetadata())
	f.hangOn(macPath(mac1) + "security-group-ids")
	o, _ := testOptions("http://127.0.0.1:1")
	o.IMDSEndpoint = f.srv.URL
	o.IMDSTimeout = 2 * time.Second
	rec := recordDeadlines(t, &o)
	d, err := NewIMDS(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}

	_, err = d.ENIs(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
	var gets []recordedDeadline
	for _, r := range rec.recorded() {
		if r.method == "GET" {
			gets = append(gets, r)
		}
	}
	if len(gets) < 10 {
		t.Fatalf("client sent %d reads, want every read up to the hanging one", len(gets))
	}
	sameDeadline(t, gets)
}
