// Package ipamdtest runs the real ipamd in-process against an in-process
// ec2sim, with only the host's network faked: the datastore, the pool
// manager, the IPAM service and the gRPC server on its unix socket are
// ipamd's own. For the tests and benchmarks of what talks to ipamd (the
// plugin); only tests import it.
package ipamdtest

import (
	"context"
	"io"
	"log/slog"
	"maps"
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
	"k8s.io/client-go/kubernetes"

	cloudaws "github.com/vpc-cni/vpc-cni/cloud/aws"
	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/cloud/sim/simtest"
	"github.com/vpc-cni/vpc-cni/ipamd/config"
	"github.com/vpc-cni/vpc-cni/ipamd/daemon"
	hostfake "github.com/vpc-cni/vpc-cni/ipamd/hostnet/fake"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// Options say what to run.
type Options struct {
	// InstanceType, SubnetCIDR and PrimaryIP are the one instance's, in
	// the VPC 198.18.0.0/16.
	InstanceType, SubnetCIDR, PrimaryIP string
	// Env are ipamd variables on top of the socket and state directory
	// (in Dir) and loopback bind addresses.
	Env map[string]string
	// Dir holds the socket and state; empty: a short temporary one (a
	// socket path has at most 107 bytes).
	Dir string
	// Tuning is the daemon's; zero fields take fast defaults.
	Tuning daemon.Tuning
	// Log receives ipamd's warnings; nil: the test's output.
	Log io.Writer
	// Wait bounds each wait (default 90s); nothing asserts on time.
	Wait time.Duration
	// Kubernetes, if set, is ipamd's API server (daemon.Deps.Kubernetes):
	// Env needs MY_NODE_NAME then.
	Kubernetes kubernetes.Interface
}

// Ipamd is a running ipamd and its ec2sim.
type Ipamd struct {
	Sim      *sim.Server
	Instance sim.Instance
	Socket   string
	Client   ipamv1.IPAMClient
}

// Start starts ec2sim (seed 5: repeatable) and ipamd on its instance, and
// waits until ipamd serves; tb.Cleanup stops both.
func Start(tb testing.TB, o Options) *Ipamd {
	tb.Helper()
	o = o.withDefaults(tb)
	cfgSim := simtest.Config() // no throttling, no delays, no latency
	cfgSim.Seed = 5
	cfgSim.VPCs = []sim.VPCConfig{{CIDR: "198.18.0.0/16", Subnets: []sim.SubnetConfig{{Name: "nodes", CIDR: o.SubnetCIDR}}}}
	cfgSim.Instances = []sim.InstanceConfig{{Type: o.InstanceType, Subnet: "nodes", PrimaryIP: o.PrimaryIP}}
	srv := simtest.Start(tb, &cfgSim)
	inst, ok := srv.World().DefaultInstance()
	if !ok {
		tb.Fatal("ec2sim has no instance")
	}
	env := map[string]string{
		"VPC_CNI_SOCKET": filepath.Join(o.Dir, "ipamd.sock"), "VPC_CNI_STATE_DIR": filepath.Join(o.Dir, "state"),
		"METRICS_BIND_ADDRESS": "127.0.0.1:0", "INTROSPECTION_BIND_ADDRESS": "127.0.0.1:0",
	}
	maps.Copy(env, o.Env)
	cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		tb.Fatalf("ipamd config: %v", err)
	}
	reg := prometheus.NewRegistry()
	api, md := CloudClients(tb, srv, reg)
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan daemon.Endpoints, 1), make(chan error, 1)
	deps := daemon.Deps{
		EC2: api, Metadata: md, Host: hostfake.New(), Registry: reg, Tuning: o.Tuning, Kubernetes: o.Kubernetes,
		Log:     slog.New(slog.NewJSONHandler(o.Log, &slog.HandlerOptions{Level: slog.LevelWarn})),
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
		case <-time.After(o.Wait):
			tb.Errorf("ipamd did not stop within %s", o.Wait)
		}
	})
	var ep daemon.Endpoints
	select {
	case ep = <-ready:
	case err := <-done:
		done <- err
		tb.Fatalf("ipamd stopped before serving: %v", err)
	case <-time.After(o.Wait):
		tb.Fatalf("ipamd not serving within %s", o.Wait)
	}
	conn, err := grpc.NewClient("unix://"+ep.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		tb.Fatalf("grpc client: %v", err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	return &Ipamd{Sim: srv, Instance: inst, Socket: ep.Socket, Client: ipamv1.NewIPAMClient(conn)}
}

func (o Options) withDefaults(tb testing.TB) Options {
	if o.Wait <= 0 {
		o.Wait = 90 * time.Second
	}
	if o.Log == nil {
		o.Log = tb.Output()
	}
	if o.Dir == "" {
		dir, err := os.MkdirTemp("", "ipamd-")
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = os.RemoveAll(dir) })
		o.Dir = dir
	}
	t := &o.Tuning
	or := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	or(&t.Interval, 50*time.Millisecond)
	or(&t.ReleaseDelay, time.Hour)
	or(&t.IMDSWait, o.Wait)
	or(&t.StartupRetry, 10*time.Millisecond)
	or(&t.StartupWait, 30*time.Second)
	or(&t.StopTimeout, 10*time.Second)
	return o
}

// ClientOptions are cloud/aws options against srv: static credentials,
// fast backoff, a limiter that never gets in the way.
func ClientOptions(srv *sim.Server, reg prometheus.Registerer) cloudaws.Options {
	return cloudaws.Options{
		Region: srv.World().Region(), EC2Endpoint: srv.EC2URL(), IMDSEndpoint: srv.IMDSURL(),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", ""),
		QPS:         100000, Burst: 100000, BaseBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		Registerer: reg,
	}
}

// CloudClients are EC2 and metadata clients against srv (ClientOptions)
// that keep no connection open between requests: a connection dialled
// for a request cancelled meanwhile would sit idle in the client's pool,
// and ec2sim's Close wait for it as for a request.
func CloudClients(tb testing.TB, srv *sim.Server, reg prometheus.Registerer) (*cloudaws.EC2, *cloudaws.IMDS) {
	tb.Helper()
	o := ClientOptions(srv, reg)
	o.HTTPClient = awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.DisableKeepAlives = true
	})
	api, md, err := cloudaws.New(context.Background(), o)
	if err != nil {
		tb.Fatalf("cloud clients: %v", err)
	}
	return api, md
}
