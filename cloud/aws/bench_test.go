package aws_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/vpc-cni/vpc-cni/cloud"
	cloudaws "github.com/vpc-cni/vpc-cni/cloud/aws"
	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/cloud/sim/simtest"
)

// benchWorld is an in-process ec2sim (throttling off, no delays or
// latency) whose instance has 20 ENIs, and a client on it with a limiter
// that never waits.
func benchWorld(b *testing.B) (*sim.Server, *cloudaws.EC2, cloud.Instance) {
	b.Helper()
	srv := simtest.Start(b, nil)
	api, md, err := cloudaws.New(context.Background(), cloudaws.Options{
		Region: srv.World().Region(), EC2Endpoint: srv.EC2URL(), IMDSEndpoint: srv.IMDSURL(),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBENCH", "secret", ""),
		QPS:         1e9, Burst: 1 << 30,
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	inst, err := md.Instance(ctx)
	if err != nil {
		b.Fatal(err)
	}
	for range 19 {
		if _, err := api.CreateENI(ctx, cloud.CreateENIRequest{SubnetID: inst.SubnetID, SecondaryIPs: 5}); err != nil {
			b.Fatal(err)
		}
	}
	return srv, api, inst
}

func reportRate(b *testing.B, requests int) {
	if s := b.Elapsed().Seconds(); s > 0 {
		b.ReportMetric(float64(requests)/s, "req/s")
	}
}

// BenchmarkDescribeENIs lists 20 ENIs of a subnet through the SDK.
func BenchmarkDescribeENIs(b *testing.B) {
	_, api, inst := benchWorld(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		enis, err := api.ENIs(ctx, cloud.ENIFilter{SubnetID: inst.SubnetID})
		if err != nil || len(enis) != 20 {
			b.Fatalf("ENIs = %d, %v", len(enis), err)
		}
	}
	reportRate(b, b.N)
}

// BenchmarkAssignUnassign is one AssignPrivateIpAddresses and one
// UnassignPrivateIpAddresses per iteration.
func BenchmarkAssignUnassign(b *testing.B) {
	_, api, inst := benchWorld(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		ips, err := api.AssignIPs(ctx, inst.PrimaryENI, 1)
		if err != nil {
			b.Fatal(err)
		}
		if err := api.UnassignIPs(ctx, inst.PrimaryENI, ips); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, 2*b.N)
}

// BenchmarkClientOverhead does the same DescribeNetworkInterfaces request
// through the client (SDK: serialize, sign, middleware, retry loop, limiter,
// XML decode, mapping, metrics) and as a bare net/http POST of an
// equivalent form body whose answer is read and discarded, alternating
// the two in one loop so both see the same machine. It reports each one's
// time per request and their ratio; it asserts nothing about speed.
func BenchmarkClientOverhead(b *testing.B) {
	srv, api, inst := benchWorld(b)
	ctx := context.Background()
	form := url.Values{
		"Action": {"DescribeNetworkInterfaces"}, "Version": {"2016-11-15"},
		"Filter.1.Name": {"attachment.instance-id"}, "Filter.1.Value.1": {inst.ID},
	}.Encode()
	bare := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	defer bare.CloseIdleConnections()
	post := func() {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.EC2URL()+"/", strings.NewReader(form))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		resp, err := bare.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("bare POST: status %d, %v", resp.StatusCode, err)
		}
	}
	var sdkTime, bareTime time.Duration
	for b.Loop() {
		start := time.Now()
		if _, err := api.InstanceENIs(ctx, inst.ID); err != nil {
			b.Fatal(err)
		}
		mid := time.Now()
		post()
		sdkTime += mid.Sub(start)
		bareTime += time.Since(mid)
	}
	n := float64(b.N)
	b.ReportMetric(float64(sdkTime.Nanoseconds())/n, "sdk-ns/req")
	b.ReportMetric(float64(bareTime.Nanoseconds())/n, "bare-ns/req")
	if bareTime > 0 {
		b.ReportMetric(float64(sdkTime)/float64(bareTime), "sdk/bare")
	}
}
