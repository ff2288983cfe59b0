package cni_test

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
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

// The emulated VPC: the node's subnet is away from hostAddr's /24, so no
// pod is given the host namespace's own address.
const (
	vpcCIDR    = "198.18.0.0/16"
	nodeSubnet = "198.18.32.0/20"
	nodeIP     = "198.18.32.6"
)

// realIpamd is the real ipamd (datastore, pool manager, IPAM service and
// gRPC server) running in-process against ec2sim, with only its host
// programming faked.
type realIpamd struct {
	sim    *sim.Server
	inst   sim.Instance
	socket string
	client ipamv1.IPAMClient
}

// startIpamd starts ec2sim with one instance of instType and ipamd on it,
// configured by env on top of a socket and state directory of the test's,
// and waits until ipamd serves; t.Cleanup stops both.
func startIpamd(t *testing.T, instType string, env map[string]string) *realIpamd {
	t.Helper()
	cfg := simtest.Config()
	cfg.Seed = 5
	cfg.VPCs = []sim.VPCConfig{{CIDR: vpcCIDR, Subnets: []sim.SubnetConfig{{Name: "nodes", CIDR: nodeSubnet}}}}
	cfg.Instances = []sim.InstanceConfig{{Type: instType, Subnet: "nodes", PrimaryIP: nodeIP}}
	srv := simtest.Start(t, &cfg)
	inst, ok := srv.World().DefaultInstance()
	if !ok {
		t.Fatal("ec2sim has no instance")
	}
	dir, err := os.MkdirTemp("", "ipamd-") // short: a socket path has at most 107 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	r := &realIpamd{sim: srv, inst: inst, socket: filepath.Join(dir, "ipamd.sock")}
	all := map[string]string{
		"VPC_CNI_SOCKET": r.socket, "VPC_CNI_STATE_DIR": filepath.Join(dir, "state"),
		"METRICS_BIND_ADDRESS": "127.0.0.1:0", "INTROSPECTION_BIND_ADDRESS": "127.0.0.1:0",
		"VPC_CNI_ADD_WAIT": "30s",
	}
	maps.Copy(all, env)
	conf, err := config.FromEnv(func(k string) (string, bool) { v, ok := all[k]; return v, ok })
	if err != nil {
		t.Fatalf("ipamd config: %v", err)
	}
	reg := prometheus.NewRegistry()
	api, md, err := cloudaws.New(context.Background(), cloudaws.Options{
		Region: srv.World().Region(), EC2Endpoint: srv.EC2URL(), IMDSEndpoint: srv.IMDSURL(),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", ""),
		QPS:         100000, Burst: 100000, BaseBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		Registerer: reg,
		// No idle connection outlives a request: ec2sim's Close would
		// wait for it.
		HTTPClient: awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			tr.DisableKeepAlives = true
		}),
	})
	if err != nil {
		t.Fatalf("cloud clients: %v", err)
	}
	runCtx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan daemon.Endpoints, 1), make(chan error, 1)
	deps := daemon.Deps{
		EC2: api, Metadata: md, Host: hostfake.New(), Registry: reg,
		Log: slog.New(slog.NewJSONHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
		Tuning: daemon.Tuning{Interval: 50 * time.Millisecond, ReleaseDelay: time.Hour, IMDSWait: waitFor,
			StartupRetry: 10 * time.Millisecond, StartupWait: 10 * time.Second, StopTimeout: 10 * time.Second},
		OnReady: func(ep daemon.Endpoints) { ready <- ep },
	}
	go func() { done <- daemon.Run(runCtx, conf, deps) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("ipamd: %v", err)
			}
		case <-time.After(waitFor):
			t.Errorf("ipamd did not stop within %s", waitFor)
		}
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("ipamd stopped before serving: %v", err)
	case <-time.After(waitFor):
		t.Fatalf("ipamd did not serve within %s", waitFor)
	}
	conn, err := grpc.NewClient("unix://"+r.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc client: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	r.client = ipamv1.NewIPAMClient(conn)
	return r
}

// waitAvailable waits until ipamd is ready with at least n free addresses.
func (r *realIpamd) waitAvailable(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		st, err := r.client.Status(ctx(t), &ipamv1.StatusRequest{})
		if err == nil && st.GetReady() && int(st.GetAvailable()) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ipamd not ready with %d free addresses within %s: %v, %v", n, waitFor, st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holds is ipamd's allocation of the attachment, if any.
func (r *realIpamd) holds(t *testing.T, containerID, ifName string) (*ipamv1.Allocation, bool) {
	t.Helper()
	resp, err := r.client.CheckNetwork(ctx(t), &ipamv1.CheckNetworkRequest{ContainerId: containerID, Ifname: ifName})
	if err != nil {
		t.Fatalf("CheckNetwork %s: %v", containerID, err)
	}
	return resp.GetAllocation(), resp.GetFound()
}

// eniOf is the ec2sim ENI attached to the instance that holds ip.
func (r *realIpamd) eniOf(t *testing.T, ip netip.Addr) sim.ENI {
	t.Helper()
	for _, e := range r.sim.World().Snapshot().ENIs {
		if e.Attachment == nil || e.Attachment.InstanceID != r.inst.ID {
			continue
		}
		for _, a := range e.SecondaryIPs {
			if a == ip {
				return e
			}
		}
		for _, p := range e.Prefixes {
			if p.Contains(ip) {
				return e
			}
		}
	}
	t.Fatalf("ec2sim shows %s on no ENI of instance %s", ip, r.inst.ID)
	return sim.ENI{}
}
