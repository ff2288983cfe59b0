// Package sim is ec2sim: an emulator of the parts of the EC2 Query API and
// of IMDSv2 that vpc-cni uses, faithful enough that an unmodified EC2 client
// (aws-sdk-go-v2, the AWS CLI) cannot tell it from EC2, and realistic about
// what makes the real thing hard: instance-type limits, subnet exhaustion,
// /28 prefix fragmentation, latency, eventual consistency of instance
// metadata and request throttling.
//
// The World holds the state and its semantics; the HTTP layer speaks the
// wire protocols over it. The package stands alone: it does not know ipamd.
package sim

import (
	"net/netip"
	"time"
)

// VPC is an emulated VPC.
type VPC struct {
	ID    string         `json:"id"`
	CIDRs []netip.Prefix `json:"cidrs"` // the first is the primary CIDR block
	Tags  []Tag          `json:"tags"`
}

// Subnet is an emulated subnet. AvailableIPs is computed: the addresses of
// the CIDR minus the five AWS reserves minus those in use.
type Subnet struct {
	ID           string       `json:"id"`
	VPCID        string       `json:"vpcId"`
	AZ           string       `json:"availabilityZone"`
	CIDR         netip.Prefix `json:"cidr"`
	AvailableIPs int          `json:"availableIps"`
	Tags         []Tag        `json:"tags"`
}

// Instance is an emulated EC2 instance.
type Instance struct {
	ID             string     `json:"id"`
	Type           string     `json:"type"`
	AZ             string     `json:"availabilityZone"`
	SubnetID       string     `json:"subnetId"`
	VPCID          string     `json:"vpcId"`
	PrimaryENIID   string     `json:"primaryEniId"`
	PrimaryIP      netip.Addr `json:"primaryIp"`
	State          string     `json:"state"` // pending, running, terminated
	LaunchTime     time.Time  `json:"launchTime"`
	SecurityGroups []string   `json:"securityGroups"`
	Tags           []Tag      `json:"tags"`
}

// Attachment is an ENI's attachment to an instance.
type Attachment struct {
	ID                  string    `json:"id"`
	InstanceID          string    `json:"instanceId"`
	DeviceIndex         int       `json:"deviceIndex"`
	NetworkCardIndex    int       `json:"networkCardIndex"`
	Status              string    `json:"status"` // attaching, attached, detaching, detached
	DeleteOnTermination bool      `json:"deleteOnTermination"`
	AttachTime          time.Time `json:"attachTime"`
}

// ENI is an emulated elastic network interface.
type ENI struct {
	ID              string         `json:"id"`
	SubnetID        string         `json:"subnetId"`
	VPCID           string         `json:"vpcId"`
	AZ              string         `json:"availabilityZone"`
	MAC             string         `json:"mac"`
	Description     string         `json:"description"`
	Status          string         `json:"status"` // available, attaching, in-use, detaching
	OwnerID         string         `json:"ownerId"`
	PrimaryIP       netip.Addr     `json:"primaryIp"`
	SecondaryIPs    []netip.Addr   `json:"secondaryIps"` // in assignment order
	Prefixes        []netip.Prefix `json:"prefixes"`
	SecurityGroups  []string       `json:"securityGroups"`
	Tags            []Tag          `json:"tags"`
	Attachment      *Attachment    `json:"attachment,omitempty"`
	SourceDestCheck bool           `json:"sourceDestCheck"`
}

// Tag is a resource tag. Order is kept as given.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Filter is an EC2 Describe filter: a name and the values any of which match.
type Filter struct {
	Name   string
	Values []string
}

// APIError is an EC2 error as the wire carries it.
type APIError struct {
	Code    string
	Message string
	Status  int // HTTP status: 400 for client errors, 503 for throttling, 500 for internal
}

func (e *APIError) Error() string { return e.Code + ": " + e.Message }

// CreateENIInput is CreateNetworkInterface's request.
type CreateENIInput struct {
	SubnetID       string
	Description    string
	SecurityGroups []string
	// PrimaryIP, when valid, is the requested primary address.
	PrimaryIP netip.Addr
	// PrivateIPs are requested secondary addresses.
	PrivateIPs       []netip.Addr
	SecondaryIPCount int
	PrefixCount      int
	Prefixes         []netip.Prefix
	Tags             []Tag
}

// AssignInput is AssignPrivateIpAddresses's request: exactly one of the
// four ways to ask must be used.
type AssignInput struct {
	ENIID             string
	IPs               []netip.Addr
	SecondaryIPCount  int
	Prefixes          []netip.Prefix
	PrefixCount       int
	AllowReassignment bool
}

// AssignResult is what AssignPrivateIpAddresses assigned.
type AssignResult struct {
	ENIID    string
	IPs      []netip.Addr
	Prefixes []netip.Prefix
}

// IMDSENI is instance metadata's (possibly stale) view of one attached ENI.
type IMDSENI struct {
	MAC            string
	ID             string
	DeviceIndex    int
	NetworkCard    int
	SubnetID       string
	SubnetCIDR     netip.Prefix
	VPCID          string
	VPCCIDRs       []netip.Prefix
	LocalIPv4s     []netip.Addr // primary first
	Prefixes       []netip.Prefix
	SecurityGroups []string
}

// IMDSView is instance metadata's view of one instance at one moment.
type IMDSView struct {
	InstanceID   string
	InstanceType string
	Region       string
	AZ           string
	PrimaryMAC   string
	PrimaryIP    netip.Addr
	ENIs         []IMDSENI // ordered by device index
}

// State is the ground truth of the whole world, for tests and the lab.
type State struct {
	VPCs      []VPC      `json:"vpcs"`
	Subnets   []Subnet   `json:"subnets"`
	Instances []Instance `json:"instances"`
	ENIs      []ENI      `json:"enis"`
}
