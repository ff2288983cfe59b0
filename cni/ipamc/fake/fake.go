// Package fake is a stateful, in-process ipamd for the plugin's tests: the
// proto/ipam/v1 IPAM service on a real unix socket, handing out a fixed
// list of addresses with ipamd's semantics (idempotent AddNetwork per
// container id and ifname, DelNetwork and CheckNetwork of an unknown
// attachment answered with found=false, GarbageCollect releasing every
// attachment not named valid, Status ready while an address is available or
// the pool can grow), the same request checks and the same gRPC codes. It
// records what it was asked, injects a fault or a delay per RPC, and can be
// stopped mid-test to make ipamd unreachable.
package fake

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/vpc-cni/vpc-cni/cni/ipamc"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// The RPCs, by the names Calls, SetFault and SetDelay take.
const (
	RPCAddNetwork     = "AddNetwork"
	RPCDelNetwork     = "DelNetwork"
	RPCCheckNetwork   = "CheckNetwork"
	RPCStatus         = "Status"
	RPCGarbageCollect = "GarbageCollect"
)

var rpcs = []string{RPCAddNetwork, RPCDelNetwork, RPCCheckNetwork, RPCStatus, RPCGarbageCollect}

// The default addresses' ENIs.
const (
	PrimaryENI   = "eni-0"
	SecondaryENI = "eni-1"
)

// Defaults of Options.
const DefaultMTU = 9001

// DefaultVPCCIDR is the default of Options.VPCCIDRs.
var DefaultVPCCIDR = netip.MustParsePrefix("198.18.0.0/16")

// DefaultAddresses are the addresses a Server hands out by default, in
// order: 198.18.1.10 to .29 on the primary ENI (device 0, the main table),
// then 198.18.2.10 to .29 on SecondaryENI (device 1, table 2), each its
// own /32 block.
func DefaultAddresses() []ipamc.Allocation {
	return append(Addresses(PrimaryENI, 0, netip.MustParseAddr("198.18.1.10"), 20),
		Addresses(SecondaryENI, 1, netip.MustParseAddr("198.18.2.10"), 20)...)
}

// Addresses are n consecutive addresses from first on an ENI at a device
// index, each its own /32 block, with the ENI's route table: the main
// table for device 0, device index + 1 otherwise.
func Addresses(eni string, device int, first netip.Addr, n int) []ipamc.Allocation {
	out := make([]ipamc.Allocation, 0, n)
	for ip := first; len(out) < n && ip.IsValid(); ip = ip.Next() {
		out = append(out, normalize(ipamc.Allocation{IP: ip, ENI: eni, DeviceIndex: device}))
	}
	return out
}

// Options configure a Server.
type Options struct {
	// Addresses are handed out in this order (a released one goes to the
	// end, as ipamd's cooldown keeps it from the next pod). A zero
	// RouteTable is the main table for device 0 and device index + 1
	// otherwise; a zero Block is the address's /32. Default
	// DefaultAddresses().
	Addresses []ipamc.Allocation
	// VPCCIDRs, MTU and ExternalSNAT are what every AddNetwork answer
	// carries. Defaults: DefaultVPCCIDR, DefaultMTU, node SNAT.
	VPCCIDRs     []netip.Prefix
	MTU          int
	ExternalSNAT bool
}

// Held is an allocation the server holds, with the request that made it.
type Held struct {
	ipamc.Attachment
	ipamc.Allocation
	NetNS        string
	PodNamespace string
	PodName      string
	PodUID       string
	HostIfName   string
}

// Server is the fake ipamd. Safe for concurrent use.
type Server struct {
	ipamv1.UnimplementedIPAMServer

	t        testing.TB
	dir      string
	socket   string
	grpc     *grpc.Server
	served   chan struct{}
	stopOnce sync.Once

	mu        sync.Mutex
	node      *ipamv1.AddNetworkResponse // the node facts of every answer
	free      []ipamc.Allocation
	held      map[ipamc.Attachment]Held
	calls     map[string]int
	faults    map[string]*status.Status
	delays    map[string]time.Duration
	lastAdd   *ipamv1.AddNetworkRequest
	notReady  bool
	blocked   string
	permanent bool
}

var _ ipamv1.IPAMServer = (*Server)(nil)

// Start serves a fake ipamd on a unix socket in a fresh directory of its
// own; t.Cleanup stops it and removes the directory.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	// Not t.TempDir(): its paths can exceed the 107 bytes of a unix
	// socket's path.
	dir, err := os.MkdirTemp("", "ipamc-fake-")
	if err != nil {
		t.Fatalf("fake ipamd: %v", err)
	}
	s := newServer(t, o)
	s.dir, s.socket = dir, filepath.Join(dir, "ipamd.sock")
	lis, err := net.Listen("unix", s.socket)
	if err != nil {
		os.RemoveAll(dir)
		t.Fatalf("fake ipamd: listen: %v", err)
	}
	s.grpc = grpc.NewServer()
	ipamv1.RegisterIPAMServer(s.grpc, s)
	go func() {
		defer close(s.served)
		// Serve returns when Stop closes the listener; nothing to report.
		_ = s.grpc.Serve(lis)
	}()
	t.Cleanup(func() {
		s.Stop()
		os.RemoveAll(dir)
	})
	return s
}

func newServer(t testing.TB, o Options) *Server {
	if o.Addresses == nil {
		o.Addresses = DefaultAddresses()
	}
	if o.VPCCIDRs == nil {
		o.VPCCIDRs = []netip.Prefix{DefaultVPCCIDR}
	}
	if o.MTU == 0 {
		o.MTU = DefaultMTU
	}
	node := &ipamv1.AddNetworkResponse{Mtu: int32(o.MTU), SnatMode: ipamv1.SNATMode_SNAT_MODE_NODE}
	if o.ExternalSNAT {
		node.SnatMode = ipamv1.SNATMode_SNAT_MODE_EXTERNAL
	}
	for _, p := range o.VPCCIDRs {
		node.VpcCidrs = append(node.VpcCidrs, p.String())
	}
	s := &Server{
		t: t, node: node, served: make(chan struct{}),
		held:   map[ipamc.Attachment]Held{},
		calls:  map[string]int{},
		faults: map[string]*status.Status{},
		delays: map[string]time.Duration{},
	}
	for _, a := range o.Addresses {
		s.free = append(s.free, normalize(a))
	}
	return s
}

// normalize fills an address's zero route table and block.
func normalize(a ipamc.Allocation) ipamc.Allocation {
	if a.RouteTable == 0 {
		a.RouteTable = ipamc.MainTable
		if a.DeviceIndex > 0 {
			a.RouteTable = a.DeviceIndex + 1
		}
	}
	if !a.Block.IsValid() {
		a.Block = netip.PrefixFrom(a.IP, a.IP.BitLen())
	}
	return a
}

// Socket is the path of the server's unix socket.
func (s *Server) Socket() string { return s.socket }

// Stop stops serving at once (calls in flight fail) and removes the
// socket, so that ipamd is unreachable (ipamc.ErrUnreachable) from then
// on. Safe to call twice.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		s.grpc.Stop()
		<-s.served
		os.Remove(s.socket)
	})
}

// Allocations are the allocations the server holds, ordered by address.
func (s *Server) Allocations() []Held {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Held, 0, len(s.held))
	for _, h := range s.held {
		out = append(out, h)
	}
	slices.SortFunc(out, func(a, b Held) int { return a.IP.Compare(b.IP) })
	return out
}

// Free is how many addresses an AddNetwork could take now.
func (s *Server) Free() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.free)
}

// Calls is how many calls of rpc the server received, faulted ones
// included.
func (s *Server) Calls(rpc string) int {
	s.checkRPC(rpc)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[rpc]
}

// LastAddRequest is a copy of the last AddNetworkRequest received (faulted
// or not), nil if none.
func (s *Server) LastAddRequest() *ipamv1.AddNetworkRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastAdd == nil {
		return nil
	}
	return proto.CloneOf(s.lastAdd)
}

// SetFault makes every call of rpc fail with code and msg, changing
// nothing, until ClearFaults. The server answers it: codes.Unavailable is
// an ipamd that is there but cannot serve (ipamc.ErrUnavailable), not an
// absent one (Stop, ipamc.ErrUnreachable).
func (s *Server) SetFault(rpc string, code codes.Code, msg string) {
	s.checkRPC(rpc)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[rpc] = status.New(code, msg)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.faults)
}

// SetDelay makes every call of rpc wait d (or until its caller gives up)
// before it is served; zero removes the delay.
func (s *Server) SetDelay(rpc string, d time.Duration) {
	s.checkRPC(rpc)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delays[rpc] = d
}

// SetReady(false) makes the server a starting ipamd: every call fails
// with Unavailable (ipamc.ErrUnavailable), Status says why; SetReady(true)
// ends it.
func (s *Server) SetReady(ready bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notReady = !ready
}

// SetBlocked says the pool cannot grow, and why: with no free address, an
// AddNetwork fails with FailedPrecondition (permanent) or
// ResourceExhausted naming cause, and Status is not ready with cause as its
// reason. An empty cause ends it: the pool is "growing" again.
func (s *Server) SetBlocked(cause string, permanent bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.blocked, s.permanent = cause, permanent
}

// checkRPC fails the test on an RPC name the server does not serve.
func (s *Server) checkRPC(rpc string) {
	if !slices.Contains(rpcs, rpc) {
		s.t.Helper()
		s.t.Fatalf("fake ipamd: no RPC %q (want one of %v)", rpc, rpcs)
	}
}

// enter counts a call of rpc, waits its delay and returns its fault.
func (s *Server) enter(ctx context.Context, rpc string) error {
	s.mu.Lock()
	s.calls[rpc]++
	d := s.delays[rpc]
	s.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f := s.faults[rpc]; f != nil {
		return f.Err()
	}
	return nil
}

// errf is a gRPC status error.
func errf(code codes.Code, format string, args ...any) error {
	return status.Error(code, fmt.Sprintf(format, args...))
}
