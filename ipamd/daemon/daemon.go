// Package daemon is ipamd as a whole. It wires the datastore, the pool
// manager, the IPAM service and its gRPC server, the host network, the
// metrics and the introspection endpoint; runs the startup sequence (the
// instance from metadata, its type's limits from EC2, the checkpoint, the
// host, a reconciliation with the cloud, the release of pods that are
// gone) and only then serves; and stops gracefully when its context ends.
// docs/ipamd.md describes the sequence and what ipamd exposes.
package daemon

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/kubernetes"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/config"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	"github.com/vpc-cni/vpc-cni/ipamd/manager"
	"github.com/vpc-cni/vpc-cni/ipamd/metrics"
	"github.com/vpc-cni/vpc-cni/ipamd/podgc"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// Defaults of Tuning: the settings that have no environment variable.
const (
	// DefaultReleaseDelay is the pool's hysteresis: excess addresses are
	// released only when the pool has not grown for this long, so that a
	// burst of pods deleted and recreated does not return addresses to
	// EC2 only to ask for them again.
	DefaultReleaseDelay = 60 * time.Second
	// DefaultInterval is the pool manager's periodic pass; an ADD that
	// finds the pool short wakes it at once.
	DefaultInterval = 5 * time.Second
	// DefaultIMDSWait bounds the wait for instance metadata to show an
	// EC2 change before its addresses are handed out.
	DefaultIMDSWait = 60 * time.Second
	// DefaultSyncInterval is how often the datastore is reconciled with
	// the cloud while running.
	DefaultSyncInterval = manager.DefaultSyncInterval
	// DefaultStartupWait bounds the retries of each startup step that
	// needs the cloud: reading the instance from metadata, and the first
	// reconciliation with EC2.
	DefaultStartupWait = 2 * time.Minute
	// DefaultStartupRetry is the first pause between those retries; it
	// doubles up to maxStartupRetry.
	DefaultStartupRetry = time.Second
	// DefaultStopTimeout bounds the graceful stop of each server.
	DefaultStopTimeout = 5 * time.Second
	// DefaultQuarantine is how long the addresses of a datastore rebuilt
	// from a damaged checkpoint stay out of use when their owners could
	// not all be recovered: some may still belong to running pods.
	DefaultQuarantine = time.Hour

	maxStartupRetry = 30 * time.Second
	// instanceTypeAttempts is how many DescribeInstanceTypes calls (each
	// retried by the client) are made before the built-in table is used.
	instanceTypeAttempts = 3
)

// Tuning are the daemon's settings that are not configuration a user
// sets: zero fields take the defaults above. Tests shorten them.
type Tuning struct {
	ReleaseDelay time.Duration
	Interval     time.Duration
	IMDSWait     time.Duration
	SyncInterval time.Duration
	StartupWait  time.Duration
	StartupRetry time.Duration
	StopTimeout  time.Duration
	Quarantine   time.Duration
	// PodGCGrace and PodGCInterval are the pod GC's (podgc.DefaultGrace,
	// podgc.DefaultInterval).
	PodGCGrace    time.Duration
	PodGCInterval time.Duration
}

func (t Tuning) withDefaults() Tuning {
	or := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	or(&t.ReleaseDelay, DefaultReleaseDelay)
	or(&t.Interval, DefaultInterval)
	or(&t.IMDSWait, DefaultIMDSWait)
	or(&t.SyncInterval, DefaultSyncInterval)
	or(&t.StartupWait, DefaultStartupWait)
	or(&t.StartupRetry, DefaultStartupRetry)
	or(&t.StopTimeout, DefaultStopTimeout)
	or(&t.Quarantine, DefaultQuarantine)
	or(&t.PodGCGrace, podgc.DefaultGrace)
	or(&t.PodGCInterval, podgc.DefaultInterval)
	return t
}

// Deps are what the daemon runs against; tests replace each.
type Deps struct {
	EC2      cloud.ENIAPI
	Metadata cloud.Metadata
	Host     hostnet.Host
	// Registry receives ipamd's metrics and is served at /metrics; nil: a
	// new one. Whoever built EC2 may have registered its API metrics on
	// it already.
	Registry *prometheus.Registry
	// Log receives the daemon's logs; nil: none.
	Log *slog.Logger
	// Now is the clock of the datastore (cooldowns), the pool manager and
	// introspection; nil: time.Now.
	Now    func() time.Time
	Tuning Tuning
	// WriteCheckpoint writes the checkpoint's bytes to its path so that
	// the file holds the old or the new checkpoint whatever crashes; nil:
	// the datastore's (temp file, fsync, rename). Tests replace it to fail
	// writes, or to stop ipamd at a given write as a crash would.
	WriteCheckpoint func(path string, data []byte) error
	// Kubernetes, if set, is the API server of the cluster the node is in:
	// ipamd reports the node's capacity to the Node named MY_NODE_NAME and
	// collects the addresses of deleted pods. nil: neither (the lab).
	Kubernetes kubernetes.Interface
	// OnReady, if set, is called once ipamd serves, with where.
	OnReady func(Endpoints)
}

// Endpoints are where a running ipamd serves: the gRPC socket, and the
// bound metrics and introspection addresses ("" when disabled).
type Endpoints struct {
	Socket        string
	Metrics       string
	Introspection string
}

// The manager tells the IPAM service the class of what holds the pool
// back, to label the ADD failures it causes.
var _ ipam.BlockedClasser = (*manager.Manager)(nil)

// daemon is one run of ipamd.
type daemon struct {
	cfg  config.Config
	deps Deps
	tune Tuning
	log  *slog.Logger
	now  func() time.Time

	inst    cloud.Instance
	cidrs   atomic.Pointer[[]netip.Prefix] // the VPC's CIDR blocks now; nil: inst.VPCCIDRs
	snatDue chan struct{}                  // the VPC's CIDR blocks changed: followSNAT sets SNAT up again
	limits  pool.Limits
	podIPs  int // the vpc-cni.io/pod-ips figure
	store   *datastore.Store
	loaded  datastore.LoadReport
	foreign bool // the checkpoint was another instance's (loaded.Corrupt says so)
	metrics *metrics.Metrics
	mgr     *manager.Manager
	svc     *ipam.Service
}

// Run runs ipamd until ctx ends: the startup sequence, then serving. It
// returns nil after a graceful stop, and an error when startup or serving
// fails; the error names the cause.
func Run(ctx context.Context, cfg config.Config, deps Deps) error {
	d, err := newDaemon(cfg, deps)
	if err != nil {
		return err
	}
	if err := d.startup(ctx); err != nil {
		return err
	}
	return d.serve(ctx)
}

func newDaemon(cfg config.Config, deps Deps) (*daemon, error) {
	switch {
	case deps.EC2 == nil:
		return nil, errors.New("daemon: no EC2 client")
	case deps.Metadata == nil:
		return nil, errors.New("daemon: no instance metadata client")
	case deps.Host == nil:
		return nil, errors.New("daemon: no host network")
	case deps.Kubernetes != nil && cfg.NodeName == "":
		return nil, ErrNoNodeName
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	return &daemon{
		cfg: cfg, deps: deps, tune: deps.Tuning.withDefaults(), log: deps.Log, now: deps.Now,
		snatDue: make(chan struct{}, 1),
	}, nil
}

// sleep pauses for d or until ctx ends, and reports whether ctx is still
// live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// retry calls f until it succeeds, ctx ends, or StartupWait has passed,
// pausing StartupRetry (doubling up to maxStartupRetry) between calls and
// logging each failure; it returns f's last error.
func (d *daemon) retry(ctx context.Context, what string, f func(context.Context) error) error {
	deadline := d.now().Add(d.tune.StartupWait)
	pause := d.tune.StartupRetry
	for {
		err := f(ctx)
		if err == nil || ctx.Err() != nil {
			return err
		}
		if !d.now().Before(deadline) {
			return err
		}
		d.log.Warn("startup step failed; retrying", logKeyStep, what, logKeyError, err.Error(), logKeyRetryIn, pause)
		if !sleep(ctx, pause) {
			return err
		}
		pause = min(2*pause, maxStartupRetry)
	}
}
