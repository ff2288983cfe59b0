// Package ipamc is ipamd as the plugin sees it: a small client over the
// proto/ipam/v1 gRPC contract on ipamd's unix socket, in the plugin's own
// words, with errors the plugin branches on.
package ipamc

import (
	"context"
	"errors"
	"net/netip"
)

// Client is ipamd.
type Client interface {
	// Add gets the attachment's address (the same one again for a repeated
	// ADD).
	Add(ctx context.Context, r AddRequest) (AddResult, error)
	// Del releases the attachment's address; found is false when ipamd
	// did not know it (not an error).
	Del(ctx context.Context, a Attachment) (alloc Allocation, found bool, err error)
	// Check says whether ipamd still holds the attachment's address.
	Check(ctx context.Context, a Attachment) (alloc Allocation, found bool, err error)
	// Status says whether an Add can succeed now.
	Status(ctx context.Context) (Status, error)
	// GC releases every allocation not among valid, and returns them.
	GC(ctx context.Context, valid []Attachment) ([]Released, error)
	Close() error
}

// Attachment is one interface of one container.
type Attachment struct {
	ContainerID string
	IfName      string
}

// AddRequest asks for an attachment's address.
type AddRequest struct {
	Attachment
	NetNS        string
	PodNamespace string
	PodName      string
	PodUID       string
	HostIfName   string
}

// Allocation is an address and where it lives.
type Allocation struct {
	IP          netip.Addr
	ENI         string
	DeviceIndex int
	// RouteTable is the table of the address's ENI: 254 (main) for the
	// primary ENI, device index + 1 otherwise.
	RouteTable int
	Block      netip.Prefix
	// HostIfName is the pod's host veth ipamd recorded at Add; empty when
	// unknown.
	HostIfName string
}

// AddResult is an Add's answer.
type AddResult struct {
	Allocation
	VPCCIDRs     []netip.Prefix
	MTU          int
	ExternalSNAT bool
}

// Status is ipamd's readiness.
type Status struct {
	Ready     bool
	Reason    string
	Available int
}

// Released is an attachment GC released, with its address.
type Released struct {
	Attachment
	Allocation
}

// MainTable is the main routing table's number.
const MainTable = 254

var (
	// ErrUnreachable: nothing answers on the socket (ipamd not running:
	// the socket absent, or connection refused).
	ErrUnreachable = errors.New("ipamd unreachable")
	// ErrUnavailable: ipamd is there but could not serve the call now: it
	// answered Unavailable itself (it is starting, or could not write its
	// checkpoint; the message is ipamd's), or the connection broke during
	// the call, or could not be made for another reason than absence (its
	// listen backlog full). Try again later.
	ErrUnavailable = errors.New("ipamd unavailable")
	// ErrTimeout: ipamd did not answer within the call's deadline.
	ErrTimeout = errors.New("ipamd did not answer in time")
	// ErrRejected: ipamd refused the request as invalid.
	ErrRejected = errors.New("ipamd rejected the request")
	// ErrMalformed: ipamd's answer could not be read (a field that does
	// not parse or is out of range); the error names the field.
	ErrMalformed = errors.New("malformed answer from ipamd")
)

// ExhaustedError: ipamd has no address for the pod. Permanent: a limit
// (ENIs, max pods, subnet) stops the pool growing; otherwise the pool is
// growing and a retry may succeed.
type ExhaustedError struct {
	Cause     string
	Permanent bool
}

func (e *ExhaustedError) Error() string { return "no address available: " + e.Cause }
