package server_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	"github.com/vpc-cni/vpc-cni/ipamd/server"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// wait bounds every wait of these tests; generous, as the machine is
// shared. Nothing is asserted about how long anything takes.
const wait = time.Minute

// harness is a server on a real unix socket and a client of it.
type harness struct {
	path   string
	srv    *server.Server
	conn   *grpc.ClientConn
	client ipamv1.IPAMClient
	stop   func() error // ends Serve and returns its result
}

func start(t *testing.T, b ipam.Backend, o server.Options) *harness {
	t.Helper()
	if o.SocketPath == "" {
		o.SocketPath = filepath.Join(t.TempDir(), "ipamd.sock")
	}
	srv, err := server.Listen(b, o)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	var once sync.Once
	var serveErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			serveErr = <-served
		})
		return serveErr
	}
	conn := dial(t, o.SocketPath)
	t.Cleanup(func() {
		conn.Close()
		if err := stop(); err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return &harness{path: o.SocketPath, srv: srv, conn: conn, client: ipamv1.NewIPAMClient(conn), stop: stop}
}

func dial(t testing.TB, path string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient("unix://"+path, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("dial %s: %v", path, err)
	}
	return conn
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

func addReq(id, ifname string) *ipamv1.AddNetworkRequest {
	return &ipamv1.AddNetworkRequest{
		ContainerId: id, Ifname: ifname, Netns: "/var/run/netns/cni-" + id,
		PodNamespace: "default", PodName: "web-" + id, PodUid: "0f8c2a51-3b7e-4f0e-9d3c-000000000001",
		HostIfname: "eni0123456789a",
	}
}

func TestAddNetwork(t *testing.T) {
	b := newFakeBackend(4)
	b.node.ExternalSNAT = true
	h := start(t, b, server.Options{})
	ctx := ctxT(t)

	resp, err := h.client.AddNetwork(ctx, addReq("c1", "eth0"))
	if err != nil {
		t.Fatalf("AddNetwork: %v", err)
	}
	a := resp.GetAllocation()
	if a.GetIpv4() != "198.18.1.10" || a.GetEniId() != fakeENI || a.GetDeviceIndex() != 1 ||
		a.GetRouteTable() != 2 || a.GetBlock() != "198.18.1.10/32" {
		t.Errorf("allocation = %v", a)
	}
	if got := resp.GetVpcCidrs(); len(got) != 1 || got[0] != "198.18.0.0/16" {
		t.Errorf("vpc_cidrs = %v", got)
	}
	if resp.GetMtu() != 9001 || resp.GetSnatMode() != ipamv1.SNATMode_SNAT_MODE_EXTERNAL {
		t.Errorf("mtu, snat = %d, %v", resp.GetMtu(), resp.GetSnatMode())
	}
	// The pod's details reach the backend.
	ga, _ := b.alloc(keyOf("c1", "eth0"))
	got := ga.Pod
	if got.Namespace != "default" || got.Name != "web-c1" || got.Netns != "/var/run/netns/cni-c1" ||
		got.HostIfName != "eni0123456789a" || got.UID == "" {
		t.Errorf("pod = %+v", got)
	}

	again, err := h.client.AddNetwork(ctx, addReq("c1", "eth0"))
	if err != nil || again.GetAllocation().GetIpv4() != a.GetIpv4() {
		t.Errorf("repeated AddNetwork = %v, %v; want the same address %s", again.GetAllocation(), err, a.GetIpv4())
	}
	other, err := h.client.AddNetwork(ctx, addReq("c1", "net1"))
	if err != nil || other.GetAllocation().GetIpv4() == a.GetIpv4() {
		t.Errorf("AddNetwork of another ifname = %v, %v; want another address", other.GetAllocation(), err)
	}
}

func TestAddNetworkNodeSNAT(t *testing.T) {
	h := start(t, newFakeBackend(1), server.Options{})
	resp, err := h.client.AddNetwork(ctxT(t), addReq("c1", "eth0"))
	if err != nil || resp.GetSnatMode() != ipamv1.SNATMode_SNAT_MODE_NODE {
		t.Fatalf("AddNetwork = %v, %v; want SNAT_MODE_NODE", resp, err)
	}
}

func TestDelAndCheckNetwork(t *testing.T) {
	b := newFakeBackend(4)
	h := start(t, b, server.Options{})
	ctx := ctxT(t)
	if _, err := h.client.AddNetwork(ctx, addReq("c1", "eth0")); err != nil {
		t.Fatal(err)
	}

	chk, err := h.client.CheckNetwork(ctx, &ipamv1.CheckNetworkRequest{ContainerId: "c1", Ifname: "eth0"})
	if err != nil || !chk.GetFound() || chk.GetAllocation().GetIpv4() != "198.18.1.10" {
		t.Fatalf("CheckNetwork = %v, %v", chk, err)
	}
	del, err := h.client.DelNetwork(ctx, &ipamv1.DelNetworkRequest{ContainerId: "c1", Ifname: "eth0"})
	if err != nil || !del.GetFound() || del.GetAllocation().GetIpv4() != "198.18.1.10" {
		t.Fatalf("DelNetwork = %v, %v", del, err)
	}
	// DEL is idempotent: a second one finds nothing and is not an error.
	del, err = h.client.DelNetwork(ctx, &ipamv1.DelNetworkRequest{ContainerId: "c1", Ifname: "eth0"})
	if err != nil || del.GetFound() || del.GetAllocation() != nil {
		t.Fatalf("second DelNetwork = %v, %v; want not found", del, err)
	}
	chk, err = h.client.CheckNetwork(ctx, &ipamv1.CheckNetworkRequest{ContainerId: "c1", Ifname: "eth0"})
	if err != nil || chk.GetFound() || chk.GetAllocation() != nil {
		t.Fatalf("CheckNetwork after DEL = %v, %v; want not found", chk, err)
	}
}

func TestStatus(t *testing.T) {
	b := newFakeBackend(3)
	h := start(t, b, server.Options{})
	ctx := ctxT(t)
	st, err := h.client.Status(ctx, &ipamv1.StatusRequest{})
	if err != nil || !st.GetReady() || st.GetAvailable() != 3 || st.GetReason() != "" {
		t.Fatalf("Status = %v, %v; want ready, 3 available", st, err)
	}
	b.setReady(false, "ENI limit of m5.large reached (3)")
	st, err = h.client.Status(ctx, &ipamv1.StatusRequest{})
	if err != nil || st.GetReady() || st.GetReason() != "ENI limit of m5.large reached (3)" {
		t.Fatalf("Status = %v, %v; want not ready with the reason", st, err)
	}
}

func TestGarbageCollect(t *testing.T) {
	b := newFakeBackend(8)
	h := start(t, b, server.Options{})
	ctx := ctxT(t)
	for _, id := range []string{"keep1", "gone1", "keep2", "gone2"} {
		if _, err := h.client.AddNetwork(ctx, addReq(id, "eth0")); err != nil {
			t.Fatal(err)
		}
	}
	resp, err := h.client.GarbageCollect(ctx, &ipamv1.GarbageCollectRequest{ValidAttachments: []*ipamv1.Attachment{
		{ContainerId: "keep1", Ifname: "eth0"},
		{ContainerId: "keep2", Ifname: "eth0"},
		{ContainerId: "never-added", Ifname: "eth0"},
	}})
	if err != nil {
		t.Fatalf("GarbageCollect: %v", err)
	}
	var got []string
	for _, r := range resp.GetReleased() {
		if r.GetAllocation().GetIpv4() == "" || r.GetAttachment().GetIfname() != "eth0" {
			t.Errorf("released %v", r)
		}
		got = append(got, r.GetAttachment().GetContainerId())
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "gone1,gone2" {
		t.Errorf("released %v, want gone1, gone2", got)
	}
	if n := b.nallocs(); n != 2 {
		t.Errorf("%d allocations left, want 2", n)
	}
}

// TestBadRequests: every malformed request is InvalidArgument naming the
// field, and the backend is never called.
func TestBadRequests(t *testing.T) {
	long := func(n int) string { return strings.Repeat("a", n) }
	add := func(mod func(r *ipamv1.AddNetworkRequest)) *ipamv1.AddNetworkRequest {
		r := addReq("c1", "eth0")
		mod(r)
		return r
	}
	tests := []struct {
		name  string
		call  func(ctx context.Context, c ipamv1.IPAMClient) error
		field string
	}{
		{"empty id", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.ContainerId = "" })), "container_id"},
		{"long id", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.ContainerId = long(257) })), "container_id"},
		{"id starts with dash", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.ContainerId = "-abc" })), "container_id"},
		{"id starts with dot", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.ContainerId = ".abc" })), "container_id"},
		{"id with slash", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.ContainerId = "ab/../c" })), "container_id"},
		{"id with space", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.ContainerId = "ab c" })), "container_id"},
		{"id non-ascii", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.ContainerId = "abé" })), "container_id"},
		{"empty ifname", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.Ifname = "" })), "ifname"},
		{"long ifname", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.Ifname = long(16) })), "ifname"},
		{"ifname dot", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.Ifname = "." })), "ifname"},
		{"ifname dotdot", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.Ifname = ".." })), "ifname"},
		{"ifname slash", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.Ifname = "eth/0" })), "ifname"},
		{"ifname colon", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.Ifname = "eth0:1" })), "ifname"},
		{"ifname space", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.Ifname = "eth 0" })), "ifname"},
		{"ifname tab", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.Ifname = "eth\t0" })), "ifname"},
		{"ifname nul", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.Ifname = "eth\x000" })), "ifname"},
		{"empty netns", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.Netns = "" })), "netns"},
		{"relative netns", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.Netns = "proc/1/ns/net" })), "netns"},
		{"netns name only", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.Netns = "cni-1234" })), "netns"},
		{"long netns", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.Netns = "/" + long(4096) })), "netns"},
		{"long namespace", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.PodNamespace = long(64) })), "pod_namespace"},
		{"long pod name", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.PodName = long(254) })), "pod_name"},
		{"pod name newline", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.PodName = "web\nx" })), "pod_name"},
		{"long pod uid", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.PodUid = long(129) })), "pod_uid"},
		{"bad host ifname", addCall(add(func(r *ipamv1.AddNetworkRequest) { r.HostIfname = long(16) })), "host_ifname"},
		{"del empty id", func(ctx context.Context, c ipamv1.IPAMClient) error {
			_, err := c.DelNetwork(ctx, &ipamv1.DelNetworkRequest{Ifname: "eth0"})
			return err
		}, "container_id"},
		{"del bad ifname", func(ctx context.Context, c ipamv1.IPAMClient) error {
			_, err := c.DelNetwork(ctx, &ipamv1.DelNetworkRequest{ContainerId: "c1", Ifname: "a:b"})
			return err
		}, "ifname"},
		{"check long id", func(ctx context.Context, c ipamv1.IPAMClient) error {
			_, err := c.CheckNetwork(ctx, &ipamv1.CheckNetworkRequest{ContainerId: long(300), Ifname: "eth0"})
			return err
		}, "container_id"},
		{"check empty ifname", func(ctx context.Context, c ipamv1.IPAMClient) error {
			_, err := c.CheckNetwork(ctx, &ipamv1.CheckNetworkRequest{ContainerId: "c1"})
			return err
		}, "ifname"},
		{"gc bad attachment", func(ctx context.Context, c ipamv1.IPAMClient) error {
			_, err := c.GarbageCollect(ctx, &ipamv1.GarbageCollectRequest{ValidAttachments: []*ipamv1.Attachment{
				{ContainerId: "c1", Ifname: "eth0"}, {ContainerId: "c2", Ifname: ""},
			}})
			return err
		}, "valid_attachments[1].ifname"},
		{"gc nil attachment", func(ctx context.Context, c ipamv1.IPAMClient) error {
			_, err := c.GarbageCollect(ctx, &ipamv1.GarbageCollectRequest{ValidAttachments: []*ipamv1.Attachment{{}}})
			return err
		}, "valid_attachments[0].container_id"},
	}
	b := newFakeBackend(4)
	h := start(t, b, server.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call(ctxT(t), h.client)
			if status.Code(err) != codes.InvalidArgument {
				t.Fatalf("err = %v; want InvalidArgument", err)
			}
			if msg := status.Convert(err).Message(); !strings.Contains(msg, tt.field+":") {
				t.Errorf("message %q does not name %s", msg, tt.field)
			}
		})
	}
	if n := b.totalCalls(); n != 0 {
		t.Errorf("the backend was called %d times", n)
	}
	if n := b.nallocs(); n != 0 {
		t.Errorf("%d allocations made", n)
	}
}

func addCall(r *ipamv1.AddNetworkRequest) func(context.Context, ipamv1.IPAMClient) error {
	return func(ctx context.Context, c ipamv1.IPAMClient) error {
		_, err := c.AddNetwork(ctx, r)
		return err
	}
}

// TestGoodRequests: what the CNI spec allows passes.
func TestGoodRequests(t *testing.T) {
	tests := []struct{ name, id, ifname, netns string }{
		{"containerd id", strings.Repeat("0123456789abcdef", 4), "eth0", "/var/run/netns/cni-7f3c0d0e-8d3a-4a8e-1c2b-3d4e5f6a7b8c"},
		{"max id", strings.Repeat("A", 256), "eth0", "/proc/4242/ns/net"},
		{"id punctuation", "a_b.c-d", "net1", "/run/netns/x"},
		{"max ifname", "c1", "abcdefghijklmno", "/proc/1/ns/net"},
		{"ifname punctuation", "c1", "eth0.100-a_b", "/proc/1/ns/net"},
	}
	h := start(t, newFakeBackend(len(tests)), server.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := addReq(tt.id, tt.ifname)
			r.Netns, r.PodNamespace, r.PodName, r.PodUid, r.HostIfname = tt.netns, "", "", "", ""
			if _, err := h.client.AddNetwork(ctxT(t), r); err != nil {
				t.Fatalf("AddNetwork: %v", err)
			}
		})
	}
}

// TestErrorMapping: each backend error becomes its gRPC code, with a
// message that keeps the cause.
func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code codes.Code
		msg  string
	}{
		{"invalid", fmt.Errorf("netns %q: %w", "/x", ipam.ErrInvalid), codes.InvalidArgument, "invalid request"},
		{"not ready", fmt.Errorf("restore checkpoint: %w", ipam.ErrNotReady), codes.Unavailable, "ipamd is not ready"},
		{"exhausted, growing", &ipam.ExhaustedError{Cause: "EC2 throttling; retrying"}, codes.ResourceExhausted, "EC2 throttling; retrying"},
		{"exhausted, limit", fmt.Errorf("add: %w", &ipam.ExhaustedError{Cause: "ENI limit of m5.large reached (3)", Permanent: true}),
			codes.FailedPrecondition, "ENI limit of m5.large reached (3)"},
		{"deadline", fmt.Errorf("wait for the pool: %w", context.DeadlineExceeded), codes.DeadlineExceeded, "wait for the pool"},
		{"canceled", fmt.Errorf("wait for the pool: %w", context.Canceled), codes.Canceled, "wait for the pool"},
		{"checkpoint", fmt.Errorf("assign: %w", fmt.Errorf("%w: %w", datastore.ErrCheckpoint, errors.New("disk full"))),
			codes.Unavailable, "checkpoint write failed: disk full"},
		{"other", errors.New("the datastore is confused"), codes.Internal, "the datastore is confused"},
	}
	calls := map[string]func(context.Context, ipamv1.IPAMClient) error{
		"Add": addCall(addReq("c1", "eth0")),
		"Del": func(ctx context.Context, c ipamv1.IPAMClient) error {
			_, err := c.DelNetwork(ctx, &ipamv1.DelNetworkRequest{ContainerId: "c1", Ifname: "eth0"})
			return err
		},
		"Check": func(ctx context.Context, c ipamv1.IPAMClient) error {
			_, err := c.CheckNetwork(ctx, &ipamv1.CheckNetworkRequest{ContainerId: "c1", Ifname: "eth0"})
			return err
		},
		"GC": func(ctx context.Context, c ipamv1.IPAMClient) error {
			_, err := c.GarbageCollect(ctx, &ipamv1.GarbageCollectRequest{})
			return err
		},
	}
	b := newFakeBackend(4)
	h := start(t, b, server.Options{})
	for _, tt := range tests {
		for method, call := range calls {
			t.Run(tt.name+"/"+method, func(t *testing.T) {
				b.setErr(method, tt.err)
				defer b.setErr(method, nil)
				err := call(ctxT(t), h.client)
				st := status.Convert(err)
				if st.Code() != tt.code || !strings.Contains(st.Message(), tt.msg) {
					t.Errorf("err = %v; want %v with %q", err, tt.code, tt.msg)
				}
			})
		}
	}
}

// TestAddEmptyPool: the fake's own exhaustion (not injected) is
// ResourceExhausted.
func TestAddEmptyPool(t *testing.T) {
	h := start(t, newFakeBackend(0), server.Options{})
	_, err := h.client.AddNetwork(ctxT(t), addReq("c1", "eth0"))
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(status.Convert(err).Message(), "the fake pool is empty") {
		t.Fatalf("err = %v; want ResourceExhausted naming the cause", err)
	}
}
