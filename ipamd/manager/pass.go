package manager

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// errSkipped: the action no longer applies (the datastore changed since
// the decision, e.g. an address was assigned in between); nothing was done.
var errSkipped = errors.New("action skipped: the datastore changed since the decision")

// Pass runs one pass now: it asks the pool policy what to do about the
// datastore as it is, and executes the actions the backoffs do not hold
// back. Growth on different ENIs runs concurrently; releases run after it,
// one by one. It returns the decision.
func (m *Manager) Pass(ctx context.Context) pool.Decision {
	m.passMu.Lock()
	defer m.passMu.Unlock()
	now := m.now()
	m.mu.Lock()
	history := m.history
	m.pruneLocked(now)
	m.mu.Unlock()
	dec := m.decide(pool.Input{
		Stats: m.store.Stats(), Config: m.opts.Pool, Limits: m.opts.Limits, History: history, Now: now,
	})
	m.mu.Lock()
	m.last, m.lastPass = dec, now
	m.mu.Unlock()
	if len(dec.Actions) > 0 {
		m.log.Debug("pool decision", logKeyReason, dec.Reason, logKeyShort, dec.Short, logKeyExcess, dec.Excess)
	}
	var grow, release []pool.Action
	for _, a := range dec.Actions {
		if slices.Contains(growKinds, a.Kind) {
			grow = append(grow, a)
		} else {
			release = append(release, a)
		}
	}
	failed := m.runGrow(ctx, grow)
	for _, a := range release {
		if m.act(ctx, a) != nil {
			failed++
		}
	}
	m.mu.Lock()
	if failed == 0 && len(m.backoffs) == 0 {
		m.lastErr = "" // nothing failing any more
	}
	m.mu.Unlock()
	return dec
}

// runGrow runs the growth actions: those on one ENI in order, different
// ENIs concurrently, and every new ENI one after the other (each takes the
// lowest free device index). It returns how many failed.
func (m *Manager) runGrow(ctx context.Context, acts []pool.Action) int {
	groups := map[string][]pool.Action{}
	var order []string
	for _, a := range acts {
		key := a.ENI
		if a.Kind == pool.CreateENI {
			key = ""
		}
		if _, ok := groups[key]; !ok {
			order = append(order, key)
		}
		groups[key] = append(groups[key], a)
	}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for _, key := range order {
		wg.Go(func() {
			for _, a := range groups[key] {
				if m.act(ctx, a) != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return int(failed.Load())
}

// act executes one action unless a backoff holds its kind back, and
// records the outcome: for the Observer, the backoffs and the history.
func (m *Manager) act(ctx context.Context, a pool.Action) error {
	start := m.now()
	if class, held := m.held(a.Kind, start); held {
		m.log.Debug("action held back", logKeyKind, string(a.Kind), logKeyENI, a.ENI, logKeyClass, class)
		return nil
	}
	subnet := m.subnetOf(a)
	err := m.execute(ctx, a)
	end := m.now()
	out := outcome(err)
	if m.obs != nil {
		m.obs.PoolAction(a.Kind, out, end.Sub(start))
	}
	switch out {
	case OutcomeOK:
		m.succeeded(a.Kind, end)
		m.log.Debug("pool action done", logKeyKind, string(a.Kind), logKeyENI, a.ENI, logKeyDuration, end.Sub(start))
		return nil
	case outcomeSkipped:
		m.log.Debug("pool action skipped", logKeyKind, string(a.Kind), logKeyENI, a.ENI, logKeyError, err.Error())
		return nil
	case outcomeCanceled:
		return err
	}
	class := classify(err)
	until := m.failed(class, a.Kind, subnet, err, end)
	m.log.Warn("pool action failed", logKeyKind, string(a.Kind), logKeyENI, a.ENI, logKeyClass, class,
		logKeyUntil, until, logKeyError, err.Error())
	return err
}

// execute runs one action.
func (m *Manager) execute(ctx context.Context, a pool.Action) error {
	switch a.Kind {
	case pool.AssignIPs:
		return m.assignIPs(ctx, a)
	case pool.AssignPrefixes:
		return m.assignPrefixes(ctx, a)
	case pool.CreateENI:
		return m.createENI(ctx, a)
	case pool.UnassignIPs, pool.UnassignPrefixes:
		return m.unassign(ctx, a)
	case pool.DeleteENI:
		return m.deleteENI(ctx, a)
	}
	return fmt.Errorf("unknown action %q: %w", a.Kind, errSkipped)
}

// subnetOf is the subnet an action takes addresses from, for Blocked.
func (m *Manager) subnetOf(a pool.Action) string {
	if a.ENI != "" {
		if e, ok := m.storeENI(a.ENI); ok {
			return e.SubnetID
		}
	}
	return m.opts.Instance.SubnetID
}

// held reports whether a backoff holds kind back at now, and which.
func (m *Manager) held(kind pool.Kind, now time.Time) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, class := range classes {
		if m.backoffs[class].holdsAt(kind, now) {
			return class, true
		}
	}
	return "", false
}

// succeeded notes a successful action at now: the history, and the end of
// every backoff that held its kind and has run out (the retry worked).
func (m *Manager) succeeded(kind pool.Kind, now time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if slices.Contains(growKinds, kind) {
		m.history.LastIncrease = now
	} else {
		m.history.LastDecrease = now
	}
	for class, b := range m.backoffs {
		if b.holds[kind] && !now.Before(b.until) {
			delete(m.backoffs, class)
		}
	}
}

// pruneLocked forgets backoffs that ran out long ago (their longest delay
// ago) with no retry since, so that a cause nobody has retried is not
// reported for ever.
func (m *Manager) pruneLocked(now time.Time) {
	for class, b := range m.backoffs {
		if now.After(b.until.Add(policies[class].max)) {
			delete(m.backoffs, class)
		}
	}
}

// failed starts or extends class's backoff after a failure of kind at now
// and returns until when it holds. Failures while the backoff already
// holds (concurrent actions of one pass) do not lengthen it.
func (m *Manager) failed(class string, kind pool.Kind, subnet string, err error, now time.Time) time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lastErr = err.Error()
	b := m.backoffs[class]
	if b == nil {
		b = &backoff{holds: map[pool.Kind]bool{}}
		for _, k := range policies[class].holds {
			b.holds[k] = true
		}
		m.backoffs[class] = b
	}
	b.holds[kind] = true
	b.subnet, b.err = subnet, err
	if !now.Before(b.until) {
		b.failures++
		b.until = now.Add(delay(policies[class], b.failures, m.jitter))
	}
	return b.until
}
