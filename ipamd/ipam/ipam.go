// Package ipam is the node's IPAM service as the CNI plugin sees it, behind
// the gRPC server: add (assign an address, waiting a bounded time for the
// pool to grow when it is empty), delete, check, status and garbage
// collection, in terms of the datastore's allocations.
package ipam

import (
	"context"
	"errors"
	"net/netip"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// NodeInfo is what every ADD result carries besides the allocation.
type NodeInfo struct {
	VPCCIDRs     []netip.Prefix
	MTU          int // POD_MTU
	ExternalSNAT bool
}

// AddResult is an allocation and the node facts the plugin needs.
type AddResult struct {
	Allocation datastore.Allocation
	Node       NodeInfo
}

// Status says whether an ADD can succeed now.
type Status struct {
	Ready     bool
	Reason    string // why not, when not ready
	Available int    // addresses an ADD could take now
}

// Backend is the service the gRPC server exposes.
type Backend interface {
	// Add assigns the key an address (the same one on a repeated call).
	Add(ctx context.Context, key datastore.Key, pod datastore.Pod) (AddResult, error)
	// Del releases the key's address; found is false for an unknown key.
	Del(ctx context.Context, key datastore.Key) (a datastore.Allocation, found bool, err error)
	// Check returns the key's allocation if ipamd still holds it.
	Check(ctx context.Context, key datastore.Key) (a datastore.Allocation, found bool, err error)
	// Status reports whether an ADD can succeed now.
	Status(ctx context.Context) Status
	// GC releases every allocation whose key is not in valid, and returns
	// them.
	GC(ctx context.Context, valid []datastore.Key) ([]datastore.Allocation, error)
}

// ErrInvalid is a malformed request (bad container id, ifname, netns);
// nothing was allocated.
var ErrInvalid = errors.New("invalid request")

// ErrNotReady: ipamd is still starting.
var ErrNotReady = errors.New("ipamd is not ready")

// ExhaustedError is an ADD that found no address within its wait. Cause
// names why the pool could not grow (the subnet is full, the ENI limit,
// max pods, EC2 throttling), so the user knows what to fix.
type ExhaustedError struct {
	Cause string
	// Permanent: growing cannot help until something changes (a limit);
	// otherwise the pool is growing or retrying and a later ADD may succeed.
	Permanent bool
	// Class is the cause as a short fixed word (subnet-exhausted,
	// eni-limit, max-pods, throttled, ...) from a pool that tells it
	// (BlockedStater, or BlockedClasser); empty when the pool was growing
	// or does not tell.
	// FailureOf labels the failure with it.
	Class string
}

func (e *ExhaustedError) Error() string { return "no address available: " + e.Cause }
