package cnibench

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	cloudaws "github.com/vpc-cni/vpc-cni/cloud/aws"
	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/cloud/sim/simtest"
	"github.com/vpc-cni/vpc-cni/ipamd/config"
	"github.com/vpc-cni/vpc-cni/ipamd/daemon"
	hostfake "github.com/vpc-cni/vpc-cni/ipamd/hostnet/fake"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// waitFor is the generous bound of every wait; nothing asserts on time.
const waitFor = 90 * time.Second

// The node the in-process ipamd runs on. Without prefix delegation, an
// m5.24xlarge (15 ENIs of 50 addresses) holds MINIMUM_IP_TARGET=220 on
// five ENIs, so most pods get an address of a secondary ENI and the
// plugin wires the extra `from <pod>` rule, as on a busy node.
const (
	nodeType      = "m5.24xlarge"
	nodeSubnet    = "198.18.0.0/20"
	nodePrimaryIP = "198.18.0.10"
	minimumIPs    = 220
)

// ipamdEnv is ipamd's configuration: the warm pool above, no cooldown
// (the benchmark reuses addresses at once, as host-local does), and the
// socket and state in dir.
func ipamdEnv(dir string) map[string]string {
	return map[string]string{
		"MINIMUM_IP_TARGET":          fmt.Sprint(minimumIPs),
		"IP_COOLDOWN_PERIOD":         "0",
		"VPC_CNI_SOCKET":             filepath.Join(dir, "ipamd.sock"),
		"VPC_CNI_STATE_DIR":          filepath.Join(dir, "state"),
		"METRICS_BIND_ADDRESS":       "127.0.0.1:0",
		"INTROSPECTION_BIND_ADDRESS": "127.0.0.1:0",
		"AWS_VPC_K8S_CNI_LOGLEVEL":   "warn",
	}
}

// ipamd is the real daemon running in-process against ec2sim, with the
// fake host network (the host namespace of the benchmark holds no ENIs).
type ipamd struct {
	socket string
	client ipamv1.IPAMClient
}

// startIpamd starts ec2sim and ipamd with their state in dir, and waits
// until ipamd serves; both stop when the test ends.
func startIpamd(tb testing.TB, dir string) *ipamd {
	tb.Helper()
	cfgSim := simtest.Config() // no throttling, no delays, no latency
	cfgSim.Seed = 5
	cfgSim.VPCs = []sim.VPCConfig{{CIDR: "198.18.0.0/16", Subnets: []sim.SubnetConfig{{Name: "nodes", CIDR: nodeSubnet}}}}
	cfgSim.Instances = []sim.InstanceConfig{{Type: nodeType, Subnet: "nodes", PrimaryIP: nodePrimaryIP}}
	srv := simtest.Start(tb, &cfgSim)

	env := ipamdEnv(dir)
	cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		tb.Fatalf("ipamd config: %v", err)
	}
	reg := prometheus.NewRegistry()
	api, md := cloudClients(tb, srv, reg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan daemon.Endpoints, 1)
	deps := daemon.Deps{
		EC2: api, Metadata: md, Host: hostfake.New(), Registry: reg,
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Tuning: daemon.Tuning{
			Interval: 200 * time.Millisecond, ReleaseDelay: time.Hour, IMDSWait: waitFor,
			StartupRetry: 10 * time.Millisecond, StartupWait: 30 * time.Second, StopTimeout: 10 * time.Second,
		},
		OnReady: func(ep daemon.Endpoints) { ready <- ep },
	}
	go func() { done <- daemon.Run(ctx, cfg, deps) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("ipamd stopped with: %v", err)
			}
		case <-time.After(waitFor):
			tb.Errorf("ipamd did not stop within %s", waitFor)
		}
	})
	var ep daemon.Endpoints
	select {
	case ep = <-ready:
	case err := <-done:
		done <- err
		tb.Fatalf("ipamd stopped before serving: %v", err)
	case <-time.After(waitFor):
		tb.Fatalf("ipamd not serving within %s", waitFor)
	}
	conn, err := grpc.NewClient("unix://"+ep.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatalf("grpc client: %v", err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return &ipamd{socket: ep.Socket, client: ipamv1.NewIPAMClient(conn)}
}

// cloudClients are the EC2 and metadata clients against ec2sim: static
// credentials, a limiter that never gets in the way, and no idle
// connections kept (ec2sim's Close would wait for them).
func cloudClients(tb testing.TB, srv *sim.Server, reg prometheus.Registerer) (*cloudaws.EC2, *cloudaws.IMDS) {
	tb.Helper()
	api, md, err := cloudaws.New(context.Background(), cloudaws.Options{
		Region:       srv.World().Region(),
		EC2Endpoint:  srv.EC2URL(),
		IMDSEndpoint: srv.IMDSURL(),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", ""),
		QPS:          100000,
		Burst:        100000,
		BaseBackoff:  time.Millisecond,
		MaxBackoff:   10 * time.Millisecond,
		Registerer:   reg,
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.DisableKeepAlives = true
		}),
	})
	if err != nil {
		tb.Fatalf("cloud clients: %v", err)
	}
	return api, md
}

// waitWarm waits until ipamd could serve at least n ADDs at once and
// the count has held over three polls half a second apart, so that the
// pool manager has stopped growing the pool before anything is timed.
func (d *ipamd) waitWarm(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.Now().Add(waitFor)
	var last *ipamv1.StatusResponse
	prev := int32(-1)
	for stable := 0; stable < 3; time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("ipamd's warm pool not at %d addresses within %s: last status %v", n, waitFor, last)
		}
		last = d.status(tb)
		if last.GetReady() && int(last.GetAvailable()) >= n && last.GetAvailable() == prev {
			stable++
		} else {
			stable = 0
		}
		prev = last.GetAvailable()
	}
}

func (d *ipamd) status(tb testing.TB) *ipamv1.StatusResponse {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	st, err := d.client.Status(ctx, &ipamv1.StatusRequest{})
	if err != nil {
		tb.Fatalf("ipamd Status: %v", err)
	}
	return st
}

// holds reports whether ipamd holds an allocation for the attachment.
func (d *ipamd) holds(tb testing.TB, containerID, ifname string) bool {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	resp, err := d.client.CheckNetwork(ctx, &ipamv1.CheckNetworkRequest{ContainerId: containerID, Ifname: ifname})
	if err != nil {
		tb.Fatalf("ipamd CheckNetwork(%s): %v", containerID, err)
	}
	return resp.GetFound()
}
