package pool

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

const (
	// maxTarget bounds every target, so that no configuration, however
	// large, overflows the arithmetic.
	maxTarget = 1 << 20
	// maxENICeiling bounds the ENIs a decision may plan for, whatever
	// Limits says; no instance type comes near it.
	maxENICeiling = 1024
	// unlimited stands for "no cap" in block counts.
	unlimited = maxTarget * maxENICeiling
)

// mode is which target governs the pool.
type mode int

const (
	modeENI    mode = iota // WARM_ENI_TARGET, secondary addresses
	modeIP                 // WARM_IP_TARGET / MINIMUM_IP_TARGET
	modePrefix             // WARM_PREFIX_TARGET, /28 prefixes
)

// plan is one decision in the making: the input and what follows from it.
type plan struct {
	in        Input
	enis      []datastore.ENIStats // by network card, device index
	mode      mode
	blockSize int // addresses a new block brings: 1, or 16 in prefix mode
	slots     int // blocks an ENI holds besides its primary address
	maxENIs   int
	need      int // the total the targets ask for
	capped    int // need, capped by max pods
}

func newPlan(in Input) *plan {
	p := &plan{in: in, blockSize: 1, slots: in.Limits.Type.IPv4PerENI - 1}
	p.enis = slices.Clone(in.Stats.ENIs)
	slices.SortStableFunc(p.enis, func(a, b datastore.ENIStats) int {
		return cmp.Or(cmp.Compare(a.NetworkCard, b.NetworkCard), cmp.Compare(a.DeviceIndex, b.DeviceIndex))
	})
	c := in.Config
	switch {
	case c.WarmIPTarget > 0 || c.MinimumIPTarget > 0:
		p.mode = modeIP
	case c.PrefixDelegation:
		p.mode = modePrefix
	}
	if c.PrefixDelegation {
		p.blockSize = PrefixSize
	}
	p.maxENIs = in.Limits.MaxENIs
	if p.maxENIs <= 0 {
		p.maxENIs = p.typeMaxENIs()
	}
	p.maxENIs = min(p.maxENIs, maxENICeiling)
	p.need = p.target()
	p.capped = p.need
	if in.Limits.MaxPods > 0 {
		p.capped = min(p.need, in.Limits.MaxPods)
	}
	return p
}

// target is the total number of addresses (assigned, cooling and
// available) the targets ask for.
func (p *plan) target() int {
	c, s := p.in.Config, p.in.Stats
	used := clampTarget(s.Assigned) + clampTarget(s.Cooling)
	var warm int
	switch p.mode {
	case modeIP:
		warm = clampTarget(c.WarmIPTarget)
	case modePrefix:
		warm = clampTarget(c.WarmPrefixTarget) * PrefixSize
	default:
		warm = clampTarget(c.WarmENITarget) * clampTarget(p.slots)
	}
	// At least one available address: a target of 0 would leave the next
	// pod waiting on a pool that never grows.
	need := used + max(warm, 1)
	if p.mode == modeIP {
		need = max(need, clampTarget(c.MinimumIPTarget))
	}
	return need
}

func clampTarget(v int) int { return min(max(v, 0), maxTarget) }

func ceilDiv(a, b int) int {
	if a <= 0 || b <= 0 {
		return 0
	}
	return (a + b - 1) / b
}

// typeMaxENIs is the instance type's ENI limit on its default network card.
func (p *plan) typeMaxENIs() int {
	t := p.in.Limits.Type
	if n := t.ENIsOnCard(t.DefaultNetworkCard); n > 0 {
		return n
	}
	return max(t.MaxENIs, 0)
}

func (p *plan) typeName() string {
	if n := p.in.Limits.Type.Type; n != "" {
		return n
	}
	return "this instance type"
}

// roomBlocks is how many blocks max pods still lets the pool add: in prefix
// mode the last /28 may take the total past max pods by less than a prefix.
func (p *plan) roomBlocks() int {
	if p.in.Limits.MaxPods <= 0 {
		return unlimited
	}
	return ceilDiv(p.in.Limits.MaxPods-p.in.Stats.Total, p.blockSize)
}

// capacityBlocks is how many blocks the ENIs can still take: free slots on
// the attached ENIs, then the ENIs that may still be created.
func (p *plan) capacityBlocks() int {
	if p.slots <= 0 {
		return 0
	}
	n := 0
	for _, e := range p.enis {
		n += max(p.slots-len(e.Blocks), 0)
	}
	return n + max(p.maxENIs-len(p.enis), 0)*p.slots
}

// describe is the target and the pool's counts, for Reason.
func (p *plan) describe() string {
	c, s := p.in.Config, p.in.Stats
	var name string
	switch p.mode {
	case modeIP:
		name = fmt.Sprintf("WARM_IP_TARGET=%d, MINIMUM_IP_TARGET=%d", c.WarmIPTarget, c.MinimumIPTarget)
	case modePrefix:
		name = fmt.Sprintf("WARM_PREFIX_TARGET=%d", c.WarmPrefixTarget)
	default:
		name = fmt.Sprintf("WARM_ENI_TARGET=%d", c.WarmENITarget)
	}
	want := fmt.Sprintf("want %d addresses", p.need)
	if p.capped < p.need {
		want = fmt.Sprintf("want %d addresses, max pods %d", p.need, p.in.Limits.MaxPods)
	}
	return fmt.Sprintf("%s: %s, have %d (%d assigned, %d cooling, %d available)",
		name, want, s.Total, s.Assigned, s.Cooling, s.Available)
}
