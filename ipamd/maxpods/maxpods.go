// Package maxpods is the max-pods formula: how many pods a node of an
// instance type can run when every pod gets a VPC address from one of its
// ENIs. It is a pure function of the instance type's limits and a few
// settings, shared by ipamd (which caps its pool with it) and the max-pods
// calculator.
//
// The formula is the AWS VPC CNI's:
//
//	ENIs × (IPv4 addresses per ENI − 1) + 2
//	ENIs × ((IPv4 addresses per ENI − 1) × 16) + 2   with prefix delegation
//
// where ENIs counts the default network card's ENIs, capped by MAX_ENI; an
// ENI's primary address never goes to a pod, and the 2 are the host-network
// pods every node runs (the CNI's own daemon and kube-proxy), which need no
// address. With prefix delegation every secondary address slot carries a
// /28 (16 addresses); only Nitro instance types can.
package maxpods

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// Figures of the formula and of the automatic cap.
const (
	// HostNetworkPods are the pods every node runs on the host network.
	HostNetworkPods = 2
	// PrefixAddresses is the number of addresses a /28 prefix carries.
	PrefixAddresses = 16
	// SmallNodeCap and LargeNodeCap are the automatic caps: the
	// Kubernetes default of 110 pods per node up to SmallNodeVCPUs vCPUs,
	// and 250 above.
	SmallNodeCap   = 110
	LargeNodeCap   = 250
	SmallNodeVCPUs = 30
)

// Cap bounds the raw figure: CapAuto, CapNone, or a positive number of
// pods.
type Cap int

const (
	// CapAuto caps at SmallNodeCap for up to SmallNodeVCPUs vCPUs and at
	// LargeNodeCap above.
	CapAuto Cap = 0
	// CapNone leaves the raw figure.
	CapNone Cap = -1
)

// String is the cap as ParseCap reads it.
func (c Cap) String() string {
	switch {
	case c == CapAuto:
		return "auto"
	case c < 0:
		return "none"
	}
	return strconv.Itoa(int(c))
}

// ParseCap reads "auto", "none" or a whole number ≥ 1.
func ParseCap(s string) (Cap, error) {
	switch v := strings.TrimSpace(s); v {
	case "auto":
		return CapAuto, nil
	case "none":
		return CapNone, nil
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return 0, fmt.Errorf("max pods cap %q: want auto, none or a whole number ≥ 1", s)
		}
		return Cap(n), nil
	}
}

// Options are the settings the figure depends on.
type Options struct {
	// PrefixDelegation (ENABLE_PREFIX_DELEGATION): /28 prefixes instead
	// of secondary addresses.
	PrefixDelegation bool
	// MaxENI (MAX_ENI) caps the ENIs counted; 0 or less: no cap.
	MaxENI int
	// CustomNetworking: pods get no address from the primary ENI, which
	// is not counted (after the MAX_ENI cap).
	CustomNetworking bool
	// Cap bounds the result; the zero value is CapAuto.
	Cap Cap
}

// Result is the figure and how it was reached.
type Result struct {
	// MaxPods is the node's pod capacity: Raw bounded by the cap.
	MaxPods int
	// Raw is the formula's figure before the cap.
	Raw int
	// ENIs is the number of ENIs counted.
	ENIs int
	// AddressesPerENI is how many pod addresses one ENI can carry.
	AddressesPerENI int
	// Cap is the bound that applied (0 with CapNone).
	Cap int
}

// ErrPrefixDelegation: prefix delegation was asked of an instance type
// that cannot carry prefixes.
var ErrPrefixDelegation = errors.New("prefix delegation needs a Nitro instance type")

// ErrLimits: the instance type's limits cannot give a figure (no ENI or no
// secondary address).
var ErrLimits = errors.New("instance type limits unusable")

// ENIs is the number of ENIs ipamd may use on an instance type: the
// default network card's (the type's total when it lists no card), capped
// by maxENI when that is ≥ 1.
func ENIs(l cloud.InstanceTypeLimits, maxENI int) int {
	n := l.MaxENIs
	if len(l.NetworkCards) > 0 {
		n = l.ENIsOnCard(l.DefaultNetworkCard)
	}
	if maxENI > 0 && maxENI < n {
		n = maxENI
	}
	return n
}

// Compute returns the max pods of an instance type.
func Compute(l cloud.InstanceTypeLimits, o Options) (Result, error) {
	if o.PrefixDelegation && !l.PrefixDelegation() {
		hv := l.Hypervisor
		if hv == "" {
			hv = "none"
		}
		return Result{}, fmt.Errorf("%s (hypervisor %s): %w",
			l.Type, hv, ErrPrefixDelegation)
	}
	enis := ENIs(l, o.MaxENI)
	if o.CustomNetworking {
		enis--
	}
	slots := l.IPv4PerENI - 1
	if enis < 1 || slots < 1 {
		return Result{}, fmt.Errorf("%s: %w: %d ENIs, %d IPv4 addresses per ENI", l.Type, ErrLimits, enis, l.IPv4PerENI)
	}
	perENI := slots
	if o.PrefixDelegation {
		perENI = slots * PrefixAddresses
	}
	r := Result{ENIs: enis, AddressesPerENI: perENI, Raw: enis*perENI + HostNetworkPods}
	r.Cap = capFor(o.Cap, l.VCPUs)
	r.MaxPods = r.Raw
	if r.Cap > 0 {
		r.MaxPods = min(r.Raw, r.Cap)
	}
	return r, nil
}

// capFor is the bound a cap sets for a type with vcpus, 0 for none.
func capFor(c Cap, vcpus int) int {
	switch {
	case c == CapAuto && vcpus <= SmallNodeVCPUs:
		return SmallNodeCap
	case c == CapAuto:
		return LargeNodeCap
	case c < 0:
		return 0
	}
	return int(c)
}
