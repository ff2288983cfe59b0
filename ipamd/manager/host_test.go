package manager

import (
	"context"
	"sync"

	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
)

// testHost is a stateful stand-in for the node's networking: the ENIs set
// up, by MAC, with faults per operation.
type testHost struct {
	mu        sync.Mutex
	enis      map[string]hostnet.ENI
	setups    int
	teardowns int
	setupErr  error // returned by every SetupENI while set
	tearErr   error // returned by every TeardownENI while set
}

var _ hostnet.Host = (*testHost)(nil)

func newTestHost() *testHost { return &testHost{enis: map[string]hostnet.ENI{}} }

func (h *testHost) SetupENI(_ context.Context, e hostnet.ENI) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setups++
	if h.setupErr != nil {
		return h.setupErr
	}
	h.enis[e.MAC] = e
	return nil
}

func (h *testHost) TeardownENI(_ context.Context, e hostnet.ENI) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.teardowns++
	if h.tearErr != nil {
		return h.tearErr
	}
	delete(h.enis, e.MAC)
	return nil
}

func (h *testHost) SetupSNAT(context.Context, hostnet.SNAT) error { return nil }

func (h *testHost) LinkExists(context.Context, string) (bool, error) { return false, nil }

func (h *testHost) setFaults(setup, teardown error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.setupErr, h.tearErr = setup, teardown
}

// eni returns what the host has for a MAC.
func (h *testHost) eni(mac string) (hostnet.ENI, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.enis[mac]
	return e, ok
}

func (h *testHost) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.enis)
}
