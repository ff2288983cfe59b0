// Package manager is the pool manager: it keeps the node's address pool at
// the targets the pool policy sets, executing the policy's actions against
// EC2 (assign and unassign addresses and prefixes, create, attach, detach
// and delete ENIs), waiting until instance metadata shows each change
// before the addresses are handed out, programming each new ENI on the host,
// and recording the result in the datastore. It runs on a timer and is
// woken at once when an ADD finds the pool short. It also deletes ENIs that
// earlier runs leaked.
package manager

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// CONTRACT STUB: the exported signatures below are the contract with the
// IPAM service and the daemon; bodies are filled in by the manager work.

var errTODO = errors.New("not implemented")

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

// Observer receives the outcome of each pool action.
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
}

// Manager runs the pool. Safe for concurrent use.
type Manager struct{}

// New returns a manager; Run starts it.
func New(d Deps, o Options) *Manager { return &Manager{} }

// Run runs passes until ctx ends.
func (m *Manager) Run(ctx context.Context) error { return errTODO }

// Wake asks for a pass now (an ADD found the pool short). It never blocks.
func (m *Manager) Wake() {}

// Blocked says why the pool cannot supply more addresses now, in words a
// user can act on ("subnet subnet-… has no free addresses", "ENI limit of
// m5.large reached (3)", "max pods reached (29)", "EC2 throttling;
// retrying"); empty when it can grow or is growing. Permanent is true when
// only a change of configuration or capacity can help.
func (m *Manager) Blocked() (cause string, permanent bool) { return "", false }

// State returns the manager's state for introspection.
func (m *Manager) State() State { return State{} }
