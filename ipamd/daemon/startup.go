package daemon

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"slices"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/capacity"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	"github.com/vpc-cni/vpc-cni/ipamd/manager"
	"github.com/vpc-cni/vpc-cni/ipamd/maxpods"
	"github.com/vpc-cni/vpc-cni/ipamd/metrics"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// startup brings ipamd to the point where it may serve: the instance and
// its limits known, the checkpoint restored (or rebuilt), the host set up,
// the datastore reconciled with the cloud, and the addresses of pods that
// are gone released.
func (d *daemon) startup(ctx context.Context) error {
	for _, w := range d.cfg.Warnings {
		d.log.Warn("configuration", logKeyWarning, w)
	}
	if err := d.learnInstance(ctx); err != nil {
		return err
	}
	if err := d.openStore(ctx); err != nil {
		return err
	}
	if err := d.wire(); err != nil {
		return err
	}
	if err := d.setupHost(ctx); err != nil {
		return err
	}
	d.reconcile(ctx)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("startup: %w", err)
	}
	if d.loaded.Corrupt != nil {
		if err := d.rebuild(); err != nil {
			return err
		}
	}
	return d.releaseGonePods(ctx)
}

// learnInstance reads the instance from metadata, its type's limits from
// EC2 and works out the pool's limits.
func (d *daemon) learnInstance(ctx context.Context) error {
	err := d.retry(ctx, "read the instance from metadata", func(ctx context.Context) error {
		var err error
		d.inst, err = d.deps.Metadata.Instance(ctx)
		return err
	})
	if ctx.Err() != nil {
		return fmt.Errorf("startup: %w", ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("read the instance from instance metadata: %w "+
			"(is IMDS reachable from the node? AWS_EC2_METADATA_SERVICE_ENDPOINT overrides its address)", err)
	}
	typ, err := d.instanceType(ctx, d.inst.Type)
	if err != nil {
		return err
	}
	mp, err := maxpods.Compute(typ, maxPodsOptions(d.cfg))
	if errors.Is(err, maxpods.ErrPrefixDelegation) {
		return fmt.Errorf("max pods: %w; unset ENABLE_PREFIX_DELEGATION", err)
	}
	if err != nil {
		return fmt.Errorf("max pods: %w", err)
	}
	d.limits = pool.Limits{Type: typ, MaxENIs: mp.ENIs, MaxPods: mp.MaxPods}
	d.podIPs = capacity.PodIPsOf(mp)
	d.log.Info("instance", logKeyNode, d.cfg.NodeName, logKeyInstance, d.inst.ID, logKeyType, d.inst.Type, logKeyAZ, d.inst.AZ,
		logKeyMaxENIs, mp.ENIs, logKeyMaxPods, mp.MaxPods, logKeyMaxPodsRaw, mp.Raw,
		logKeyPrefixMode, d.cfg.PrefixDelegation)
	return nil
}

// instanceType asks EC2 for the type's limits, a few times; when EC2 does
// not answer, it falls back to the built-in table with a warning.
func (d *daemon) instanceType(ctx context.Context, name string) (cloud.InstanceTypeLimits, error) {
	pause := d.tune.StartupRetry
	var last error
	for attempt := 1; ; attempt++ {
		l, err := d.deps.EC2.InstanceType(ctx, name)
		if err == nil {
			d.log.Info("instance type limits", logKeyType, name, logKeySource, "ec2")
			return l, nil
		}
		if ctx.Err() != nil {
			break
		}
		last = err
		if errors.Is(err, cloud.ErrNotFound) || attempt == instanceTypeAttempts || !sleep(ctx, pause) {
			break
		}
		pause = min(2*pause, maxStartupRetry)
	}
	if ctx.Err() != nil {
		return cloud.InstanceTypeLimits{}, fmt.Errorf("startup: %w", ctx.Err())
	}
	l, ok := cloud.BuiltinInstanceType(name)
	if !ok {
		return cloud.InstanceTypeLimits{}, fmt.Errorf("instance type %s: EC2 did not describe it (%w) and the built-in "+
			"table does not know it; give ipamd ec2:DescribeInstanceTypes and a reachable EC2 endpoint", name, last)
	}
	d.log.Warn("EC2 did not describe the instance type; using the built-in table", logKeyType, name,
		logKeySource, "builtin", logKeyError, last.Error())
	return l, nil
}

// openStore restores the checkpoint. A corrupt one, or another
// instance's, is logged loudly and the store starts empty, to be rebuilt;
// before anything else is written, the quarantine of the rebuild replaces
// it on disk (a copy is kept), so that a crash at any point of the rebuild
// finds either the same file again or the quarantine.
func (d *daemon) openStore(ctx context.Context) error {
	path := d.cfg.CheckpointPath()
	if err := os.MkdirAll(d.cfg.StateDir, 0o700); err != nil {
		return fmt.Errorf("create the state directory: %w", err)
	}
	opts := storeOptions(d.cfg, d.inst, d.now)
	if d.deps.WriteCheckpoint != nil {
		opts.WriteFile = d.deps.WriteCheckpoint
	}
	d.store = datastore.New(opts)
	rep, err := d.store.Load()
	if err != nil {
		return fmt.Errorf("restore the checkpoint: %w (check that %s is readable and writable by ipamd)", err, d.cfg.StateDir)
	}
	d.loaded = rep
	if rep.Corrupt == nil {
		d.log.Info("restored the checkpoint", logKeyPath, path, logKeyENIs, rep.ENIs,
			logKeyAllocations, rep.Allocations, logKeyCooling, rep.Cooling)
		if q, ok := d.store.Quarantined(); ok {
			d.log.Warn("a quarantine set by an earlier rebuild is in force", logKeyUntil, q.Until,
				logKeyScope, scopeWords(q.Within))
		}
		return nil
	}
	d.foreign = errors.Is(rep.Corrupt, datastore.ErrForeign)
	if d.foreign {
		d.log.Error("THE CHECKPOINT IS ANOTHER INSTANCE'S (a state directory copied or shared between nodes?): the "+
			"datastore is rebuilt from the cloud", logKeyPath, path, logKeyAside, rep.CorruptPath,
			logKeyInstance, d.inst.ID, logKeyError, rep.Corrupt.Error())
	} else {
		d.log.Error("THE CHECKPOINT IS CORRUPT: the datastore is rebuilt from the cloud, with what can be salvaged "+
			"from it", logKeyPath, path, logKeyAside, rep.CorruptPath, logKeyError, rep.Corrupt.Error())
	}
	return d.quarantine(ctx)
}

// wire builds the metrics, the pool manager and the IPAM service.
func (d *daemon) wire() error {
	var err error
	d.metrics, err = metrics.New(d.deps.Registry, metrics.Sources{
		Stats: d.store.Stats, MaxPods: func() int { return d.limits.MaxPods },
	})
	if err != nil {
		return err
	}
	d.mgr = manager.New(manager.Deps{
		EC2: d.deps.EC2, Metadata: d.deps.Metadata, Store: d.store, Host: d.deps.Host, Log: d.log, Observer: d.metrics,
	}, managerOptions(d.cfg, d.tune, d.inst, d.limits, d.now, d.vpcCIDRsChanged))
	d.svc = ipam.New(d.store, d.mgr, serviceOptions(d.cfg, d.vpcCIDRs(), d.metrics))
	return nil
}

// setupHost installs SNAT and sets up every secondary ENI the checkpoint
// knows, so that its pods keep working even if the cloud cannot be
// reached; both are idempotent. An ENI that fails is left to the
// reconciliation (it may be gone).
func (d *daemon) setupHost(ctx context.Context) error {
	if err := d.deps.Host.SetupSNAT(ctx, snatConfig(d.cfg, d.inst, d.vpcCIDRs())); err != nil {
		return fmt.Errorf("set up SNAT on the host: %w", err)
	}
	for _, e := range d.store.ENIs() {
		if e.Primary {
			continue
		}
		if err := d.deps.Host.SetupENI(ctx, hostENI(d.cfg, e)); err != nil {
			d.log.Warn("could not set up a known ENI on the host; the reconciliation retries",
				logKeyENI, e.ID, logKeyError, err.Error())
		}
	}
	return nil
}

// reconcile runs the manager's Sync, retried for a while: it adopts ENIs
// attached but unknown and drops blocks the cloud no longer has. If the
// cloud stays unreachable ipamd serves what it restored; the manager
// retries the reconciliation soon.
func (d *daemon) reconcile(ctx context.Context) {
	err := d.retry(ctx, "reconcile the datastore with the cloud", func(ctx context.Context) error {
		rep, err := d.mgr.Sync(ctx)
		rep.Log(d.log)
		return err
	})
	if err != nil && ctx.Err() == nil {
		d.log.Error("could not reconcile the datastore with the cloud at startup; serving what was restored, "+
			"the pool manager retries", logKeyError, err.Error())
	}
}

// releaseGonePods releases the allocations whose pod is gone: its
// host-side veth no longer exists. An allocation with no veth recorded, or
// whose veth cannot be checked, is kept: a live pod's address is never
// dropped on a doubt.
func (d *daemon) releaseGonePods(ctx context.Context) error {
	released, err := d.store.ReleaseWhere(func(a datastore.Allocation) bool {
		if a.Pod.HostIfName == "" {
			return false
		}
		exists, err := d.deps.Host.LinkExists(ctx, a.Pod.HostIfName)
		if err != nil {
			d.log.Warn("could not check a pod's veth; its address is kept", logKeyHostIf, a.Pod.HostIfName,
				logKeyIP, a.IP.String(), logKeyError, err.Error())
			return false
		}
		return !exists
	})
	if err != nil {
		return fmt.Errorf("release the addresses of pods that are gone: %w", err)
	}
	for _, a := range released {
		d.log.Info("released the address of a pod that is gone", logKeyIP, a.IP.String(), logKeyContainer, a.ContainerID,
			logKeyPod, a.Pod.Namespace+"/"+a.Pod.Name, logKeyHostIf, a.Pod.HostIfName)
	}
	return nil
}

// vpcCIDRs are the VPC's CIDR blocks now: the instance's at startup, then
// what the manager's reconciliation last found.
func (d *daemon) vpcCIDRs() []netip.Prefix {
	if p := d.cidrs.Load(); p != nil {
		return *p
	}
	return d.inst.VPCCIDRs
}

// vpcCIDRsChanged follows a change of the VPC's CIDR blocks (one associated
// to the VPC or taken from it at runtime): ADD results carry the new ones
// at once, and followSNAT makes SNAT leave traffic to them alone. The
// manager's reconciliation calls it, with its pass lock held: it does not
// wait for the host.
func (d *daemon) vpcCIDRsChanged(cidrs []netip.Prefix) {
	cidrs = slices.Clone(cidrs)
	d.cidrs.Store(&cidrs)
	d.svc.SetNode(nodeInfo(d.cfg, cidrs))
	d.log.Info("the VPC's CIDR blocks changed: pods get the new ones, SNAT follows", logKeyVPCCIDRs, fmt.Sprint(cidrs))
	select {
	case d.snatDue <- struct{}{}:
	default: // already due; it reads the CIDRs when it runs
	}
}

// followSNAT sets SNAT up again for the VPC's CIDR blocks each time they
// change, retrying a failure (pausing StartupRetry, doubling up to
// maxStartupRetry), until ctx ends.
func (d *daemon) followSNAT(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.snatDue:
		}
		pause := d.tune.StartupRetry
		for {
			cidrs := d.vpcCIDRs()
			err := d.deps.Host.SetupSNAT(ctx, snatConfig(d.cfg, d.inst, cidrs))
			if err == nil {
				d.log.Info("SNAT set up for the VPC's CIDR blocks", logKeyVPCCIDRs, fmt.Sprint(cidrs))
				break
			}
			if ctx.Err() != nil {
				return
			}
			d.log.Error("could not set SNAT up for the VPC's new CIDR blocks: traffic to them is SNATed meanwhile; retrying",
				logKeyVPCCIDRs, fmt.Sprint(cidrs), logKeyError, err.Error(), logKeyRetryIn, pause)
			if !sleep(ctx, pause) {
				return
			}
			pause = min(2*pause, maxStartupRetry)
		}
	}
}
