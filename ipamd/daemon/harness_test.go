package daemon_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"k8s.io/client-go/kubernetes"

	cloudaws "github.com/vpc-cni/vpc-cni/cloud/aws"
	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/cloud/sim/simtest"
	"github.com/vpc-cni/vpc-cni/internal/ipamdtest"
	"github.com/vpc-cni/vpc-cni/ipamd/config"
	"github.com/vpc-cni/vpc-cni/ipamd/daemon"
	hostfake "github.com/vpc-cni/vpc-cni/ipamd/hostnet/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// waitFor is the generous real-time bound of every wait in these tests;
// no test asserts on elapsed time.
const waitFor = 60 * time.Second

// simClock is ec2sim's clock: real time plus an offset, or frozen. While
// frozen, nothing that depends on time passing happens in the emulator
// (instance metadata does not catch up, attachments do not settle).
type simClock struct {
	mu     sync.Mutex
	offset time.Duration
	frozen time.Time // zero: running
}

func (c *simClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		return c.frozen
	}
	return time.Now().Add(c.offset)
}

// Freeze stops the clock where it is.
func (c *simClock) Freeze() {
	now := c.Now()
	c.mu.Lock()
	c.frozen = now
	c.mu.Unlock()
}

// Advance moves the clock forward.
func (c *simClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen.IsZero() {
		c.offset += d
		return
	}
	c.frozen = c.frozen.Add(d)
}

// Resume lets a frozen clock run again from where it stands.
func (c *simClock) Resume() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.frozen.IsZero() {
		c.offset = c.frozen.Sub(time.Now())
		c.frozen = time.Time{}
	}
}

// world is an ec2sim world of one VPC, one subnet and one instance.
type world struct {
	subnet    string // CIDR
	instType  string
	primaryIP string
}

func (w world) withDefaults() world {
	if w.subnet == "" {
		w.subnet = "198.18.0.0/20"
	}
	if w.instType == "" {
		w.instType = "m5.large"
	}
	if w.primaryIP == "" {
		w.primaryIP = netip.MustParsePrefix(w.subnet).Addr().Next().Next().Next().Next().Next().Next().String()
	}
	return w
}

// cloudEnv is an in-process ec2sim and the instance the daemon runs on.
type cloudEnv struct {
	srv   *sim.Server
	clock *simClock
	inst  sim.Instance
}

func startCloud(t testing.TB, w world, tweak func(*sim.Config)) *cloudEnv {
	t.Helper()
	w = w.withDefaults()
	clk := &simClock{}
	cfg := simtest.Config()
	cfg.Seed = 7
	cfg.Clock = clk.Now
	cfg.VPCs = []sim.VPCConfig{{CIDR: "198.18.0.0/16", Subnets: []sim.SubnetConfig{{Name: "nodes", CIDR: w.subnet}}}}
	cfg.Instances = []sim.InstanceConfig{{Type: w.instType, Subnet: "nodes", PrimaryIP: w.primaryIP}}
	if tweak != nil {
		tweak(&cfg)
	}
	srv := simtest.Start(t, &cfg)
	inst, ok := srv.World().DefaultInstance()
	if !ok {
		t.Fatal("ec2sim world has no instance")
	}
	return &cloudEnv{srv: srv, clock: clk, inst: inst}
}

// clients are the EC2 and metadata clients against the emulator.
func (c *cloudEnv) clients(t testing.TB, reg prometheus.Registerer) (*cloudaws.EC2, *cloudaws.IMDS) {
	t.Helper()
	return ipamdtest.CloudClients(t, c.srv, reg)
}

// fastTuning makes the manager pass often and the startup retry quickly.
func fastTuning() daemon.Tuning {
	return daemon.Tuning{
		Interval: 50 * time.Millisecond, ReleaseDelay: time.Hour, IMDSWait: waitFor,
		StartupRetry: 10 * time.Millisecond, StartupWait: 5 * time.Second, StopTimeout: 10 * time.Second,
	}
}

// shortDir is a fresh directory with a short path (a unix socket path has
// at most 107 bytes), removed when the test ends.
func shortDir(t testing.TB) string {
	t.Helper()
	d, err := os.MkdirTemp("", "ipamd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// testConfig parses env as ipamd does, with the socket and state in dir
// and metrics and introspection on ephemeral loopback ports.
func testConfig(t testing.TB, dir string, env map[string]string) config.Config {
	t.Helper()
	all := map[string]string{
		"VPC_CNI_SOCKET":             filepath.Join(dir, "ipamd.sock"),
		"VPC_CNI_STATE_DIR":          filepath.Join(dir, "state"),
		"METRICS_BIND_ADDRESS":       "127.0.0.1:0",
		"INTROSPECTION_BIND_ADDRESS": "127.0.0.1:0",
	}
	maps.Copy(all, env)
	cfg, err := config.FromEnv(func(k string) (string, bool) { v, ok := all[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// node is ipamd runs on one instance: the cloud, the state directory and
// the host, which survive restarts of the daemon.
type node struct {
	t     testing.TB
	cloud *cloudEnv
	cfg   config.Config
	host  *hostfake.Host
	tune  daemon.Tuning
	// write, if set, writes the checkpoint (Deps.WriteCheckpoint).
	write func(path string, data []byte) error
	// kube, if set, is the Kubernetes API server (Deps.Kubernetes).
	kube kubernetes.Interface
}

func newNode(t testing.TB, c *cloudEnv, env map[string]string) *node {
	return &node{t: t, cloud: c, cfg: testConfig(t, shortDir(t), env), host: hostfake.New(), tune: fastTuning()}
}

// running is one run of the daemon.
type running struct {
	t      testing.TB
	n      *node
	ep     daemon.Endpoints
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
	conn   *grpc.ClientConn
	client ipamv1.IPAMClient
}

// start runs the daemon and waits until it serves.
func (n *node) start() *running {
	n.t.Helper()
	r, err := n.tryStart()
	if err != nil {
		n.t.Fatalf("daemon did not start: %v", err)
	}
	return r
}

// tryStart runs the daemon and waits until it serves or Run returns.
func (n *node) tryStart() (*running, error) {
	t := n.t
	reg := prometheus.NewRegistry()
	api, md := n.cloud.clients(t, reg)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{t: t, n: n, reg: reg, cancel: cancel, done: make(chan error, 1)}
	ready := make(chan daemon.Endpoints, 1)
	deps := daemon.Deps{
		EC2: api, Metadata: md, Host: n.host, Registry: reg, Tuning: n.tune,
		Log:             slog.New(slog.NewJSONHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		OnReady:         func(ep daemon.Endpoints) { ready <- ep },
		WriteCheckpoint: n.write,
		Kubernetes:      n.kube,
	}
	go func() { r.done <- daemon.Run(ctx, n.cfg, deps) }()
	select {
	case r.ep = <-ready:
	case err := <-r.done:
		cancel()
		return nil, fmt.Errorf("Run returned before serving: %w", err)
	case <-time.After(waitFor):
		cancel()
		t.Fatalf("daemon not ready within %s", waitFor)
	}
	var err error
	r.conn, err = grpc.NewClient("unix://"+r.ep.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc client: %v", err)
	}
	r.client = ipamv1.NewIPAMClient(r.conn)
	t.Cleanup(func() { r.stop() })
	return r, nil
}

// stop cancels the daemon and returns Run's error; it is idempotent.
func (r *running) stop() error {
	r.cancel()
	if r.conn != nil {
		_ = r.conn.Close()
	}
	select {
	case err, ok := <-r.done:
		if ok {
			close(r.done)
		}
		return err
	case <-time.After(waitFor):
		r.t.Fatalf("daemon did not stop within %s", waitFor)
		return nil
	}
}

func key(i int) (string, string) { return fmt.Sprintf("container-%04d", i), "eth0" }

func addReq(i int) *ipamv1.AddNetworkRequest {
	id, ifname := key(i)
	return &ipamv1.AddNetworkRequest{
		ContainerId: id, Ifname: ifname, Netns: "/var/run/netns/cni-" + id,
		PodNamespace: "default", PodName: fmt.Sprintf("pod-%d", i), PodUid: fmt.Sprintf("uid-%d", i),
	}
}

func callCtx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), waitFor)
}

// add allocates for container i and fails the test on error.
func (r *running) add(i int) netip.Addr {
	r.t.Helper()
	ip, err := r.tryAdd(i)
	if err != nil {
		r.t.Fatalf("AddNetwork(%d): %v", i, err)
	}
	return ip
}

// tryAdd allocates for container i.
func (r *running) tryAdd(i int) (netip.Addr, error) {
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := r.client.AddNetwork(ctx, addReq(i))
	if err != nil {
		return netip.Addr{}, err
	}
	ip, err := netip.ParseAddr(resp.GetAllocation().GetIpv4())
	if err != nil {
		return netip.Addr{}, fmt.Errorf("answered address %q: %w", resp.GetAllocation().GetIpv4(), err)
	}
	return ip, nil
}

// check returns container i's address if ipamd holds one.
func (r *running) check(i int) (netip.Addr, bool) {
	r.t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	id, ifname := key(i)
	resp, err := r.client.CheckNetwork(ctx, &ipamv1.CheckNetworkRequest{ContainerId: id, Ifname: ifname})
	if err != nil {
		r.t.Fatalf("CheckNetwork(%d): %v", i, err)
	}
	if !resp.GetFound() {
		return netip.Addr{}, false
	}
	return netip.MustParseAddr(resp.GetAllocation().GetIpv4()), true
}

func (r *running) status() *ipamv1.StatusResponse {
	r.t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := r.client.Status(ctx, &ipamv1.StatusRequest{})
	if err != nil {
		r.t.Fatalf("Status: %v", err)
	}
	return resp
}

// getJSON decodes an introspection answer.
func (r *running) getJSON(path string, v any) {
	r.t.Helper()
	resp, err := http.Get("http://" + r.ep.Introspection + path)
	if err != nil {
		r.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		r.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		r.t.Fatalf("GET %s: %v", path, err)
	}
}

func (r *running) enis() introspect.ENIsView {
	var v introspect.ENIsView
	r.getJSON(introspect.PathENIs, &v)
	return v
}

func (r *running) poolState() introspect.PoolView {
	var v introspect.PoolView
	r.getJSON(introspect.PathPool, &v)
	return v
}

// eventually polls cond until it holds, failing the test after waitFor.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, waitFor)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
