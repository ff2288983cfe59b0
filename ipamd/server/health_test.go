package server_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	"github.com/vpc-cni/vpc-cni/ipamd/server"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

func TestHealthCheck(t *testing.T) {
	b := newFakeBackend(1)
	b.setReady(false, "restoring the checkpoint")
	h := start(t, b, server.Options{})
	hc := healthpb.NewHealthClient(h.conn)
	ctx := ctxT(t)

	check := func(service string, want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: service})
		if err != nil || resp.GetStatus() != want {
			t.Errorf("Check(%q) = %v, %v; want %v", service, resp, err, want)
		}
	}
	for _, svc := range []string{"", ipamv1.IPAM_ServiceDesc.ServiceName} {
		check(svc, healthpb.HealthCheckResponse_NOT_SERVING)
	}
	b.setReady(true, "")
	for _, svc := range []string{"", ipamv1.IPAM_ServiceDesc.ServiceName} {
		check(svc, healthpb.HealthCheckResponse_SERVING)
	}
	b.setReady(false, "max pods reached (29)")
	check("", healthpb.HealthCheckResponse_NOT_SERVING)

	_, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: "no.such.Service"})
	if status.Code(err) != codes.NotFound {
		t.Errorf("Check of an unknown service: %v; want NotFound", err)
	}
}

// TestHealthWatch: a watcher sees readiness change without calling Check.
func TestHealthWatch(t *testing.T) {
	b := newFakeBackend(1)
	b.setReady(false, "starting")
	h := start(t, b, server.Options{HealthInterval: 10 * time.Millisecond})
	ctx := ctxT(t)
	stream, err := healthpb.NewHealthClient(h.conn).Watch(ctx, &healthpb.HealthCheckRequest{})
	if err != nil {
		t.Fatal(err)
	}
	next := func() healthpb.HealthCheckResponse_ServingStatus {
		t.Helper()
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("Watch: %v", err)
		}
		return resp.GetStatus()
	}
	if got := next(); got != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("first status %v, want NOT_SERVING", got)
	}
	b.setReady(true, "")
	// The stream sends only changes; wait (bounded by ctx) for SERVING.
	for next() != healthpb.HealthCheckResponse_SERVING {
	}
	// Shutting down turns it NOT_SERVING before the stream ends.
	go h.stop()
	for {
		resp, err := stream.Recv()
		if err != nil {
			t.Fatalf("stream ended (%v) without NOT_SERVING", err)
		}
		if resp.GetStatus() == healthpb.HealthCheckResponse_NOT_SERVING {
			break
		}
	}
}

// TestGracefulStopBounded: a call still running when the server stops is
// cancelled after StopTimeout, and the stop completes.
func TestGracefulStopBounded(t *testing.T) {
	b := newFakeBackend(1)
	b.block = make(chan struct{}) // Add waits until its context ends
	b.entered = make(chan struct{}, 1)
	h := start(t, b, server.Options{StopTimeout: 50 * time.Millisecond})
	ctx := ctxT(t)

	done := make(chan error, 1)
	go func() {
		_, err := h.client.AddNetwork(ctx, addReq("c1", "eth0"))
		done <- err
	}()
	select {
	case <-b.entered:
	case <-ctx.Done():
		t.Fatal("AddNetwork never reached the backend")
	}
	if err := h.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("AddNetwork succeeded; want it cancelled by the stop")
		}
	case <-ctx.Done():
		t.Fatal("AddNetwork still running after the stop")
	}
}

// TestRealService: over ipamd's own service and datastore, calls are
// Unavailable and health NOT_SERVING until the daemon says it is ready.
func TestRealService(t *testing.T) {
	svc := warmService(t, 2)
	h := start(t, svc, server.Options{})
	hc := healthpb.NewHealthClient(h.conn)
	ctx := ctxT(t)

	_, err := h.client.AddNetwork(ctx, addReq("c1", "eth0"))
	if status.Code(err) != codes.Unavailable {
		t.Errorf("AddNetwork before ready: %v; want Unavailable", err)
	}
	if resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Errorf("health before ready = %v, %v; want NOT_SERVING", resp, err)
	}

	svc.SetReady()
	if resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}); err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health when ready = %v, %v; want SERVING", resp, err)
	}
	var ips []string
	for _, id := range []string{"c1", "c2"} {
		resp, err := h.client.AddNetwork(ctx, addReq(id, "eth0"))
		if err != nil {
			t.Fatalf("AddNetwork %s: %v", id, err)
		}
		ips = append(ips, resp.GetAllocation().GetIpv4())
	}
	if ips[0] == ips[1] || ips[0] == "" {
		t.Errorf("addresses %v; want two distinct", ips)
	}
	// The pool of two is empty; with no pool manager it cannot grow, and
	// the call's own deadline bounds the wait.
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = h.client.AddNetwork(short, addReq("c3", "eth0"))
	if c := status.Code(err); c != codes.ResourceExhausted && c != codes.DeadlineExceeded {
		t.Errorf("AddNetwork on an empty pool: %v; want ResourceExhausted or DeadlineExceeded", err)
	}
	del, err := h.client.DelNetwork(ctx, &ipamv1.DelNetworkRequest{ContainerId: "c1", Ifname: "eth0"})
	if err != nil || !del.GetFound() || del.GetAllocation().GetIpv4() != ips[0] {
		t.Errorf("DelNetwork = %v, %v; want %s released", del, err, ips[0])
	}
}
