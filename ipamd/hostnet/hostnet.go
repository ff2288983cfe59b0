// Package hostnet programs the node's network for the ENIs ipamd manages:
// each secondary ENI's link, route table and source rule, and the SNAT and
// connection marking that let pods reach beyond the VPC through the primary
// ENI. Every operation is idempotent: running it again changes nothing.
package hostnet

import (
	"context"
	"errors"
	"net/netip"
)

// Rule priorities ipamd and the plugin share (DESIGN.md, "Defaults").
const (
	// PriorityToPod is `to <pod> lookup main`, installed by the plugin.
	PriorityToPod = 512
	// PriorityOffVPC routes traffic from pods to destinations outside the
	// VPC (and not excluded from SNAT) through the main table, so it leaves
	// by the primary ENI and is SNATed there.
	PriorityOffVPC = 1024
	// PriorityFromPod is `from <pod> lookup <ENI table>`, installed by the
	// plugin for pods on secondary ENIs.
	PriorityFromPod = 1536
	// PriorityFromENI is `from <ENI primary IP> lookup <ENI table>`,
	// installed by SetupENI. It comes after the pod rules (a pod address is
	// never an ENI's primary address, so their order does not matter) and
	// has a priority of its own so that whoever cleans up stale pod rules at
	// PriorityFromPod never mistakes it for one.
	PriorityFromENI = 1600
)

// DefaultConnMark is the mark bit that sends packets through the main table
// (the rule `fwmark 0x80/0x80 lookup main` at PriorityOffVPC): set in the
// conntrack mark of connections that entered by the primary ENI or that
// pods opened to destinations beyond the VPC, and copied to the packets
// pods send on them. It is the AWS VPC CNI's default (kube-proxy uses
// 0x4000 and 0x8000, Calico the upper 16 bits).
const DefaultConnMark uint32 = 0x80

// ErrLinkNotFound is returned when no link carries an ENI's MAC (yet): an
// ENI just attached may take a moment to appear, so callers retry.
var ErrLinkNotFound = errors.New("link not found")

// ErrInvalid is returned for an ENI or SNAT configuration that cannot be
// programmed (e.g. a subnet too small to have a gateway, no VPC CIDRs).
var ErrInvalid = errors.New("invalid host network configuration")

// ENI is a secondary ENI as the host sees it.
type ENI struct {
	MAC         string // the link is found by MAC, as on EC2
	DeviceIndex int
	RouteTable  int // device index + 1
	PrimaryIP   netip.Addr
	SubnetCIDR  netip.Prefix // its gateway is the subnet's first host (.1)
	MTU         int
}

// SNATRandom is how SNAT picks source ports (AWS_VPC_K8S_CNI_RANDOMIZESNAT).
type SNATRandom string

// SNAT port selection modes.
const (
	SNATRandomPRNG = SNATRandom("prng")       // fully random ports (the default)
	SNATRandomHash = SNATRandom("hashrandom") // hash-based random ports
	SNATRandomNone = SNATRandom("none")       // sequential
)

// SNAT is the node's SNAT and connection-mark setup.
type SNAT struct {
	PrimaryMAC string     // the primary ENI's link, found by MAC
	PrimaryIP  netip.Addr // the source address traffic leaving the VPC gets
	VPCCIDRs   []netip.Prefix
	Exclude    []netip.Prefix // AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: not SNATed
	// External (AWS_VPC_K8S_CNI_EXTERNALSNAT) removes all of it: something
	// beyond the node (a NAT gateway) translates.
	External   bool
	Random     SNATRandom
	VethPrefix string // host-side pod veths start with it (AWS_VPC_K8S_CNI_VETHPREFIX)
}

// Host is the node's networking as ipamd drives it.
type Host interface {
	// SetupENI finds the ENI's link by MAC, sets its MTU, brings it up,
	// gives it the ENI's primary address (without the main table prefix
	// route the kernel would add), fills its route table (a route to the
	// subnet gateway, a default route through it) and adds the rule `from
	// <ENI primary IP> lookup <table>` at PriorityFromENI. Anything else in
	// that table, or at that priority for that address or table, is
	// removed. ErrLinkNotFound if no link has the MAC yet.
	SetupENI(ctx context.Context, e ENI) error
	// TeardownENI removes what SetupENI added; a missing link is fine.
	TeardownENI(ctx context.Context, e ENI) error
	// SetupSNAT installs (or, when External, removes) SNAT and the
	// connection marks, replacing whatever an earlier call installed.
	SetupSNAT(ctx context.Context, s SNAT) error
	// LinkExists reports whether a link of that name exists (a pod's
	// host-side veth).
	LinkExists(ctx context.Context, name string) (bool, error)
}
