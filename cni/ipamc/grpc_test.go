package ipamc_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/vpc-cni/vpc-cni/cni/ipamc"
	"github.com/vpc-cni/vpc-cni/cni/ipamc/fake"
)

func TestAddCarriesRequestAndNodeFacts(t *testing.T) {
	secondary := ipamc.Allocation{IP: netip.MustParseAddr("198.18.3.20"), ENI: "eni-3", DeviceIndex: 3,
		Block: netip.MustParsePrefix("198.18.3.16/28")}
	s := fake.Start(t, fake.Options{
		Addresses:    []ipamc.Allocation{secondary},
		VPCCIDRs:     []netip.Prefix{netip.MustParsePrefix("198.18.0.0/16"), netip.MustParsePrefix("203.0.113.0/24")},
		MTU:          1500,
		ExternalSNAT: true,
	})
	c := dial(t, s.Socket())
	req := addReq("c1", "eth0")
	res, err := c.Add(ctxT(t), req)
	if err != nil {
		t.Fatalf("Add: %v", err)
	}
	secondary.RouteTable = 4 // device index + 1
	secondary.HostIfName = req.HostIfName
	if res.Allocation != secondary || res.MTU != 1500 || !res.ExternalSNAT || len(res.VPCCIDRs) != 2 ||
		res.VPCCIDRs[1] != netip.MustParsePrefix("203.0.113.0/24") {
		t.Errorf("Add = %+v", res)
	}
	got := s.LastAddRequest()
	if got.GetContainerId() != "c1" || got.GetIfname() != "eth0" || got.GetNetns() != req.NetNS ||
		got.GetPodNamespace() != "default" || got.GetPodName() != "web-c1" || got.GetPodUid() != "uid-c1" ||
		got.GetHostIfname() != "enic1" {
		t.Errorf("ipamd got %v from %+v", got, req)
	}
}

func TestDialMissingSocket(t *testing.T) {
	path := filepath.Join(shortDir(t), "ipamd.sock")
	c, err := ipamc.Dial(path)
	if !errors.Is(err, ipamc.ErrUnreachable) || !strings.Contains(err.Error(), path) ||
		!strings.Contains(err.Error(), "is ipamd running?") {
		t.Errorf("Dial of a missing socket = %v, %v; want ErrUnreachable naming %s and asking whether ipamd runs", c, err, path)
	}
}

func TestDialNotASocket(t *testing.T) {
	path := filepath.Join(shortDir(t), "ipamd.sock")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ipamc.Dial(path); !errors.Is(err, ipamc.ErrUnreachable) || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("Dial of a regular file = %v; want ErrUnreachable, not a socket", err)
	}
	if _, err := ipamc.Dial(""); err == nil || errors.Is(err, ipamc.ErrUnreachable) {
		t.Errorf("Dial of no path = %v; want a configuration error", err)
	}
}

// Every call fails at once with ErrUnreachable, never waiting for its
// deadline (the context's is a minute; ErrTimeout would say it waited),
// when nothing listens on the socket or it disappeared.
func TestUnreachable(t *testing.T) {
	stale := func(t *testing.T) *ipamc.GRPC {
		path := filepath.Join(shortDir(t), "ipamd.sock")
		lis, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		lis.SetUnlinkOnClose(false)
		lis.Close()
		return dial(t, path)
	}
	stopped := func(t *testing.T) *ipamc.GRPC {
		s := fake.Start(t, fake.Options{})
		c := dial(t, s.Socket())
		if _, err := c.Status(ctxT(t)); err != nil {
			t.Fatalf("Status before Stop: %v", err)
		}
		s.Stop()
		return c
	}
	for _, tc := range []struct {
		name, want string
		client     func(t *testing.T) *ipamc.GRPC
	}{
		{"nobody listens", "connection refused", stale},
		{"ipamd stopped", "no such file or directory", stopped},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client(t)
			for name, call := range allCalls(c) {
				err := call(ctxT(t))
				if !errors.Is(err, ipamc.ErrUnreachable) || errors.Is(err, ipamc.ErrUnavailable) ||
					!strings.Contains(err.Error(), c.Socket()) ||
					!strings.Contains(err.Error(), "is ipamd running?") || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: %v; want ErrUnreachable naming the socket (%q)", name, err, tc.want)
				}
			}
		})
	}
}

// allCalls are the client's calls, by name, their answers dropped.
func allCalls(c ipamc.Client) map[string]func(context.Context) error {
	return map[string]func(context.Context) error{
		fake.RPCAddNetwork: func(ctx context.Context) error { _, err := c.Add(ctx, addReq("c1", "eth0")); return err },
		fake.RPCDelNetwork: func(ctx context.Context) error { _, _, err := c.Del(ctx, att("c1", "eth0")); return err },
		fake.RPCCheckNetwork: func(ctx context.Context) error {
			_, _, err := c.Check(ctx, att("c1", "eth0"))
			return err
		},
		fake.RPCStatus:         func(ctx context.Context) error { _, err := c.Status(ctx); return err },
		fake.RPCGarbageCollect: func(ctx context.Context) error { _, err := c.GC(ctx, nil); return err },
	}
}

func TestDeadline(t *testing.T) {
	s := fake.Start(t, fake.Options{})
	c := dial(t, s.Socket())
	for name, call := range allCalls(c) {
		s.SetDelay(name, time.Hour)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
		err := call(ctx)
		cancel()
		if !errors.Is(err, ipamc.ErrTimeout) || !strings.Contains(err.Error(), c.Socket()) {
			t.Errorf("%s past its deadline: %v; want ErrTimeout naming the socket", name, err)
		}
		s.SetDelay(name, 0)
	}
	if len(s.Allocations()) != 0 {
		t.Errorf("a timed-out Add allocated %+v", s.Allocations())
	}
}

func TestCanceled(t *testing.T) {
	s := fake.Start(t, fake.Options{})
	c := dial(t, s.Socket())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Status(ctx); !errors.Is(err, context.Canceled) || errors.Is(err, ipamc.ErrTimeout) {
		t.Errorf("Status with a canceled context: %v; want context.Canceled", err)
	}
}

// Each code ipamd answers maps to the error the plugin branches on, and
// keeps ipamd's message.
func TestErrorMapping(t *testing.T) {
	tests := []struct {
		code codes.Code
		msg  string
		is   error                 // the sentinel, if any
		ex   *ipamc.ExhaustedError // the exhausted error, if any
	}{
		{code: codes.Unavailable, msg: "ipamd is not ready", is: ipamc.ErrUnavailable},
		{code: codes.Unavailable, msg: "assign: checkpoint write failed: disk full", is: ipamc.ErrUnavailable},
		{code: codes.DeadlineExceeded, msg: "wait for an address: context deadline exceeded", is: ipamc.ErrTimeout},
		{code: codes.InvalidArgument, msg: "invalid netns: \"x\" is not an absolute path", is: ipamc.ErrRejected},
		{code: codes.Canceled, msg: "wait for an address: context canceled", is: context.Canceled},
		{code: codes.ResourceExhausted, msg: "no address available: the pool is growing",
			ex: &ipamc.ExhaustedError{Cause: "the pool is growing"}},
		{code: codes.FailedPrecondition, msg: "no address available: the subnet subnet-1 is full",
			ex: &ipamc.ExhaustedError{Cause: "the subnet subnet-1 is full", Permanent: true}},
		{code: codes.ResourceExhausted, msg: "EC2 throttles", ex: &ipamc.ExhaustedError{Cause: "EC2 throttles"}},
		{code: codes.Internal, msg: "ipamd assigned c1/eth0 no IPv4 address"},
		{code: codes.Unimplemented, msg: "unknown method GarbageCollect"},
	}
	s := fake.Start(t, fake.Options{})
	c := dial(t, s.Socket())
	sentinels := []error{ipamc.ErrUnreachable, ipamc.ErrUnavailable, ipamc.ErrTimeout, ipamc.ErrRejected,
		ipamc.ErrMalformed, context.Canceled}
	for _, tc := range tests {
		for name, call := range allCalls(c) {
			s.SetFault(name, tc.code, tc.msg)
			err := call(ctxT(t))
			s.ClearFaults()
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("%s failing with %v %q: %v; want ipamd's message", name, tc.code, tc.msg, err)
				continue
			}
			for _, sentinel := range sentinels {
				if errors.Is(err, sentinel) != (sentinel == tc.is) {
					t.Errorf("%s failing with %v: %v; errors.Is(%v) = %v", name, tc.code, err, sentinel, !(sentinel == tc.is))
				}
			}
			var ex *ipamc.ExhaustedError
			if errors.As(err, &ex) != (tc.ex != nil) || tc.ex != nil && *ex != *tc.ex {
				t.Errorf("%s failing with %v %q: %#v; want %#v", name, tc.code, tc.msg, err, tc.ex)
			}
		}
	}
	if st, err := c.Status(ctxT(t)); err != nil || !st.Ready {
		t.Errorf("Status after ClearFaults = %+v, %v", st, err)
	}
	if n := len(s.Allocations()); n != 0 {
		t.Errorf("faulted calls allocated %d addresses", n)
	}
}

// ipamd stopping while a call is in flight, its socket gone: the call
// fails with ErrUnreachable, as the next would (the connection that broke
// cannot be made again).
func TestStoppedDuringCall(t *testing.T) {
	for _, name := range []string{fake.RPCAddNetwork, fake.RPCDelNetwork, fake.RPCCheckNetwork, fake.RPCStatus,
		fake.RPCGarbageCollect} {
		t.Run(name, func(t *testing.T) {
			s := fake.Start(t, fake.Options{})
			c := dial(t, s.Socket())
			s.SetDelay(name, time.Hour)
			ctx, call := ctxT(t), allCalls(c)[name]
			done := make(chan error, 1)
			go func() { done <- call(ctx) }()
			waitFor(t, func() bool { return s.Calls(name) == 1 })
			s.Stop()
			err := <-done
			if !errors.Is(err, ipamc.ErrUnreachable) || errors.Is(err, ipamc.ErrUnavailable) ||
				!strings.Contains(err.Error(), "is ipamd running?") {
				t.Errorf("%s cut by ipamd stopping: %v; want ErrUnreachable", name, err)
			}
		})
	}
}

// Something accepts connections on the socket but does not serve gRPC (an
// ipamd wedged or starting): that is not an absent ipamd, and every call
// fails with ErrUnavailable, so that a DEL is retried.
func TestUnavailableWhenNotServing(t *testing.T) {
	path := filepath.Join(shortDir(t), "ipamd.sock")
	lis, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			conn, err := lis.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	t.Cleanup(func() {
		lis.Close()
		<-accepted
	})
	c := dial(t, path)
	for name, call := range allCalls(c) {
		err := call(ctxT(t))
		if !errors.Is(err, ipamc.ErrUnavailable) || errors.Is(err, ipamc.ErrUnreachable) ||
			!strings.Contains(err.Error(), path) {
			t.Errorf("%s: %v; want ErrUnavailable naming the socket", name, err)
		}
	}
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline (nothing is asserted about how long it takes).
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached")
		}
		time.Sleep(time.Millisecond)
	}
}
