package main

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// checkHealth asks ipamd's standard gRPC health service on its unix socket
// about the overall service (""). It reports whether ipamd is SERVING; an
// error means nothing answered.
func checkHealth(ctx context.Context, socket string) (bool, error) {
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return false, fmt.Errorf("ipamd client for %s: %w", socket, err)
	}
	defer conn.Close()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(false))
	if err != nil {
		return false, fmt.Errorf("ipamd health at %s: %w (is ipamd running?)", socket, err)
	}
	return resp.GetStatus() == healthpb.HealthCheckResponse_SERVING, nil
}
