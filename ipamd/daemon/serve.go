package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
	"github.com/vpc-cni/vpc-cni/ipamd/server"
)

// MetricsPath is where the metrics are served.
const MetricsPath = "/metrics"

// readHeaderTimeout bounds a request's headers on the HTTP endpoints.
const readHeaderTimeout = 10 * time.Second

// listeners are everything ipamd serves on, bound before anything serves,
// so that a port in use stops ipamd before it reports ready.
type listeners struct {
	grpc          *server.Server
	metrics       net.Listener // nil when disabled
	introspection net.Listener // nil when disabled
}

func (l *listeners) close() {
	_ = l.grpc.Close()
	for _, lis := range []net.Listener{l.metrics, l.introspection} {
		if lis != nil {
			_ = lis.Close()
		}
	}
}

func (d *daemon) listen() (*listeners, error) {
	srv, err := server.Listen(d.svc, serverOptions(d.cfg, d.tune))
	if err != nil {
		return nil, fmt.Errorf("listen on the gRPC socket %s: %w", d.cfg.SocketPath, err)
	}
	l := &listeners{grpc: srv}
	metrics, introspection := httpBindings(d.cfg)
	for _, b := range []struct {
		binding
		lis *net.Listener
	}{{metrics, &l.metrics}, {introspection, &l.introspection}} {
		if b.addr == "" {
			continue
		}
		if *b.lis, err = net.Listen("tcp", b.addr); err != nil {
			l.close()
			return nil, fmt.Errorf("listen for %s on %s: %w", b.what, b.addr, err)
		}
	}
	return l, nil
}

// serve serves gRPC, marks the service ready, serves metrics and
// introspection and runs the pool manager, until ctx ends or one of them
// fails; then it stops them all (gracefully, bounded) and returns.
func (d *daemon) serve(parent context.Context) error {
	l, err := d.listen()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	g := &group{cancel: cancel}
	https := d.start(ctx, g, l)
	if err := d.startKubernetes(ctx, g); err != nil {
		cancel()
		d.shutdownHTTP(https)
		return errors.Join(err, g.wait())
	}

	ep := d.endpoints(l)
	d.log.Info("ipamd is ready", logKeyNode, d.cfg.NodeName, logKeySocket, ep.Socket, logKeyMetrics, ep.Metrics,
		logKeyIntrospection, ep.Introspection)
	if d.deps.OnReady != nil {
		d.deps.OnReady(ep)
	}
	<-ctx.Done()
	d.log.Info("ipamd is stopping")
	d.shutdownHTTP(https)
	if err := g.wait(); err != nil {
		return err
	}
	d.log.Info("ipamd stopped")
	return nil
}

// start runs, in g, the gRPC server (then marks the service ready), the
// metrics and introspection servers, the pool manager and SNAT's
// following of the VPC's CIDR blocks; it returns the HTTP servers, for
// shutdownHTTP.
func (d *daemon) start(ctx context.Context, g *group, l *listeners) []*http.Server {
	g.run(func() error { return l.grpc.Serve(ctx) })
	d.svc.SetReady()
	var https []*http.Server
	if l.metrics != nil {
		mux := http.NewServeMux()
		mux.Handle(MetricsPath, promhttp.HandlerFor(d.deps.Registry, promhttp.HandlerOpts{}))
		https = append(https, d.serveHTTP(g, l.metrics, mux, "metrics"))
	}
	if l.introspection != nil {
		https = append(https, d.serveHTTP(g, l.introspection, d.introspection(ctx), "introspection"))
	}
	g.run(func() error { return d.mgr.Run(ctx) })
	g.run(func() error { d.followSNAT(ctx); return nil })
	return https
}

// group runs goroutines until wait; the first that fails cancels the
// others' context.
type group struct {
	wg     sync.WaitGroup
	cancel context.CancelFunc
	mu     sync.Mutex
	errs   []error
}

// run runs f; a non-nil error is kept and cancels the group.
func (g *group) run(f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, err)
			g.mu.Unlock()
			g.cancel()
		}
	})
}

// wait waits for every goroutine and returns their errors, joined.
func (g *group) wait() error {
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return errors.Join(g.errs...)
}

// serveHTTP serves h on lis, in g, until shut down.
func (d *daemon) serveHTTP(g *group, lis net.Listener, h http.Handler, what string) *http.Server {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout}
	g.run(func() error {
		if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("serve %s on %s: %w", what, lis.Addr(), err)
		}
		return nil
	})
	return srv
}

// shutdownHTTP stops the HTTP servers, letting requests in flight finish
// for StopTimeout.
func (d *daemon) shutdownHTTP(srvs []*http.Server) {
	ctx, cancel := context.WithTimeout(context.Background(), d.tune.StopTimeout)
	defer cancel()
	for _, srv := range srvs {
		if err := srv.Shutdown(ctx); err != nil {
			_ = srv.Close()
		}
	}
}

func (d *daemon) endpoints(l *listeners) Endpoints {
	ep := Endpoints{Socket: l.grpc.Path()}
	if l.metrics != nil {
		ep.Metrics = l.metrics.Addr().String()
	}
	if l.introspection != nil {
		ep.Introspection = l.introspection.Addr().String()
	}
	return ep
}

// introspection is the introspection handler over the daemon's state.
func (d *daemon) introspection(ctx context.Context) http.Handler {
	return introspect.New(introspect.Sources{
		ENIs:        d.store.ENIs,
		Allocations: d.store.Allocations,
		Cooling:     d.store.Cooling,
		Config:      func() any { return configView(d.cfg, d.inst, d.vpcCIDRs()) },
		Limits:      func() pool.Limits { return d.limits },
		Pool:        d.mgr.State,
		Health: func() error {
			if st := d.svc.Status(ctx); !st.Ready {
				return errors.New(st.Reason)
			}
			return nil
		},
		Now: d.now,
	})
}
