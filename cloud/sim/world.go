package sim

import (
	"errors"
	"net/netip"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// CONTRACT STUB: the exported signatures below are the contract between the
// World (state and EC2 semantics) and the HTTP layer. The bodies are filled
// in by the engine work; signatures change only by agreement.

var errTODO = errors.New("not implemented")

// WorldOptions configures a World.
type WorldOptions struct {
	Region    string // default us-west-2
	AccountID string // default 123456789012
	// AttachDelay is how long an attachment stays "attaching" (and
	// DetachDelay "detaching") before it settles.
	AttachDelay time.Duration
	DetachDelay time.Duration
	// IMDSLag is how long instance metadata lags the EC2 API: an attach, an
	// assign or an unassign shows in IMDSView only IMDSLag after it happened.
	IMDSLag time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Seed seeds address and id choice; 0 picks a random seed.
	Seed int64
}

// World is the emulated EC2 state of one account in one region. It is safe
// for concurrent use; everything it returns is a copy.
type World struct{}

// NewWorld returns an empty world.
func NewWorld(opts WorldOptions) *World { return &World{} }

// SetDelays changes the attach, detach and IMDS propagation delays.
func (w *World) SetDelays(attach, detach, imdsLag time.Duration) {}

// Region returns the world's region.
func (w *World) Region() string { return "" }

// CreateVPC creates a VPC.
func (w *World) CreateVPC(cidr netip.Prefix, tags []Tag) (VPC, error) { return VPC{}, errTODO }

// CreateSubnet creates a subnet inside a VPC's CIDR blocks.
func (w *World) CreateSubnet(vpcID, az string, cidr netip.Prefix, tags []Tag) (Subnet, error) {
	return Subnet{}, errTODO
}

// LaunchInstance starts a running instance of a type from the built-in
// table, with its primary ENI (device index 0, DeleteOnTermination) in the
// subnet. primaryIP may be the zero Addr to pick one.
func (w *World) LaunchInstance(instanceType, subnetID string, primaryIP netip.Addr) (Instance, error) {
	return Instance{}, errTODO
}

// TerminateInstance terminates an instance: ENIs attached with
// DeleteOnTermination are deleted, the others detached.
func (w *World) TerminateInstance(id string) error { return errTODO }

// Snapshot returns the ground truth of every VPC, subnet, instance and ENI.
func (w *World) Snapshot() State { return State{} }

// InstanceByIP finds the running instance whose primary address is ip.
func (w *World) InstanceByIP(ip netip.Addr) (Instance, bool) { return Instance{}, false }

// DefaultInstance is the instance IMDS answers for a caller that matches
// none: the first instance launched that is still running.
func (w *World) DefaultInstance() (Instance, bool) { return Instance{}, false }

// IMDSView returns what instance metadata shows for an instance now, lagging
// the EC2 state by IMDSLag.
func (w *World) IMDSView(instanceID string) (IMDSView, error) { return IMDSView{}, errTODO }

// The EC2 actions. Errors are *APIError with EC2's codes.

// DescribeInstances describes instances by id and filters.
func (w *World) DescribeInstances(ids []string, filters []Filter) ([]Instance, error) {
	return nil, errTODO
}

// DescribeInstanceTypes describes instance types from the built-in table.
func (w *World) DescribeInstanceTypes(types []string, filters []Filter) ([]cloud.InstanceTypeLimits, error) {
	return nil, errTODO
}

// DescribeSubnets describes subnets by id and filters.
func (w *World) DescribeSubnets(ids []string, filters []Filter) ([]Subnet, error) {
	return nil, errTODO
}

// DescribeVpcs describes VPCs by id and filters.
func (w *World) DescribeVpcs(ids []string, filters []Filter) ([]VPC, error) { return nil, errTODO }

// DescribeNetworkInterfaces describes ENIs by id and filters, ordered by id.
func (w *World) DescribeNetworkInterfaces(ids []string, filters []Filter) ([]ENI, error) {
	return nil, errTODO
}

// CreateNetworkInterface creates an ENI.
func (w *World) CreateNetworkInterface(in CreateENIInput) (ENI, error) { return ENI{}, errTODO }

// AttachNetworkInterface attaches an ENI and returns the attachment id.
func (w *World) AttachNetworkInterface(eniID, instanceID string, deviceIndex, networkCard int) (string, error) {
	return "", errTODO
}

// DetachNetworkInterface detaches by attachment id.
func (w *World) DetachNetworkInterface(attachmentID string, force bool) error { return errTODO }

// DeleteNetworkInterface deletes a detached ENI.
func (w *World) DeleteNetworkInterface(eniID string) error { return errTODO }

// SetDeleteOnTermination is ModifyNetworkInterfaceAttribute's attachment
// form.
func (w *World) SetDeleteOnTermination(eniID, attachmentID string, on bool) error { return errTODO }

// ModifyDescription is ModifyNetworkInterfaceAttribute's description form.
func (w *World) ModifyDescription(eniID, description string) error { return errTODO }

// AssignPrivateIpAddresses assigns secondary addresses or /28 prefixes.
func (w *World) AssignPrivateIpAddresses(in AssignInput) (AssignResult, error) {
	return AssignResult{}, errTODO
}

// UnassignPrivateIpAddresses releases secondary addresses or prefixes.
func (w *World) UnassignPrivateIpAddresses(eniID string, ips []netip.Addr, prefixes []netip.Prefix) error {
	return errTODO
}

// CreateTags adds or overwrites tags on resources of any kind.
func (w *World) CreateTags(resourceIDs []string, tags []Tag) error { return errTODO }

// DeleteTags removes tags; a tag given with a value is removed only when the
// value matches, a tag with deleteAnyValue set regardless of value.
func (w *World) DeleteTags(resourceIDs []string, tags []DeleteTag) error { return errTODO }

// DeleteTag names a tag to delete.
type DeleteTag struct {
	Key            string
	Value          string
	DeleteAnyValue bool // no value was given
}
