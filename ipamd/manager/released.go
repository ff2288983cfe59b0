package manager

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// DefaultReconcileCooldown is how long Sync leaves alone a block or an ENI
// the manager released (or may have released: the answer was lost). Both
// DescribeNetworkInterfaces and instance metadata are eventually
// consistent and go on showing a released block or a detached ENI for a
// while; re-adding it would hand out an address EC2 may already have
// given to another node. The AWS VPC CNI waits 60 seconds
// (ipReconcileCooldown) before its reconciliation re-adds an address it
// unassigned.
const DefaultReconcileCooldown = time.Minute

// DefaultDroppedQuarantine is how long an address whose allocation Sync
// dropped (the cloud no longer had its block) is kept from pods if it
// comes back to the node: the pod that held it may still be using it.
const DefaultDroppedQuarantine = 10 * time.Minute

// releasedEntry is a block or ENI released at some time. unsure marks a
// release whose outcome is unknown (the answer was lost): a sync is due
// when the cooldown ends, to put back what the cloud still has.
type releasedEntry struct {
	at     time.Time
	unsure bool
}

// noteReleased records blocks as released now (unsure: maybe) and returns
// when Sync may consider them again.
func (m *Manager) noteReleased(blocks []netip.Prefix, unsure bool) time.Time {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range blocks {
		m.released[b] = releasedEntry{at: now, unsure: unsure}
	}
	return now.Add(m.opts.ReconcileCooldown)
}

// forgetReleased drops blocks from the record: they are the node's again
// (EC2 assigned them anew and metadata shows them).
func (m *Manager) forgetReleased(blocks []netip.Prefix) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, b := range blocks {
		delete(m.released, b)
	}
}

// noteReleasedENI records an ENI as on its way out of the instance now
// (unsure: maybe) and returns when Sync may adopt it again.
func (m *Manager) noteReleasedENI(id string, unsure bool) time.Time {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.releasedENIs[id] = releasedEntry{at: now, unsure: unsure}
	return now.Add(m.opts.ReconcileCooldown)
}

// forgetReleasedENI drops an ENI from the record: it is managed again.
func (m *Manager) forgetReleasedENI(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.releasedENIs, id)
}

// recentlyReleased reports whether Sync must leave the block alone now.
func (m *Manager) recentlyReleased(b netip.Prefix, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.released[b]
	return ok && now.Before(r.at.Add(m.opts.ReconcileCooldown))
}

// recentlyReleasedENI reports whether Sync must not adopt the ENI now.
func (m *Manager) recentlyReleasedENI(id string, now time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.releasedENIs[id]
	return ok && now.Before(r.at.Add(m.opts.ReconcileCooldown))
}

// pruneReleasedLocked forgets the entries whose cooldown ended by now and
// returns the earliest end of an unsure one still running (zero if none):
// the sync that settles it is due then.
func (m *Manager) pruneReleasedLocked(now time.Time) time.Time {
	var settle time.Time
	for b, r := range m.released {
		end := r.at.Add(m.opts.ReconcileCooldown)
		switch {
		case !now.Before(end):
			delete(m.released, b)
		case r.unsure && (settle.IsZero() || end.Before(settle)):
			settle = end
		}
	}
	for id, r := range m.releasedENIs {
		end := r.at.Add(m.opts.ReconcileCooldown)
		switch {
		case !now.Before(end):
			delete(m.releasedENIs, id)
		case r.unsure && (settle.IsZero() || end.Before(settle)):
			settle = end
		}
	}
	return settle
}

// syncBy asks Run for a reconciliation no later than t.
func (m *Manager) syncBy(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.Before(m.nextSync) {
		m.nextSync = t
	}
}

// rejected reports whether a failed EC2 call certainly changed nothing:
// EC2 refused it for its rate, or the client refused its arguments before
// calling, and the error does not say that an earlier attempt may have
// taken effect (cloud.ErrOutcomeUnknown: the SDK returns the last
// attempt's error only, so a throttled retry can hide an applied first
// attempt). Any other failure may have taken effect: the answer was lost
// (the context ended, the connection failed), EC2 failed on its side
// after the change (a 5xx), or the client's retry of a call whose first
// attempt took effect was refused (an unassign's retry finds the address
// gone: InvalidParameterValue; a delete's: NotFound).
func rejected(err error) bool {
	if errors.Is(err, cloud.ErrOutcomeUnknown) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var api *cloud.APIError
	return errors.Is(err, cloud.ErrThrottled) || (errors.Is(err, cloud.ErrInvalidParameter) && !errors.As(err, &api))
}
