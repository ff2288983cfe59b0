package cloud

import (
	"context"
	"net/netip"
)

// Metadata is the instance metadata service (IMDS) as ipamd uses it. What it
// reports about ENIs may lag the EC2 API by seconds.
type Metadata interface {
	// Instance describes the node: identity, placement, primary ENI, VPC.
	Instance(ctx context.Context) (Instance, error)
	// ENIs lists every ENI metadata shows attached, ordered like
	// ENIAPI.InstanceENIs: by network card, then device index.
	ENIs(ctx context.Context) ([]ENIMetadata, error)
	// ENI describes the attached ENI with the given MAC; ErrNotFound when
	// metadata does not (yet) show it.
	ENI(ctx context.Context, mac string) (ENIMetadata, error)
}

// CreateENIRequest asks for a new ENI in a subnet with addresses
// pre-assigned: SecondaryIPs secondary addresses, or Prefixes /28 prefixes
// (at most one of the two is non-zero).
type CreateENIRequest struct {
	SubnetID       string
	Description    string
	SecurityGroups []string
	SecondaryIPs   int
	Prefixes       int
	Tags           map[string]string
}

// ENIFilter selects ENIs: an ENI matches when it matches every non-empty
// field. Tags match on key and value (every pair must be present), TagKeys
// on key alone (every key must be present).
type ENIFilter struct {
	IDs        []string
	InstanceID string
	SubnetID   string
	VPCID      string
	Status     string
	Tags       map[string]string
	TagKeys    []string
}

// ENIAPI is the set of EC2 operations ipamd performs on ENIs, in its own
// words. Errors carry one of the sentinel kinds in errors.go where the
// caller can act on them. The error of a call that changes something
// (create, attach, detach, delete, assign, unassign, tag) also carries
// ErrOutcomeUnknown when the call may have taken effect all the same:
// when any of its attempts ended without a definite answer (a timeout, a
// dropped connection, a 5xx), even if a later attempt was refused for a
// definite reason (throttled, or a retry finding the change already made).
type ENIAPI interface {
	// InstanceType returns the networking limits of an instance type.
	InstanceType(ctx context.Context, name string) (InstanceTypeLimits, error)
	// Subnets describes the given subnets; at least one id is required
	// (ErrInvalidParameter otherwise).
	Subnets(ctx context.Context, ids ...string) ([]Subnet, error)
	// InstanceENIs lists every ENI attached to the instance, in any
	// attachment state, ordered by network card, then device index (it
	// repeats across cards), then id.
	InstanceENIs(ctx context.Context, instanceID string) ([]ENI, error)
	// ENIs lists the ENIs that match the filter, across every page.
	ENIs(ctx context.Context, f ENIFilter) ([]ENI, error)
	// CreateENI creates an ENI with its addresses already assigned.
	CreateENI(ctx context.Context, req CreateENIRequest) (ENI, error)
	// AttachENI attaches an ENI at a device index on a network card and
	// returns the attachment id.
	AttachENI(ctx context.Context, eniID, instanceID string, deviceIndex, networkCard int) (string, error)
	// DetachENI detaches by attachment id.
	DetachENI(ctx context.Context, attachmentID string, force bool) error
	// DeleteENI deletes a detached ENI.
	DeleteENI(ctx context.Context, eniID string) error
	// SetDeleteOnTermination sets whether EC2 deletes the ENI when the
	// instance terminates.
	SetDeleteOnTermination(ctx context.Context, eniID, attachmentID string, on bool) error
	// AssignIPs assigns n new secondary addresses and returns them.
	AssignIPs(ctx context.Context, eniID string, n int) ([]netip.Addr, error)
	// AssignPrefixes delegates n new /28 prefixes and returns them.
	AssignPrefixes(ctx context.Context, eniID string, n int) ([]netip.Prefix, error)
	// UnassignIPs releases the given secondary addresses.
	UnassignIPs(ctx context.Context, eniID string, ips []netip.Addr) error
	// UnassignPrefixes releases the given prefixes.
	UnassignPrefixes(ctx context.Context, eniID string, prefixes []netip.Prefix) error
	// TagENI adds or overwrites tags on an ENI.
	TagENI(ctx context.Context, eniID string, tags map[string]string) error
}
