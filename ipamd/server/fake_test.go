package server_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
)

// fakeBackend is a stateful ipam.Backend: a pool of free addresses and the
// allocations keyed by (container id, ifname), with an error to inject per
// method and a count of calls per method.
type fakeBackend struct {
	mu     sync.Mutex
	free   []netip.Addr
	allocs map[datastore.Key]datastore.Allocation
	calls  map[string]int
	errs   map[string]error // by method: Add, Del, Check, GC
	ready  bool
	reason string
	node   ipam.NodeInfo
	// block, if set, makes Add wait for it to close or for its context,
	// after a send on entered (if set, and if there is room).
	block   chan struct{}
	entered chan struct{}
}

var _ ipam.Backend = (*fakeBackend)(nil)

const fakeENI = "eni-0f0000000000000a1"

// newFakeBackend has n free addresses from 198.18.1.10 up, and is ready.
func newFakeBackend(n int) *fakeBackend {
	f := &fakeBackend{
		allocs: map[datastore.Key]datastore.Allocation{},
		calls:  map[string]int{},
		errs:   map[string]error{},
		ready:  true,
		node: ipam.NodeInfo{
			VPCCIDRs: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/16")},
			MTU:      9001,
		},
	}
	a := netip.MustParseAddr("198.18.1.10")
	for range n {
		f.free = append(f.free, a)
		a = a.Next()
	}
	return f
}

// enter counts a call and returns the error injected for the method.
func (f *fakeBackend) enter(method string) error {
	f.calls[method]++
	return f.errs[method]
}

func (f *fakeBackend) setErr(method string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.errs[method] = err
}

func (f *fakeBackend) setReady(ready bool, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ready, f.reason = ready, reason
}

// totalCalls counts calls of every method but Status (which health uses).
func (f *fakeBackend) totalCalls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for m, c := range f.calls {
		if m != "Status" {
			n += c
		}
	}
	return n
}

func (f *fakeBackend) Add(ctx context.Context, key datastore.Key, pod datastore.Pod) (ipam.AddResult, error) {
	f.mu.Lock()
	block, entered := f.block, f.entered
	f.mu.Unlock()
	if block != nil {
		select {
		case entered <- struct{}{}:
		default:
		}
		select {
		case <-block:
		case <-ctx.Done():
			return ipam.AddResult{}, fmt.Errorf("wait for an address: %w", ctx.Err())
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Add"); err != nil {
		return ipam.AddResult{}, err
	}
	if a, ok := f.allocs[key]; ok {
		return ipam.AddResult{Allocation: a, Node: f.node}, nil
	}
	if len(f.free) == 0 {
		return ipam.AddResult{}, &ipam.ExhaustedError{Cause: "the fake pool is empty"}
	}
	ip := f.free[0]
	f.free = f.free[1:]
	a := datastore.Allocation{
		Key: key, Pod: pod, IP: ip, Block: netip.PrefixFrom(ip, 32),
		ENI: fakeENI, DeviceIndex: 1, RouteTable: 2,
	}
	f.allocs[key] = a
	return ipam.AddResult{Allocation: a, Node: f.node}, nil
}

func (f *fakeBackend) Del(_ context.Context, key datastore.Key) (datastore.Allocation, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Del"); err != nil {
		return datastore.Allocation{}, false, err
	}
	a, ok := f.allocs[key]
	if ok {
		delete(f.allocs, key)
		f.free = append(f.free, a.IP)
	}
	return a, ok, nil
}

func (f *fakeBackend) Check(_ context.Context, key datastore.Key) (datastore.Allocation, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("Check"); err != nil {
		return datastore.Allocation{}, false, err
	}
	a, ok := f.allocs[key]
	return a, ok, nil
}

func (f *fakeBackend) Status(context.Context) ipam.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls["Status"]++
	return ipam.Status{Ready: f.ready, Reason: f.reason, Available: len(f.free)}
}

func (f *fakeBackend) GC(_ context.Context, valid []datastore.Key) ([]datastore.Allocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.enter("GC"); err != nil {
		return nil, err
	}
	keep := map[datastore.Key]bool{}
	for _, k := range valid {
		keep[k] = true
	}
	var released []datastore.Allocation
	for k, a := range f.allocs {
		if !keep[k] {
			released = append(released, a)
			delete(f.allocs, k)
			f.free = append(f.free, a.IP)
		}
	}
	return released, nil
}

func keyOf(id, ifname string) datastore.Key {
	return datastore.Key{ContainerID: id, IfName: ifname}
}

// alloc returns the key's allocation.
func (f *fakeBackend) alloc(key datastore.Key) (datastore.Allocation, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	a, ok := f.allocs[key]
	return a, ok
}

// nallocs counts the allocations.
func (f *fakeBackend) nallocs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.allocs)
}
