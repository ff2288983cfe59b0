// Package manager is the pool manager: it keeps the node's address pool at
// the targets the pool policy sets, executing the policy's actions against
// EC2 (assign and unassign addresses and prefixes, create, attach, detach
// and delete ENIs), waiting until instance metadata shows each change
// before the addresses are handed out, programming each new ENI on the host,
// and recording the result in the datastore. It runs on a timer and is
// woken at once when an ADD finds the pool short. It also reconciles the
// datastore with the cloud (Sync) and deletes ENIs that earlier runs leaked.
package manager

import (
	"cmp"
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// Defaults of Options.
const (
	DefaultInterval     = 5 * time.Second
	DefaultIMDSWait     = 60 * time.Second
	DefaultDetachWait   = 2 * time.Minute
	DefaultSyncInterval = time.Minute
	DefaultStopTimeout  = 3 * time.Second

	// syncRetry is how soon a failed reconciliation is tried again.
	syncRetry = 10 * time.Second
)

// Deps are the manager's collaborators.
type Deps struct {
	EC2      cloud.ENIAPI
	Metadata cloud.Metadata
	Store    *datastore.Store
	Host     hostnet.Host
	Log      *slog.Logger
	// Observer, if set, is told about every action and its outcome (metrics).
	Observer Observer
}

// Observer receives the outcome of each pool action: "ok", an error class
// (ClassThrottled, …), "metadata-timeout", "skipped" (the datastore changed
// since the decision) or "canceled".
type Observer interface {
	PoolAction(kind pool.Kind, outcome string, d time.Duration)
}

// Options configure the manager.
type Options struct {
	Instance    cloud.Instance
	Limits      pool.Limits
	Pool        pool.Config
	ClusterName string
	// Tags are ADDITIONAL_ENI_TAGS, added to every ENI the manager creates.
	Tags map[string]string
	// ENIMTU is set on every secondary ENI's link (AWS_VPC_ENI_MTU).
	ENIMTU int
	// LeakedENICleanup deletes ENIs tagged by vpc-cni for this cluster that
	// are detached and older than five minutes (hourly, with jitter).
	LeakedENICleanup bool
	// Interval is the periodic pass (default 5s); a Wake runs one at once.
	Interval time.Duration
	// IMDSWait bounds the wait for instance metadata to show a change
	// (default 60s, polled with backoff).
	IMDSWait time.Duration
	// DetachWait bounds the wait for a detaching ENI to become available
	// before it is deleted (default 2m).
	DetachWait time.Duration
	// SyncInterval is how often Run reconciles the datastore with the
	// cloud (default 1m); it also syncs sooner after an error that says
	// the two disagree.
	SyncInterval time.Duration
	// ReconcileCooldown is how long Sync leaves alone a block or an ENI
	// the manager released, or may have released (default
	// DefaultReconcileCooldown).
	ReconcileCooldown time.Duration
	// DroppedQuarantine is how long an address whose allocation Sync
	// dropped is kept from pods if it comes back to the node (default
	// DefaultDroppedQuarantine).
	DroppedQuarantine time.Duration
	// StopTimeout bounds, once the context given to Run (or Pass) has
	// ended, the work that must not be cut off midway: an EC2 call in
	// flight, the undo of a half-made ENI, the retirement of an ENI (default
	// DefaultStopTimeout, real time, within the daemon's graceful stop).
	// What is unfinished then is left to Sync and the leaked-ENI cleanup,
	// and logged with the ENI's id.
	StopTimeout time.Duration
	// OnVPCCIDRs, if set, is called by Sync with the VPC's CIDR blocks as
	// the primary ENI's metadata lists them, whenever they differ from
	// the last ones (at first, Instance.VPCCIDRs): a CIDR block was
	// associated to or disassociated from the VPC. The daemon programs
	// SNAT and the pods' VPC routes from them. It is called with the pass
	// lock held, so it must not call back into the manager.
	OnVPCCIDRs func([]netip.Prefix)
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// State is the manager's view for introspection.
type State struct {
	LastDecision pool.Decision
	LastPass     time.Time
	LastError    string
	// Backoff is, per error class (throttled, subnet-exhausted,
	// eni-limit, address-limit, prefix-fragmented, other), until when
	// growth of that kind is held back.
	Backoff map[string]time.Time
	// LastSync is when the datastore was last reconciled with the cloud.
	LastSync time.Time
}

// Manager runs the pool. Safe for concurrent use.
type Manager struct {
	ec2   cloud.ENIAPI
	md    cloud.Metadata
	store *datastore.Store
	host  hostnet.Host
	log   *slog.Logger
	obs   Observer
	opts  Options

	// Seams for tests: the policy, the jitter source, how fast waits poll,
	// the leaked-ENI cleanup's schedule, and the quarantine's write.
	decide           func(pool.Input) pool.Decision
	jitter           func() float64
	pollMin, pollMax time.Duration
	cleanupFirst     time.Duration
	cleanupEvery     time.Duration
	quarantineAddrs  func(until time.Time, addrs []netip.Addr) (int, error) // the store's

	wake   chan struct{}
	passMu sync.Mutex // one pass or sync at a time
	// unquarantined are the addresses of dropped allocations whose
	// quarantine write failed, with until when to keep them from pods;
	// guarded by passMu (only Sync uses them).
	unquarantined map[netip.Addr]time.Time

	mu       sync.Mutex
	history  pool.History
	last     pool.Decision
	lastPass time.Time
	lastErr  string
	backoffs map[string]*backoff
	lastSync time.Time
	nextSync time.Time // zero: at once
	// released and releasedENIs are the blocks and ENIs released lately,
	// which Sync leaves alone for ReconcileCooldown.
	released     map[netip.Prefix]releasedEntry
	releasedENIs map[string]releasedEntry
	// vpcCIDRs are the VPC's CIDR blocks as last seen.
	vpcCIDRs []netip.Prefix
}

// New returns a manager; Run starts it.
func New(d Deps, o Options) *Manager {
	o.Interval = cmp.Or(o.Interval, DefaultInterval)
	o.IMDSWait = cmp.Or(o.IMDSWait, DefaultIMDSWait)
	o.DetachWait = cmp.Or(o.DetachWait, DefaultDetachWait)
	o.SyncInterval = cmp.Or(o.SyncInterval, DefaultSyncInterval)
	o.ReconcileCooldown = cmp.Or(o.ReconcileCooldown, DefaultReconcileCooldown)
	o.DroppedQuarantine = cmp.Or(o.DroppedQuarantine, DefaultDroppedQuarantine)
	o.StopTimeout = cmp.Or(o.StopTimeout, DefaultStopTimeout)
	if o.Now == nil {
		o.Now = time.Now
	}
	log := d.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Manager{
		ec2: d.EC2, md: d.Metadata, store: d.Store, host: d.Host, log: log, obs: d.Observer, opts: o,
		decide: pool.Decide, jitter: randJitter,
		pollMin: 100 * time.Millisecond, pollMax: time.Second,
		cleanupFirst: cleanupFirstRun, cleanupEvery: cleanupInterval,
		quarantineAddrs: d.Store.QuarantineAddrs,
		wake:            make(chan struct{}, 1),
		unquarantined:   map[netip.Addr]time.Time{},
		backoffs:        map[string]*backoff{},
		released:        map[netip.Prefix]releasedEntry{}, releasedENIs: map[string]releasedEntry{},
		vpcCIDRs: slices.Clone(o.Instance.VPCCIDRs),
	}
}

func (m *Manager) now() time.Time { return m.opts.Now() }

// Run runs passes until ctx ends: one at once, then one per Interval and
// one at each Wake; it reconciles with the cloud every SyncInterval, and
// runs the leaked-ENI cleanup when enabled. It returns nil when ctx ends:
// at once between passes, and within StopTimeout during one (what is left
// unfinished then is logged with the ENI's id, for Sync and the leaked-ENI
// cleanup).
func (m *Manager) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	if m.opts.LeakedENICleanup {
		wg.Go(func() { m.cleanupLoop(ctx) })
	}
	defer wg.Wait()
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		if m.syncDue() {
			m.periodicSync(ctx)
		}
		m.Pass(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-m.wake:
		case <-t.C:
		}
	}
}

// Wake asks for a pass now (an ADD found the pool short). It never blocks;
// wakes that arrive while one is pending are one.
func (m *Manager) Wake() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// State returns the manager's state for introspection.
func (m *Manager) State() State {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := State{
		LastDecision: m.last, LastPass: m.lastPass, LastError: m.lastErr, LastSync: m.lastSync,
		Backoff: make(map[string]time.Time, len(m.backoffs)),
	}
	s.LastDecision.Actions = append([]pool.Action(nil), m.last.Actions...)
	for class, b := range m.backoffs {
		s.Backoff[class] = b.until
	}
	return s
}

// syncDue reports whether Run should reconcile now.
func (m *Manager) syncDue() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return !m.now().Before(m.nextSync)
}

// wantSync asks Run for a reconciliation before its next pass: the
// datastore and the cloud may disagree.
func (m *Manager) wantSync() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.nextSync = time.Time{}
}

// synced schedules the next reconciliation: after SyncInterval when this
// one succeeded, sooner when it failed, and no later than the end of the
// cooldown of a release whose outcome is unknown.
func (m *Manager) synced(ok bool) {
	now := m.now()
	m.mu.Lock()
	defer m.mu.Unlock()
	next := now.Add(min(m.opts.SyncInterval, syncRetry))
	if ok {
		m.lastSync = now
		next = now.Add(m.opts.SyncInterval)
	}
	if settle := m.pruneReleasedLocked(now); !settle.IsZero() && settle.Before(next) {
		next = settle
	}
	m.nextSync = next
}

// periodicSync runs Sync and logs what it changed.
func (m *Manager) periodicSync(ctx context.Context) {
	rep, err := m.Sync(ctx)
	if err != nil && ctx.Err() == nil {
		m.log.Warn("reconciling the datastore with the cloud failed", logKeyError, err.Error())
	}
	rep.Log(m.log)
}
