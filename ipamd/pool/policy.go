package pool

import (
	"fmt"
	"strings"
	"time"
)

// Decide returns the actions that bring the pool to its targets.
//
// The targets, with the AWS VPC CNI's meanings:
//   - WARM_IP_TARGET and MINIMUM_IP_TARGET, when either is set, win over
//     WARM_ENI_TARGET and WARM_PREFIX_TARGET: the pool holds at least
//     WARM_IP_TARGET available addresses and at least MINIMUM_IP_TARGET
//     addresses in total; in prefix mode growth is in whole /28s.
//   - Otherwise, in secondary-address mode, WARM_ENI_TARGET ENIs' worth of
//     available addresses, ENIs filled to their limit; in prefix mode,
//     WARM_PREFIX_TARGET /28s' worth of available addresses.
//   - Whatever the targets, at least one available address (a target of 0
//     would otherwise leave the next pod waiting on a pool that never grows).
//
// Cooling addresses count in the total but are not available. The pool never
// holds more than Limits.MaxPods addresses (in prefix mode, less than one
// /28 more). Excess is released only when the pool has not grown for
// Config.ReleaseDelay, never below the targets, never a block or an ENI with
// an assigned or cooling address, never the primary ENI.
func Decide(in Input) Decision {
	p := newPlan(in)
	total := in.Stats.Total
	d := Decision{Short: max(p.need-total, 0)}
	d.Blocked, d.BlockedBy = p.blocked(d.Short)
	switch {
	case p.capped > total:
		d.Actions = p.grow(p.capped - total)
		d.Reason = p.growReason(d)
	case total > p.capped:
		d.Excess = total - p.capped
		if until, ok := p.releaseAllowed(); !ok {
			d.Reason = fmt.Sprintf("%s; excess %d held until %s (the pool grew within the release delay of %s)",
				p.describe(), d.Excess, until.UTC().Format(time.RFC3339), in.Config.ReleaseDelay)
			return d
		}
		d.Actions = p.shrink()
		d.Reason = p.shrinkReason(d)
	default:
		d.Reason = p.describe() + "; at target"
		if d.Blocked != "" {
			d.Reason += "; cannot grow: " + d.Blocked
		}
	}
	return d
}

// releaseAllowed reports whether the hysteresis lets the pool shrink now,
// and if not, from when it will.
func (p *plan) releaseAllowed() (time.Time, bool) {
	delay := p.in.Config.ReleaseDelay
	last := p.in.History.LastIncrease
	if delay <= 0 || last.IsZero() {
		return time.Time{}, true
	}
	until := last.Add(delay)
	return until, !p.in.Now.Before(until)
}

// blocked says, in words a user can act on, why the pool cannot grow by
// short addresses.
func (p *plan) blocked(short int) (string, Limit) {
	room := p.roomBlocks()
	capacity := p.capacityBlocks()
	want := ceilDiv(short, p.blockSize)
	if want <= min(room, capacity) {
		return "", ""
	}
	if room <= capacity {
		return fmt.Sprintf("max pods reached (%d)", p.in.Limits.MaxPods), LimitMaxPods
	}
	if p.slots <= 0 {
		return fmt.Sprintf("every ENI is at its address limit (%s: %d IPv4 addresses per ENI, the primary included)",
			p.typeName(), p.in.Limits.Type.IPv4PerENI), LimitAddress
	}
	if typeMax := p.typeMaxENIs(); typeMax > 0 && p.maxENIs < typeMax {
		return fmt.Sprintf("MAX_ENI=%d reached (%s allows %d ENIs)", p.maxENIs, p.typeName(), typeMax), LimitMaxENI
	}
	return fmt.Sprintf("ENI limit of %s reached (%d ENIs)", p.typeName(), p.maxENIs), LimitENI
}

// growReason is the log line of a growing decision.
func (p *plan) growReason(d Decision) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s; short %d", p.describe(), d.Short)
	if len(d.Actions) > 0 {
		b.WriteString(": ")
		b.WriteString(summarize(d.Actions))
	}
	if d.Blocked != "" {
		b.WriteString("; cannot grow further: ")
		b.WriteString(d.Blocked)
	}
	return b.String()
}

// shrinkReason is the log line of a shrinking decision.
func (p *plan) shrinkReason(d Decision) string {
	if len(d.Actions) == 0 {
		return fmt.Sprintf("%s; excess %d, none releasable (in use, cooling, or needed for the target)",
			p.describe(), d.Excess)
	}
	return fmt.Sprintf("%s; excess %d: %s", p.describe(), d.Excess, summarize(d.Actions))
}

// summarize lists actions briefly: "assign 9 IPs to eni-a, create an ENI
// with 9 IPs".
func summarize(acts []Action) string {
	parts := make([]string, 0, len(acts))
	for _, a := range acts {
		switch a.Kind {
		case AssignIPs:
			parts = append(parts, fmt.Sprintf("assign %d IPs to %s", a.Count, a.ENI))
		case AssignPrefixes:
			parts = append(parts, fmt.Sprintf("assign %d prefixes to %s", a.Count, a.ENI))
		case CreateENI:
			parts = append(parts, fmt.Sprintf("create an ENI with %d", a.Count))
		case UnassignIPs:
			parts = append(parts, fmt.Sprintf("release %d IPs from %s", len(a.Blocks), a.ENI))
		case UnassignPrefixes:
			parts = append(parts, fmt.Sprintf("release %d prefixes from %s", len(a.Blocks), a.ENI))
		case DeleteENI:
			parts = append(parts, "delete "+a.ENI)
		}
	}
	return strings.Join(parts, ", ")
}
