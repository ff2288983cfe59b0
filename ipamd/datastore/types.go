// Package datastore is ipamd's record of the node's addresses: the ENIs it
// manages, the address blocks each ENI carries (a /32 secondary address or
// a delegated /28 prefix), every address's state (free, assigned to a pod,
// cooling down after release) and the allocations, keyed by container id
// and interface name. Every change that a CNI call depends on is written to
// the checkpoint (atomically: temp file, fsync, rename) before the call
// returns; a change whose write fails is undone.
package datastore

import (
	"errors"
	"net/netip"
	"time"
)

// MainRouteTable is the route table of addresses on the primary ENI.
const MainRouteTable = 254

// Key identifies an allocation: one interface of one container. A repeated
// ADD with the same key gets the same address.
type Key struct {
	ContainerID string `json:"containerId"`
	IfName      string `json:"ifName"`
}

// Pod describes who holds an allocation.
type Pod struct {
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
	UID        string `json:"uid,omitempty"`
	Netns      string `json:"netns,omitempty"`
	HostIfName string `json:"hostIfName,omitempty"` // the pod's host-side veth; its absence means the pod is gone
}

// Allocation is an address assigned to a container interface.
type Allocation struct {
	Key
	Pod         Pod          `json:"pod"`
	IP          netip.Addr   `json:"ip"`
	Block       netip.Prefix `json:"block"` // the /32 or /28 the address belongs to
	ENI         string       `json:"eni"`
	DeviceIndex int          `json:"deviceIndex"`
	RouteTable  int          `json:"routeTable"` // MainRouteTable for the primary ENI, device index + 1 otherwise
	AssignedAt  time.Time    `json:"assignedAt"`
}

// ENI is an ENI ipamd manages and the address blocks it carries.
type ENI struct {
	ID          string         `json:"id"`
	MAC         string         `json:"mac"`
	DeviceIndex int            `json:"deviceIndex"`
	NetworkCard int            `json:"networkCard"`
	Primary     bool           `json:"primary"` // the instance's primary ENI
	SubnetID    string         `json:"subnetId"`
	SubnetCIDR  netip.Prefix   `json:"subnetCidr"`
	PrimaryIP   netip.Addr     `json:"primaryIp"` // never handed to a pod
	Blocks      []netip.Prefix `json:"blocks"`    // /32 secondary addresses and /28 prefixes
}

// RouteTable is the table a pod on this ENI routes through.
func (e ENI) RouteTable() int {
	if e.Primary {
		return MainRouteTable
	}
	return e.DeviceIndex + 1
}

// BlockStats counts the addresses of one block.
type BlockStats struct {
	Prefix    netip.Prefix
	Assigned  int
	Cooling   int
	Available int // free and not cooling
}

// ENIStats counts one ENI's blocks and addresses.
type ENIStats struct {
	ID          string
	DeviceIndex int
	NetworkCard int
	Primary     bool
	Blocks      []BlockStats // in the ENI's block order
	Total       int          // pod addresses (the ENI's primary address excluded)
	Assigned    int
	Cooling     int
	Available   int
}

// Stats is the datastore at one moment, as the pool policy sees it.
type Stats struct {
	ENIs      []ENIStats // ordered by network card, device index
	Total     int
	Assigned  int
	Cooling   int
	Available int
}

// Errors callers branch on.
var (
	// ErrNoAddress: no free, cooled-down address right now.
	ErrNoAddress = errors.New("no free address in the pool")
	// ErrNotFound: no such allocation, ENI or block.
	ErrNotFound = errors.New("not found")
	// ErrInUse: the ENI or block still has assigned or cooling addresses.
	ErrInUse = errors.New("addresses in use or cooling down")
	// ErrExists: an ENI or block the datastore already has, or a block
	// overlapping one.
	ErrExists = errors.New("already exists")
	// ErrCheckpoint: the checkpoint could not be written; the change was
	// undone.
	ErrCheckpoint = errors.New("checkpoint write failed")
	// ErrCorrupt: the checkpoint on disk could not be read back.
	ErrCorrupt = errors.New("checkpoint corrupt")
	// ErrForeign: the checkpoint on disk is another instance's. The
	// error Load reports wraps it and ErrCorrupt: it is rebuilt like a
	// corrupt one.
	ErrForeign = errors.New("the checkpoint is another instance's")
	// ErrInvalid: a malformed argument (an ENI without id or subnet, a
	// block that is not a /32 or /28 of the ENI's subnet, an empty key);
	// nothing was changed.
	ErrInvalid = errors.New("invalid argument")
)
