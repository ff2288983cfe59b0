// Package cloud is the provider-neutral boundary between ipamd and the cloud
// it runs in: the domain types ipamd reasons about (instance, instance-type
// limits, subnet, ENI), the small interfaces it consumes (instance metadata
// and ENI operations), the typed errors callers branch on, and the built-in
// table of instance-type limits.
//
// Implementations live elsewhere: cloud/aws over aws-sdk-go-v2 (which talks
// to EC2 or to the ec2sim emulator) and cloud/fake for unit tests.
package cloud

import (
	"net/netip"
	"slices"
)

// Instance is what the instance metadata service says about the node.
type Instance struct {
	ID             string
	Type           string
	Region         string
	AZ             string
	PrimaryENI     string // ENI id of the interface at device index 0
	PrimaryMAC     string
	PrimaryIP      netip.Addr
	SubnetID       string // subnet of the primary ENI
	SubnetCIDR     netip.Prefix
	VPCID          string
	VPCCIDRs       []netip.Prefix
	SecurityGroups []string // of the primary ENI
}

// Hypervisor values reported by DescribeInstanceTypes.
const (
	HypervisorNitro = "nitro"
	HypervisorXen   = "xen"
)

// NetworkCard is one network card of an instance type and how many ENIs it
// takes.
type NetworkCard struct {
	Index   int
	MaxENIs int
}

// InstanceTypeLimits are the networking limits of an instance type, as
// DescribeInstanceTypes reports them.
type InstanceTypeLimits struct {
	Type       string
	MaxENIs    int // all network cards together
	IPv4PerENI int // including the ENI's primary address
	IPv6PerENI int
	// NetworkCards lists each card; most types have exactly one (index 0).
	NetworkCards       []NetworkCard
	DefaultNetworkCard int
	// Hypervisor is "nitro" or "xen"; bare-metal types report none.
	Hypervisor string
	BareMetal  bool
	VCPUs      int
	MemoryMiB  int
}

// PrefixDelegation reports whether the type can carry /28 IPv4 prefixes on
// its ENIs: only instances built on the Nitro system can, which includes the
// Nitro bare-metal types that report no hypervisor.
func (l InstanceTypeLimits) PrefixDelegation() bool {
	return l.Hypervisor == HypervisorNitro || (l.BareMetal && l.Hypervisor == "")
}

// ENIsOnCard returns how many ENIs network card idx takes, 0 for a card the
// type does not have.
func (l InstanceTypeLimits) ENIsOnCard(idx int) int {
	for _, c := range l.NetworkCards {
		if c.Index == idx {
			return c.MaxENIs
		}
	}
	return 0
}

// Subnet is a VPC subnet.
type Subnet struct {
	ID           string
	VPCID        string
	AZ           string
	CIDR         netip.Prefix
	AvailableIPs int
	Tags         map[string]string
}

// AttachmentState is the state of an ENI's attachment to an instance.
type AttachmentState string

// Attachment states as EC2 reports them.
const (
	Attaching AttachmentState = "attaching"
	Attached  AttachmentState = "attached"
	Detaching AttachmentState = "detaching"
	Detached  AttachmentState = "detached"
)

// ENI status values as EC2 reports them.
const (
	ENIAvailable = "available"
	ENIInUse     = "in-use"
	ENIAttaching = "attaching"
	ENIDetaching = "detaching"
)

// Attachment binds an ENI to an instance at a device index.
type Attachment struct {
	ID                  string
	InstanceID          string
	DeviceIndex         int
	NetworkCard         int
	State               AttachmentState
	DeleteOnTermination bool
}

// ENI is an elastic network interface as the EC2 API reports it.
type ENI struct {
	ID             string
	MAC            string
	SubnetID       string
	VPCID          string
	AZ             string
	Description    string
	Status         string // available, in-use, attaching, detaching
	PrimaryIP      netip.Addr
	SecondaryIPs   []netip.Addr
	Prefixes       []netip.Prefix // delegated /28 IPv4 prefixes
	SecurityGroups []string
	Tags           map[string]string
	Attachment     *Attachment // nil when not attached
}

// DeviceIndex returns the ENI's device index, or -1 when it is not attached.
func (e ENI) DeviceIndex() int {
	if e.Attachment == nil {
		return -1
	}
	return e.Attachment.DeviceIndex
}

// ENIMetadata is what instance metadata says about one attached ENI, found by
// its MAC address. It may lag the EC2 API (eventual consistency).
type ENIMetadata struct {
	MAC            string
	ID             string
	DeviceIndex    int
	NetworkCard    int
	SubnetID       string
	SubnetCIDR     netip.Prefix
	VPCID          string
	VPCCIDRs       []netip.Prefix
	IPv4s          []netip.Addr // the primary address first
	Prefixes       []netip.Prefix
	SecurityGroups []string
}

// PrimaryIP returns the ENI's primary address, the first of IPv4s.
func (m ENIMetadata) PrimaryIP() netip.Addr {
	if len(m.IPv4s) == 0 {
		return netip.Addr{}
	}
	return m.IPv4s[0]
}

// HasIPs reports whether metadata already shows every one of ips on the ENI.
func (m ENIMetadata) HasIPs(ips []netip.Addr) bool {
	for _, ip := range ips {
		if !slices.Contains(m.IPv4s, ip) {
			return false
		}
	}
	return true
}

// HasPrefixes reports whether metadata already shows every one of prefixes
// on the ENI.
func (m ENIMetadata) HasPrefixes(prefixes []netip.Prefix) bool {
	for _, p := range prefixes {
		if !slices.Contains(m.Prefixes, p) {
			return false
		}
	}
	return true
}
