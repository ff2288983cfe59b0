package manager

import (
	"fmt"

	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// Classes of a blockage that only the policy sees (BlockedClass), besides
// the error classes.
const (
	ClassMaxPods = string(pool.LimitMaxPods)
	ClassMaxENI  = string(pool.LimitMaxENI)
)

// blockage is what holds the pool back: the user-facing cause, its class,
// and whether only a change of configuration or capacity can help.
type blockage struct {
	cause, class string
	permanent    bool
}

// Blocked says why the pool cannot supply more addresses now, in words a
// user can act on ("subnet subnet-… has no free addresses", "ENI limit of
// m5.large reached (3 ENIs)", "max pods reached (29)", "EC2 throttling;
// retrying"); empty when it can grow or is growing. Permanent is true when
// only a change of configuration or capacity can help.
func (m *Manager) Blocked() (cause string, permanent bool) {
	b := m.blocked()
	return b.cause, b.permanent
}

// BlockedClass is the class of what Blocked reports, to label failures in
// metrics: ClassThrottled, ClassSubnetExhausted, ClassPrefixFragmented,
// ClassENILimit, ClassAddressLimit, ClassMaxPods, ClassMaxENI or
// ClassOther; "" when Blocked reports nothing. Blocked and BlockedClass
// are two reads: the state may change in between, so a caller that needs
// both takes BlockedState.
func (m *Manager) BlockedClass() string { return m.blocked().class }

// BlockedState is what Blocked and BlockedClass report, read at once under
// one lock: the cause, its class and whether it is permanent always
// agree.
func (m *Manager) BlockedState() (cause, class string, permanent bool) {
	b := m.blocked()
	return b.cause, b.class, b.permanent
}

// blocked is what Blocked, BlockedClass and BlockedState report, read
// under one lock: the policy's limit if it names one, else the first
// backoff holding growth back while the pool is short.
func (m *Manager) blocked() blockage {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last.Blocked != "" {
		return blockage{m.last.Blocked, limitClass(m.last.BlockedBy), true} // a limit is reached
	}
	if m.last.Short == 0 {
		return blockage{}
	}
	for _, class := range classes {
		b := m.backoffs[class]
		if b == nil || !holdsGrowth(b) {
			continue
		}
		return m.backoffBlockage(class, b)
	}
	return blockage{}
}

// limitClass is the class of a limit the policy reports. The classes of
// limits are the policy's own names for them.
func limitClass(l pool.Limit) string {
	switch l {
	case pool.LimitMaxPods, pool.LimitMaxENI, pool.LimitENI, pool.LimitAddress:
		return string(l)
	}
	return ClassOther
}

// holdsGrowth reports whether the backoff holds any kind of growth back.
func holdsGrowth(b *backoff) bool {
	for _, k := range growKinds {
		if b.holds[k] {
			return true
		}
	}
	return false
}

// backoffBlockage is the blockage of a class's backoff.
func (m *Manager) backoffBlockage(class string, b *backoff) blockage {
	subnet := b.subnet
	if subnet == "" {
		subnet = m.opts.Instance.SubnetID
	}
	switch class {
	case ClassSubnetExhausted:
		return blockage{fmt.Sprintf("subnet %s has no free addresses", subnet), class, false}
	case ClassPrefixFragmented:
		return blockage{fmt.Sprintf("subnet %s has no free aligned /28 for a prefix", subnet), class, false}
	case ClassENILimit:
		cause, maxENI := m.eniLimitCause()
		if maxENI {
			class = ClassMaxENI
		}
		return blockage{cause, class, true}
	case ClassAddressLimit:
		t := m.opts.Limits.Type
		return blockage{fmt.Sprintf("address limit of %s reached (%d per ENI)", t.Type, t.IPv4PerENI), class, true}
	case ClassThrottled:
		return blockage{"EC2 throttling; retrying", class, false}
	}
	return blockage{fmt.Sprintf("pool growth failing: %v; retrying", b.err), ClassOther, false}
}

// eniLimitCause names the ENI limit: the instance type's, or MAX_ENI's
// when that is lower (maxENI).
func (m *Manager) eniLimitCause() (cause string, maxENI bool) {
	l := m.opts.Limits
	typeMax := l.Type.ENIsOnCard(l.Type.DefaultNetworkCard)
	if typeMax == 0 || (l.Type.MaxENIs > 0 && l.Type.MaxENIs < typeMax) {
		typeMax = l.Type.MaxENIs
	}
	if l.MaxENIs > 0 && l.MaxENIs < typeMax {
		return fmt.Sprintf("MAX_ENI=%d reached (%s allows %d ENIs)", l.MaxENIs, l.Type.Type, typeMax), true
	}
	return fmt.Sprintf("ENI limit of %s reached (%d ENIs)", l.Type.Type, typeMax), false
}
