package daemon_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/ipamd/daemon"
	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
)

// TestInstanceTypeFallback: when EC2 does not describe the instance type,
// ipamd uses the built-in table and runs.
func TestInstanceTypeFallback(t *testing.T) {
	t.Parallel()
	c := startCloud(t, world{instType: "c5.4xlarge"}, func(cfg *sim.Config) {
		cfg.Faults = []sim.Fault{{Action: "DescribeInstanceTypes", Code: "InternalError", Probability: 1}}
	})
	r := newNode(t, c, nil).start()
	var l introspect.LimitsView
	r.getJSON(introspect.PathLimits, &l)
	if l.InstanceType != "c5.4xlarge" || l.IPv4PerENI != 30 || l.MaxENIs != 8 || l.MaxPods != 110 {
		t.Errorf("limits = %+v, want c5.4xlarge's from the built-in table", l)
	}
	if n := c.srv.Knobs().Stats().Errors["DescribeInstanceTypes"]["InternalError"]; n == 0 {
		t.Error("EC2 was never asked")
	}
	v := r.waitSteady()
	if got := countsOf(v); got.total != 29 {
		t.Errorf("pool = %+v, want c5.4xlarge's 29", got)
	}
}

// faultyMetadata fails Instance; faultyEC2 says no instance type exists.
type faultyMetadata struct{ cloud.Metadata }

func (faultyMetadata) Instance(context.Context) (cloud.Instance, error) {
	return cloud.Instance{}, errors.New("dial tcp 169.254.169.254:80: connect: no route to host")
}

type oddType struct{ cloud.Metadata }

func (m oddType) Instance(ctx context.Context) (cloud.Instance, error) {
	in, err := m.Metadata.Instance(ctx)
	in.Type = "x9.odd"
	return in, err
}

// TestStartupFailures: what stops ipamd at startup stops it with an error
// that names the cause, and leaves no socket behind.
func TestStartupFailures(t *testing.T) {
	tests := []struct {
		name string
		w    world
		env  map[string]string
		md   func(cloud.Metadata) cloud.Metadata
		want []string
	}{
		{"prefix delegation on Xen", world{instType: "m4.large"}, map[string]string{"ENABLE_PREFIX_DELEGATION": "true"}, nil,
			[]string{"m4.large", "Nitro", "ENABLE_PREFIX_DELEGATION"}},
		{"metadata unreachable", world{}, nil, func(m cloud.Metadata) cloud.Metadata { return faultyMetadata{m} },
			[]string{"instance metadata", "no route to host"}},
		{"unknown instance type", world{}, nil, func(m cloud.Metadata) cloud.Metadata { return oddType{m} },
			[]string{"x9.odd", "built-in table does not know it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := startCloud(t, tt.w, nil)
			n := newNode(t, c, tt.env)
			n.tune.StartupWait = 50 * time.Millisecond
			api, md := c.clients(t, nil)
			var m cloud.Metadata = md
			if tt.md != nil {
				m = tt.md(md)
			}
			ctx, cancel := context.WithTimeout(context.Background(), waitFor)
			defer cancel()
			err := daemon.Run(ctx, n.cfg, daemon.Deps{EC2: api, Metadata: m, Host: n.host, Tuning: n.tune})
			if err == nil {
				t.Fatal("Run = nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Run = %v, want it to name %q", err, w)
				}
			}
			if _, err := os.Stat(n.cfg.SocketPath); !os.IsNotExist(err) {
				t.Errorf("socket after a failed start: %v, want none", err)
			}
		})
	}
}

// TestListenFailures: a socket another ipamd answers on, or a metrics
// port in use, stop ipamd before it serves, naming what is in use.
func TestListenFailures(t *testing.T) {
	t.Parallel()
	c := startCloud(t, world{}, nil)
	first := newNode(t, c, nil)
	r := first.start()

	second := newNode(t, c, nil)
	second.cfg.SocketPath = r.ep.Socket
	if _, err := second.tryStart(); err == nil || !strings.Contains(err.Error(), r.ep.Socket) {
		t.Errorf("a second ipamd on the same socket: %v, want an error naming the socket", err)
	}
	if _, ok := r.check(0); ok {
		t.Error("the first ipamd lost its socket")
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	third := newNode(t, c, nil)
	third.cfg.MetricsAddr = busy.Addr().String()
	if _, err := third.tryStart(); err == nil || !strings.Contains(err.Error(), "METRICS_BIND_ADDRESS") {
		t.Errorf("metrics on a port in use: %v, want an error naming METRICS_BIND_ADDRESS", err)
	}
	if _, err := os.Stat(third.cfg.SocketPath); !os.IsNotExist(err) {
		t.Errorf("socket after a failed start: %v, want none", err)
	}
}

// TestStartupWithoutEC2: when the reconciliation with EC2 keeps failing,
// ipamd serves what it restored, and reconciles once EC2 answers.
func TestStartupWithoutEC2(t *testing.T) {
	t.Parallel()
	c := startCloud(t, world{}, nil)
	n := newNode(t, c, nil)
	r := n.start()
	r.waitSteady()
	ip := r.add(1)
	r.waitSteady()
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	c.srv.Knobs().AddFault(sim.Fault{Action: "DescribeNetworkInterfaces", Code: "Unavailable", Probability: 1})
	n.tune.StartupWait = 100 * time.Millisecond
	r = n.start()
	if got, ok := r.check(1); !ok || got != ip {
		t.Errorf("restored allocation = %s, %v; want %s", got, ok, ip)
	}
	c.srv.Knobs().ClearFaults()
	eventually(t, "a reconciliation after EC2 recovers", func() bool {
		p := r.poolState()
		return p.LastError == "" && ipamdView(r.enis()).String() == c.truthView().String()
	})
}

// TestGracefulStop: Run returns nil when its context ends, answers calls
// in flight, and removes its socket.
func TestGracefulStop(t *testing.T) {
	t.Parallel()
	c := startCloud(t, world{}, func(cfg *sim.Config) {
		cfg.Faults = []sim.Fault{{Action: "AssignPrivateIpAddresses", Code: "InternalError", Probability: 1}}
	})
	n := newNode(t, c, map[string]string{"VPC_CNI_ADD_WAIT": "60"})
	n.tune.StopTimeout = 200 * time.Millisecond
	r := n.start()
	errc := make(chan error, 1)
	go func() {
		_, err := r.tryAdd(1) // waits on a pool that cannot grow
		errc <- err
	}()
	eventually(t, "the pool manager fails", func() bool { return r.poolState().LastError != "" })
	// Stop with the client still connected: the server's stop, not the
	// client going away, must end the call.
	r.cancel()
	select {
	case err := <-r.done:
		close(r.done)
		if err != nil {
			t.Errorf("Run after cancel = %v, want nil", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Run did not return after cancel")
	}
	select {
	case err := <-errc:
		if status.Code(err) != codes.Unavailable && status.Code(err) != codes.Canceled {
			t.Errorf("the ADD in flight = %v, want Unavailable or Canceled", err)
		}
	case <-time.After(waitFor):
		t.Fatal("the ADD in flight was not answered")
	}
	if _, err := os.Stat(r.ep.Socket); !os.IsNotExist(err) {
		t.Errorf("socket after stop: %v, want none", err)
	}
}
