package server_test

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	"github.com/vpc-cni/vpc-cni/ipamd/server"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// BenchmarkAddDelRoundTrip: an AddNetwork and a DelNetwork over the unix
// socket, against ipamd's real service and datastore with a warm pool
// (250 free addresses on 5 ENIs, no cooldown, the checkpoint on tmpfs when
// there is one, written on every call as in ipamd). The reference, measured
// in the same iterations, is the same two calls on the service directly,
// without gRPC.
//
// Reported: ns/op, p50-ns and p99-ns of the gRPC round trip; direct-p50-ns
// and direct-p99-ns of the reference; grpc/direct-p99, their ratio. B/op
// and allocs/op count both paths together.
func BenchmarkAddDelRoundTrip(b *testing.B) {
	svc := warmService(b, 250)
	svc.SetReady()
	path := filepath.Join(b.TempDir(), "ipamd.sock")
	srv, err := server.Listen(svc, server.Options{SocketPath: path})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			b.Errorf("Serve: %v", err)
		}
	})
	conn := dial(b, path)
	b.Cleanup(func() { conn.Close() })
	client := ipamv1.NewIPAMClient(conn)

	const ids = 64
	reqs := make([]*ipamv1.AddNetworkRequest, ids)
	dels := make([]*ipamv1.DelNetworkRequest, ids)
	keys := make([]datastore.Key, ids)
	pod := datastore.Pod{Namespace: "default", Name: "bench", Netns: "/var/run/netns/bench"}
	for i := range ids {
		id := fmt.Sprintf("%064x", i)
		reqs[i] = &ipamv1.AddNetworkRequest{ContainerId: id, Ifname: "eth0", Netns: "/var/run/netns/cni-bench",
			PodNamespace: "default", PodName: fmt.Sprintf("bench-%d", i)}
		dels[i] = &ipamv1.DelNetworkRequest{ContainerId: id, Ifname: "eth0"}
		keys[i] = datastore.Key{ContainerID: fmt.Sprintf("direct%058x", i), IfName: "eth0"}
	}
	grpcRound := func(i int) {
		if _, err := client.AddNetwork(ctx, reqs[i%ids]); err != nil {
			b.Fatalf("AddNetwork: %v", err)
		}
		if _, err := client.DelNetwork(ctx, dels[i%ids]); err != nil {
			b.Fatalf("DelNetwork: %v", err)
		}
	}
	directRound := func(i int) {
		if _, err := svc.Add(ctx, keys[i%ids], pod); err != nil {
			b.Fatalf("Add: %v", err)
		}
		if _, _, err := svc.Del(ctx, keys[i%ids]); err != nil {
			b.Fatalf("Del: %v", err)
		}
	}
	// Connect and warm both paths before measuring.
	for i := range ids {
		grpcRound(i)
		directRound(i)
	}

	viaGRPC := make([]time.Duration, 0, b.N)
	direct := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		grpcRound(i)
		t1 := time.Now()
		directRound(i)
		t2 := time.Now()
		viaGRPC = append(viaGRPC, t1.Sub(t0))
		direct = append(direct, t2.Sub(t1))
	}
	b.StopTimer()
	reportLatency(b, viaGRPC, direct)
}

func reportLatency(b *testing.B, viaGRPC, direct []time.Duration) {
	var sum time.Duration
	for _, d := range viaGRPC {
		sum += d
	}
	slices.Sort(viaGRPC)
	slices.Sort(direct)
	b.ReportMetric(float64(sum.Nanoseconds())/float64(len(viaGRPC)), "ns/op")
	b.ReportMetric(float64(quantile(viaGRPC, 0.50).Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(quantile(viaGRPC, 0.99).Nanoseconds()), "p99-ns")
	b.ReportMetric(float64(quantile(direct, 0.50).Nanoseconds()), "direct-p50-ns")
	b.ReportMetric(float64(quantile(direct, 0.99).Nanoseconds()), "direct-p99-ns")
	if d := quantile(direct, 0.99); d > 0 {
		b.ReportMetric(float64(quantile(viaGRPC, 0.99))/float64(d), "grpc/direct-p99")
	}
}

// quantile of sorted durations (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// warmService is ipamd's service over a real datastore holding n free /32
// addresses on ENIs of 50 each, not ready yet (SetReady), with its checkpoint on tmpfs when
// there is one.
func warmService(b testing.TB, n int) *ipam.Service {
	b.Helper()
	store := datastore.New(datastore.Options{Path: filepath.Join(tmpfsDir(b), "ipam.json"), Cooldown: 0})
	if _, err := store.Load(); err != nil {
		b.Fatal(err)
	}
	subnet := netip.MustParsePrefix("198.18.0.0/20")
	next := netip.MustParseAddr("198.18.1.0")
	for dev := 0; n > 0; dev++ {
		eni := datastore.ENI{
			ID: fmt.Sprintf("eni-0b0000000000000%02d", dev), MAC: fmt.Sprintf("02:00:00:00:00:%02x", dev),
			DeviceIndex: dev, Primary: dev == 0, SubnetID: "subnet-0b000000000000001", SubnetCIDR: subnet,
			PrimaryIP: netip.AddrFrom4([4]byte{198, 18, 0, byte(10 + dev)}),
		}
		for ; n > 0 && len(eni.Blocks) < 50; n-- {
			eni.Blocks = append(eni.Blocks, netip.PrefixFrom(next, 32))
			next = next.Next()
		}
		if err := store.AddENI(eni); err != nil {
			b.Fatal(err)
		}
	}
	svc := ipam.New(store, nil, ipam.Options{Node: ipam.NodeInfo{VPCCIDRs: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/16")}, MTU: 9001}})
	return svc
}

// tmpfsDir is a fresh directory in /dev/shm if there is one, else a temp
// directory.
func tmpfsDir(b testing.TB) string {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if d, err := os.MkdirTemp("/dev/shm", "vpc-cni-bench-"); err == nil {
			b.Cleanup(func() { os.RemoveAll(d) })
			return d
		}
	}
	return b.TempDir()
}
