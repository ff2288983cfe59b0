// Package pool is the warm-pool policy: a pure function from the
// datastore's counts, the configuration, the instance's limits and the time
// to the actions that bring the pool to its target (assign addresses or
// prefixes to an ENI, create an ENI with its addresses, release excess,
// delete an empty ENI). It does no I/O; the pool manager executes what it
// decides.
package pool

import (
	"net/netip"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// PrefixSize is the number of addresses in a delegated /28 prefix.
const PrefixSize = 16

// Config is the warm-pool tuning, with the AWS VPC CNI's meanings.
type Config struct {
	WarmENITarget    int  // WARM_ENI_TARGET
	WarmIPTarget     int  // WARM_IP_TARGET; 0 = unset
	MinimumIPTarget  int  // MINIMUM_IP_TARGET; 0 = unset
	WarmPrefixTarget int  // WARM_PREFIX_TARGET
	PrefixDelegation bool // ENABLE_PREFIX_DELEGATION
	// ReleaseDelay is the hysteresis of shrinking: excess is released only
	// when the pool has not grown for this long.
	ReleaseDelay time.Duration
}

// Limits are what the node can hold.
type Limits struct {
	Type cloud.InstanceTypeLimits
	// MaxENIs is the number of ENIs ipamd may use: the type's limit on the
	// default network card, capped by MAX_ENI.
	MaxENIs int
	// MaxPods caps the addresses the pool may hold (assigned + cooling +
	// available): never more than the node can run.
	MaxPods int
}

// History is what the manager remembers between decisions.
type History struct {
	LastIncrease time.Time // the pool last grew
	LastDecrease time.Time // the pool last shrank
}

// Input is everything a decision depends on.
type Input struct {
	Stats   datastore.Stats
	Config  Config
	Limits  Limits
	History History
	Now     time.Time
}

// Kind is the kind of an action.
type Kind string

// Action kinds.
const (
	AssignIPs        Kind = "assign-ips"        // Count secondary addresses onto ENI
	AssignPrefixes   Kind = "assign-prefixes"   // Count /28 prefixes onto ENI
	CreateENI        Kind = "create-eni"        // a new ENI with Count addresses (or prefixes in prefix mode)
	UnassignIPs      Kind = "unassign-ips"      // Blocks (/32s) off ENI
	UnassignPrefixes Kind = "unassign-prefixes" // Blocks (/28s) off ENI
	DeleteENI        Kind = "delete-eni"        // detach and delete ENI, which holds nothing in use
)

// Action is one step the manager executes.
type Action struct {
	Kind   Kind
	ENI    string         // the ENI acted on; empty for CreateENI
	Count  int            // addresses or prefixes to assign, or to create the ENI with
	Blocks []netip.Prefix // blocks to unassign
}

// Limit is a limit that stops the pool from growing.
type Limit string

// The limits Decision.BlockedBy names.
const (
	LimitMaxPods Limit = "max-pods"      // the node's max pods
	LimitAddress Limit = "address-limit" // every ENI at its address limit
	LimitMaxENI  Limit = "max-eni"       // MAX_ENI, below the type's limit
	LimitENI     Limit = "eni-limit"     // the instance type's ENI limit
)

// Decision is what the policy wants done, and why.
type Decision struct {
	Actions []Action
	// Short is how many more available addresses the targets ask for than
	// the pool has (0 when none); Excess how many it has beyond them.
	Short  int
	Excess int
	// Blocked says why the pool cannot grow by Short ("ENI limit reached",
	// "max pods reached"); empty when it can or need not.
	Blocked string
	// BlockedBy is the limit Blocked names, for callers that branch or
	// count by it; empty when Blocked is.
	BlockedBy Limit
	// Reason is a one-line account of the decision for logs.
	Reason string
}
