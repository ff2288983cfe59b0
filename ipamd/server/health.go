package server

import (
	"context"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// healthService is the standard gRPC health service, SERVING only while
// the backend says an ADD can succeed. Check asks the backend each time;
// Watch streams the status the periodic refresh records. Both the overall
// service ("") and ipam.v1.IPAM are reported.
type healthService struct {
	*health.Server
	b ipam.Backend
}

var _ healthpb.HealthServer = (*healthService)(nil)

func newHealthService(b ipam.Backend) *healthService {
	h := &healthService{Server: health.NewServer(), b: b}
	// Until the first refresh, nothing is known to work.
	h.set(healthpb.HealthCheckResponse_NOT_SERVING)
	return h
}

func (h *healthService) set(st healthpb.HealthCheckResponse_ServingStatus) {
	h.SetServingStatus("", st)
	h.SetServingStatus(ipamv1.IPAM_ServiceDesc.ServiceName, st)
}

// refresh records the backend's readiness. After Shutdown (the server is
// closing) the health server ignores it and stays NOT_SERVING.
func (h *healthService) refresh(ctx context.Context) {
	st := healthpb.HealthCheckResponse_NOT_SERVING
	if h.b.Status(ctx).Ready {
		st = healthpb.HealthCheckResponse_SERVING
	}
	h.set(st)
}

// Check answers from the backend's readiness now.
func (h *healthService) Check(ctx context.Context, r *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	h.refresh(ctx)
	return h.Server.Check(ctx, r)
}

// run refreshes every interval until done is closed, so that Watch
// streams see changes nobody asked Check about.
func (h *healthService) run(interval time.Duration, done <-chan struct{}) {
	t := time.NewTicker(interval)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-done
		cancel()
	}()
	for {
		h.refresh(ctx)
		select {
		case <-done:
			return
		case <-t.C:
		}
	}
}
