package manager

import "fmt"

// Blocked says why the pool cannot supply more addresses now, in words a
// user can act on ("subnet subnet-… has no free addresses", "ENI limit of
// m5.large reached (3 ENIs)", "max pods reached (29)", "EC2 throttling;
// retrying"); empty when it can grow or is growing. Permanent is true when
// only a change of configuration or capacity can help.
func (m *Manager) Blocked() (cause string, permanent bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.last.Blocked != "" {
		return m.last.Blocked, true // the policy's words: a limit is reached
	}
	if m.last.Short == 0 {
		return "", false
	}
	for _, class := range classes {
		b := m.backoffs[class]
		if b == nil || !holdsGrowth(b) {
			continue
		}
		return m.backoffCause(class, b)
	}
	return "", false
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

// backoffCause is the user-facing cause of a class's backoff.
func (m *Manager) backoffCause(class string, b *backoff) (string, bool) {
	subnet := b.subnet
	if subnet == "" {
		subnet = m.opts.Instance.SubnetID
	}
	switch class {
	case ClassSubnetExhausted:
		return fmt.Sprintf("subnet %s has no free addresses", subnet), false
	case ClassPrefixFragmented:
		return fmt.Sprintf("subnet %s has no free aligned /28 for a prefix", subnet), false
	case ClassENILimit:
		return m.eniLimitCause(), true
	case ClassAddressLimit:
		t := m.opts.Limits.Type
		return fmt.Sprintf("address limit of %s reached (%d per ENI)", t.Type, t.IPv4PerENI), true
	case ClassThrottled:
		return "EC2 throttling; retrying", false
	}
	return fmt.Sprintf("pool growth failing: %v; retrying", b.err), false
}

// eniLimitCause names the ENI limit: the instance type's, or MAX_ENI's
// when that is lower.
func (m *Manager) eniLimitCause() string {
	l := m.opts.Limits
	typeMax := l.Type.ENIsOnCard(l.Type.DefaultNetworkCard)
	if typeMax == 0 || (l.Type.MaxENIs > 0 && l.Type.MaxENIs < typeMax) {
		typeMax = l.Type.MaxENIs
	}
	if l.MaxENIs > 0 && l.MaxENIs < typeMax {
		return fmt.Sprintf("MAX_ENI=%d reached (%s allows %d ENIs)", l.MaxENIs, l.Type.Type, typeMax)
	}
	return fmt.Sprintf("ENI limit of %s reached (%d ENIs)", l.Type.Type, typeMax)
}
