// Package capacity reports the node's pod address capacity and the health
// of its address pool to the Kubernetes Node: the extended resource
// vpc-cni.io/pod-ips, the NetworkUnavailable condition once the pool can
// serve, the PodIPsAvailable condition with a reason and the figures, and
// an Event when the pool cannot grow. The desired state is a pure function
// of the pool's figures (Desired); the Writer applies it to the API server
// in the background, only on change, debounced and rate-limited, and never
// blocks its caller.
//
// ipamd/daemon runs it once ipamd serves, when it has a client (outside
// Kubernetes ClientFromEnv returns ErrNoKubernetes and nothing runs):
// Writer.Run beside Writer.Follow over the datastore's Stats and the
// manager's BlockedState (see FromStats).
package capacity

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/manager"
	"github.com/vpc-cni/vpc-cni/ipamd/maxpods"
)

// ResourcePodIPs is the extended resource set in the Node's capacity and
// allocatable: the pod addresses the node can ever hold.
const ResourcePodIPs corev1.ResourceName = "vpc-cni.io/pod-ips"

// ConditionPodIPsAvailable is the Node condition saying whether the pool
// can grow to serve more pods.
const ConditionPodIPsAvailable corev1.NodeConditionType = "PodIPsAvailable"

// Reasons of the conditions (and of the Events: an Event's reason is the
// PodIPsAvailable reason that caused it).
const (
	// ReasonUp is NetworkUnavailable's reason once the pool can serve.
	ReasonUp = "VpcCniIsUp"
	// ReasonWarmPoolReady: PodIPsAvailable True, the pool meets its warm
	// target or is growing towards it.
	ReasonWarmPoolReady = "WarmPoolReady"
	// ReasonNotReady: PodIPsAvailable False, ipamd has not built its pool
	// yet.
	ReasonNotReady = "PoolNotReady"
	// The causes of PodIPsAvailable False: the pool cannot grow.
	ReasonSubnetExhausted = "SubnetExhausted"
	ReasonENILimit        = "EniLimitReached"
	ReasonMaxPods         = "MaxPodsReached"
	ReasonThrottled       = "CloudThrottled"
	ReasonGrowthFailing   = "PoolGrowthFailing"
)

// PodIPs is the number of pod addresses a node of the instance type can
// ever hold under the options: ENIs × (IPv4 addresses per ENI − 1), or
// ENIs × (IPv4 addresses per ENI − 1) × 16 with prefix delegation, where
// ENIs is the default network card's ENI limit capped by MAX_ENI, less the
// primary ENI with custom networking (the −1 is each ENI's primary
// address); capped by max pods (o.Cap), which ipamd's pool never exceeds.
// Host-network pods take no address: where the addresses bind, the figure
// is max pods less those 2.
func PodIPs(l cloud.InstanceTypeLimits, o maxpods.Options) (int, error) {
	r, err := maxpods.Compute(l, o)
	if err != nil {
		return 0, fmt.Errorf("pod addresses: %w", err)
	}
	return PodIPsOf(r), nil
}

// PodIPsOf is PodIPs from a figure maxpods.Compute already returned.
func PodIPsOf(r maxpods.Result) int { return min(r.ENIs*r.AddressesPerENI, r.MaxPods) }

// Pool is what the pool reports: the datastore's figures and the
// manager's BlockedState.
type Pool struct {
	// Ready: the pool can serve pods (ipamd is healthy and has built its
	// pool).
	Ready bool
	// Assigned, Available and Cooling are datastore.Stats' figures.
	Assigned, Available, Cooling int
	// Cause, Class and Permanent are manager.Manager.BlockedState's: why
	// the pool cannot grow, empty when it can.
	Cause, Class string
	Permanent    bool
}

// FromStats is the Pool of the datastore's figures and the manager's
// BlockedState (cause, class, permanent), ready or not.
func FromStats(ready bool, st datastore.Stats, cause, class string, permanent bool) Pool {
	return Pool{Ready: ready, Assigned: st.Assigned, Available: st.Available, Cooling: st.Cooling,
		Cause: cause, Class: class, Permanent: permanent}
}

// State is the desired state of the Node. It is comparable: the Writer
// writes only when it changes.
type State struct {
	// PodIPs is the capacity and allocatable of ResourcePodIPs; 0 leaves
	// them as they are.
	PodIPs int
	// NetworkUp sets NetworkUnavailable False (ReasonUp); false leaves
	// that condition as it is.
	NetworkUp bool
	// Available, Reason and Message are the PodIPsAvailable condition.
	Available bool
	Reason    string
	Message   string
	// Cause is the manager's words for why the pool cannot grow, the
	// message of the Event; empty when it can.
	Cause string
}

// Desired is the Node state for the pool's figures and the node's pod
// address capacity. PodIPsAvailable is False whenever the pool cannot grow
// (a limit reached, or growth backing off): the pool may still hold a few
// available addresses, which the message counts.
func Desired(podIPs int, p Pool) State {
	s := State{PodIPs: max(podIPs, 0), NetworkUp: p.Ready, Available: true, Reason: ReasonWarmPoolReady}
	figures := fmt.Sprintf("%d assigned / %d available / %d capacity", p.Assigned, p.Available, s.PodIPs)
	if p.Cooling > 0 {
		figures += fmt.Sprintf(" (%d cooling down)", p.Cooling)
	}
	switch {
	case p.Cause != "" || p.Class != "":
		s.Available, s.Reason, s.Cause = false, reasonOf(p.Class), p.Cause
		if s.Cause == "" {
			s.Cause = "pool cannot grow (" + p.Class + ")"
		}
		s.Message = fmt.Sprintf("pool cannot grow: %s; %s", s.Cause, figures)
	case !p.Ready:
		s.Available, s.Reason = false, ReasonNotReady
		s.Message = "ipamd is building its address pool; " + figures
	default:
		s.Message = "pool can serve pods: " + figures
	}
	return s
}

// reasonOf is the PodIPsAvailable reason of a manager blockage class.
func reasonOf(class string) string {
	switch class {
	case manager.ClassSubnetExhausted, manager.ClassPrefixFragmented:
		return ReasonSubnetExhausted
	case manager.ClassENILimit, manager.ClassMaxENI, manager.ClassAddressLimit:
		return ReasonENILimit
	case manager.ClassMaxPods:
		return ReasonMaxPods
	case manager.ClassThrottled:
		return ReasonThrottled
	}
	return ReasonGrowthFailing
}

// EventDue reports whether the state calls for an Event, given the
// PodIPsAvailable reason the Node shows now (prevReason): when the pool
// cannot grow for a cause other than the one already shown. The same
// cause is never reported twice in a row.
func EventDue(prevReason string, s State) bool {
	return !s.Available && s.Cause != "" && s.Reason != prevReason
}
