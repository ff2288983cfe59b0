// Package server is ipamd's gRPC server on its unix socket: a thin adapter
// that checks each ipam.v1.IPAM request, calls the ipam.Backend, and maps
// its answers and errors to the proto and to gRPC status codes; plus the
// standard gRPC health service, SERVING only while the backend says an ADD
// can succeed. It owns the socket file: created with mode 0600, a stale one
// replaced only when nothing answers on it, removed on shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// Defaults of Options.
const (
	DefaultStopTimeout    = 5 * time.Second
	DefaultHealthInterval = time.Second
)

// Options configure a Server.
type Options struct {
	// SocketPath is where to listen (/run/vpc-cni/ipamd.sock in ipamd).
	SocketPath string
	// StopTimeout bounds the graceful stop: calls still running after it
	// are cancelled. Default DefaultStopTimeout.
	StopTimeout time.Duration
	// HealthInterval is how often health watchers see the backend's
	// readiness refreshed (Check always asks it afresh). Default
	// DefaultHealthInterval.
	HealthInterval time.Duration
}

// Server serves the IPAM and health services on a unix socket.
type Server struct {
	opts   Options
	sock   *socket
	grpc   *grpc.Server
	health *healthService

	serveOnce sync.Once
	closeOnce sync.Once
	closed    chan struct{}
	closeErr  error
}

// Listen creates the socket and a server for the backend on it; Serve
// starts answering. Nothing answers before Serve, but connections queue.
func Listen(b ipam.Backend, o Options) (*Server, error) {
	if b == nil {
		return nil, errors.New("server: no backend")
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = DefaultStopTimeout
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = DefaultHealthInterval
	}
	sock, err := listenSocket(o.SocketPath)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:   o,
		sock:   sock,
		grpc:   grpc.NewServer(),
		health: newHealthService(b),
		closed: make(chan struct{}),
	}
	ipamv1.RegisterIPAMServer(s.grpc, &rpc{b: b})
	healthpb.RegisterHealthServer(s.grpc, s.health)
	return s, nil
}

// Path is the socket's path.
func (s *Server) Path() string { return s.sock.path }

// Serve answers calls until ctx ends or Close is called, then stops
// gracefully (bounded by StopTimeout) and removes the socket. It returns
// nil after such a stop and an error if serving failed; it may be called
// once.
func (s *Server) Serve(ctx context.Context) error {
	err := errors.New("server: Serve called twice")
	s.serveOnce.Do(func() { err = s.serve(ctx) })
	return err
}

func (s *Server) serve(ctx context.Context) error {
	go s.health.run(s.opts.HealthInterval, s.closed)
	served := make(chan error, 1)
	go func() { served <- s.grpc.Serve(s.sock.lis) }()
	select {
	case <-ctx.Done():
		cerr := s.Close()
		<-served
		return cerr
	case err := <-served:
		// Either Close stopped the server (Serve returns nil, or
		// ErrServerStopped if Close came first; this Close then waits
		// for that one) or the listener failed.
		cerr := s.Close()
		if err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return errors.Join(fmt.Errorf("serve on %s: %w", s.sock.path, err), cerr)
		}
		return cerr
	}
}

// Close stops the server: health turns NOT_SERVING, new calls are refused,
// calls in flight get StopTimeout to finish and are then cancelled, and
// the socket file is removed. Safe to call more than once and without
// Serve.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.health.Shutdown()
		s.stopGracefully()
		s.closeErr = s.sock.close()
		close(s.closed)
	})
	return s.closeErr
}

func (s *Server) stopGracefully() {
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	t := time.NewTimer(s.opts.StopTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		s.grpc.Stop()
		<-done
	}
}
