package manager

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// storeENI returns the datastore's record of a managed ENI.
func (m *Manager) storeENI(id string) (datastore.ENI, bool) {
	for _, e := range m.store.ENIs() {
		if e.ID == id {
			return e, true
		}
	}
	return datastore.ENI{}, false
}

// hostENI is a secondary ENI as hostnet programs it.
func (m *Manager) hostENI(e datastore.ENI) hostnet.ENI {
	return hostnet.ENI{
		MAC: e.MAC, DeviceIndex: e.DeviceIndex, RouteTable: e.RouteTable(),
		PrimaryIP: e.PrimaryIP, SubnetCIDR: e.SubnetCIDR, MTU: m.opts.ENIMTU,
	}
}

// assignIPs assigns secondary addresses to an ENI and adds them to the
// datastore once instance metadata shows them.
func (m *Manager) assignIPs(ctx context.Context, a pool.Action) error {
	return m.grow(ctx, a, func(ctx context.Context, eni string, n int) ([]netip.Prefix, error) {
		ips, err := m.ec2.AssignIPs(ctx, eni, n)
		return hostPrefixes(ips), err
	}, func(md cloud.ENIMetadata, blocks []netip.Prefix) bool {
		return md.HasIPs(addrsOf(blocks))
	})
}

// assignPrefixes delegates /28 prefixes to an ENI and adds them to the
// datastore once instance metadata shows them.
func (m *Manager) assignPrefixes(ctx context.Context, a pool.Action) error {
	return m.grow(ctx, a, m.ec2.AssignPrefixes, cloud.ENIMetadata.HasPrefixes)
}

// grow is an assignment: the EC2 call, the wait until metadata shows every
// new block, then the datastore. When the wait runs out the blocks stay
// out of the datastore, and the next Sync adopts them.
func (m *Manager) grow(ctx context.Context, a pool.Action,
	assign func(context.Context, string, int) ([]netip.Prefix, error),
	shown func(cloud.ENIMetadata, []netip.Prefix) bool,
) error {
	e, ok := m.storeENI(a.ENI)
	if !ok || a.Count < 1 {
		return fmt.Errorf("%s on %s: %w", a.Kind, a.ENI, errSkipped)
	}
	blocks, err := assign(ctx, e.ID, a.Count)
	if err != nil {
		if errors.Is(err, cloud.ErrAddressLimit) || errors.Is(err, cloud.ErrNotFound) || mayHaveApplied(err) {
			m.wantSync() // the cloud holds (or may hold) what the datastore does not know
		}
		return fmt.Errorf("%s: %d on %s: %w", a.Kind, a.Count, e.ID, err)
	}
	if _, err := m.waitMetadata(ctx, e.MAC, func(md cloud.ENIMetadata) bool { return shown(md, blocks) }); err != nil {
		m.wantSync()
		return fmt.Errorf("%s: %v on %s: %w", a.Kind, blocks, e.ID, err)
	}
	if err := m.store.AddBlocks(e.ID, blocks); err != nil {
		m.wantSync()
		return fmt.Errorf("%s: record %v on %s: %w", a.Kind, blocks, e.ID, err)
	}
	m.forgetReleased(blocks) // EC2 may give back an address released lately: it is ours again
	m.log.Info("added addresses", logKeyKind, string(a.Kind), logKeyENI, e.ID, logKeyBlocks, fmt.Sprint(blocks))
	return nil
}

// unassign releases blocks: out of the datastore first, so that none of
// their addresses can be handed out meanwhile, then the EC2 call. Only a
// refusal that certainly changed nothing (throttling on every attempt: no
// cloud.ErrOutcomeUnknown) puts the blocks back. After any other failure they may be gone from the ENI already (the
// answer was lost, EC2 failed after the change), so they stay out, and the
// sync due when their reconcile cooldown ends puts back those the cloud
// still has.
func (m *Manager) unassign(ctx context.Context, a pool.Action) error {
	if len(a.Blocks) == 0 {
		return fmt.Errorf("%s on %s with no blocks: %w", a.Kind, a.ENI, errSkipped)
	}
	if err := m.store.RemoveBlocks(a.ENI, a.Blocks); err != nil {
		if errors.Is(err, datastore.ErrInUse) || errors.Is(err, datastore.ErrNotFound) {
			err = fmt.Errorf("%w: %w", errSkipped, err)
		}
		return fmt.Errorf("%s: %v on %s: %w", a.Kind, a.Blocks, a.ENI, err)
	}
	var err error
	if a.Kind == pool.UnassignIPs {
		err = m.ec2.UnassignIPs(ctx, a.ENI, addrsOf(a.Blocks))
	} else {
		err = m.ec2.UnassignPrefixes(ctx, a.ENI, a.Blocks)
	}
	if err == nil {
		m.noteReleased(a.Blocks, false)
		m.log.Info("released addresses", logKeyKind, string(a.Kind), logKeyENI, a.ENI, logKeyBlocks, fmt.Sprint(a.Blocks))
		return nil
	}
	if rejected(err) {
		if rerr := m.store.AddBlocks(a.ENI, a.Blocks); rerr != nil {
			m.wantSync()
			m.log.Error("putting blocks back after a refused unassign failed", logKeyENI, a.ENI,
				logKeyBlocks, fmt.Sprint(a.Blocks), logKeyError, rerr.Error())
		}
		return fmt.Errorf("%s: %v on %s: %w", a.Kind, a.Blocks, a.ENI, err)
	}
	settle := m.noteReleased(a.Blocks, true)
	m.syncBy(settle)
	if errors.Is(err, cloud.ErrNotFound) {
		m.wantSync() // the ENI may be gone
	}
	m.log.Warn("unassign failed and may have taken effect; the blocks stay out of the pool until a sync settles it",
		logKeyKind, string(a.Kind), logKeyENI, a.ENI, logKeyBlocks, fmt.Sprint(a.Blocks), logKeyUntil, settle,
		logKeyError, err.Error())
	return fmt.Errorf("%s: %v on %s: %w", a.Kind, a.Blocks, a.ENI, err)
}

// deleteENI retires an empty ENI: out of the datastore (which refuses
// while any address is in use), off the host, detached, and deleted. Once
// begun it goes on when ctx ends, for StopTimeout more (graceful), but a
// retirement that has not reached the detach by then is undone. Until the
// ENI is detached a failure puts it back; after, the leaked-ENI cleanup is
// the backstop.
func (m *Manager) deleteENI(ctx context.Context, a pool.Action) error {
	e, ok := m.storeENI(a.ENI)
	if !ok || e.Primary {
		return fmt.Errorf("%s on %s: %w", a.Kind, a.ENI, errSkipped)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("delete %s: %w", e.ID, err)
	}
	if err := m.store.RemoveENI(e.ID); err != nil {
		if errors.Is(err, datastore.ErrInUse) || errors.Is(err, datastore.ErrNotFound) {
			err = fmt.Errorf("%w: %w", errSkipped, err)
		}
		return fmt.Errorf("delete %s: %w", e.ID, err)
	}
	m.noteReleasedENI(e.ID, false)
	gctx, cancel := m.graceful(ctx, undoTimeout)
	defer cancel()
	if err := m.host.TeardownENI(gctx, m.hostENI(e)); err != nil {
		m.readd(gctx, e)
		return fmt.Errorf("delete %s: host teardown: %w", e.ID, err)
	}
	if err := ctx.Err(); err != nil { // stopping: start no detach that may not finish
		m.readd(gctx, e)
		return fmt.Errorf("delete %s: %w", e.ID, err)
	}
	if err := m.retire(gctx, e); err != nil {
		return err
	}
	m.log.Info("deleted ENI", logKeyENI, e.ID, logKeyDevice, e.DeviceIndex)
	return nil
}

// retire detaches and deletes an ENI that has left the datastore and the
// host, putting it back if it is still attached after a failure.
func (m *Manager) retire(ctx context.Context, e datastore.ENI) error {
	found, err := m.ec2.ENIs(ctx, cloud.ENIFilter{IDs: []string{e.ID}})
	switch {
	case errors.Is(err, cloud.ErrNotFound):
		return nil // already gone
	case err != nil:
		m.readd(ctx, e)
		return fmt.Errorf("delete %s: describe: %w", e.ID, err)
	case len(found) == 0:
		return nil
	}
	attachment := ""
	if found[0].Attachment != nil {
		attachment = found[0].Attachment.ID
		if err := m.detach(ctx, e.ID, attachment); err != nil {
			if errors.Is(err, errDetachUnknown) {
				// Maybe on its way out: not back into the pool. The sync
				// due when its cooldown ends adopts it if still attached.
				m.syncBy(m.noteReleasedENI(e.ID, true))
				m.log.Warn("ENI left out of the pool until a sync settles whether it is detaching",
					logKeyENI, e.ID, logKeyError, err.Error())
			} else {
				m.readd(ctx, e)
			}
			return fmt.Errorf("delete %s: %w", e.ID, err)
		}
	}
	return m.deleteDetached(ctx, e.ID, attachment != "")
}

// detach detaches an ENI. A definite refusal returns the detach's error
// (the ENI is still attached). A failure that may have taken effect is
// looked into: nil when EC2 shows the detach took effect after all, and
// otherwise an error wrapping errDetachUnknown, even when EC2 still lists
// the ENI attached: its listing lags, and the ENI may be on its way out,
// so it must not go back into the pool before a sync settles it.
func (m *Manager) detach(ctx context.Context, id, attachment string) error {
	err := m.ec2.DetachENI(ctx, attachment, false)
	switch {
	case err == nil, errors.Is(err, cloud.ErrNotFound):
		return nil // detaching, or detached already
	case !mayHaveApplied(err):
		return fmt.Errorf("detach: %w", err)
	case m.detachTookEffect(ctx, id):
		m.log.Info("a detach's answer was lost, but it took effect", logKeyENI, id, logKeyError, err.Error())
		return nil
	}
	return fmt.Errorf("detach: %w: %w", errDetachUnknown, err)
}

// errDetachUnknown: a detach failed in a way that may have taken effect,
// and EC2 does not show that it did (it cannot be asked, or its listing
// still shows the ENI attached, which a listing lagging the detach does).
var errDetachUnknown = errors.New("the detach may have taken effect; the sync at the end of the ENI's reconcile cooldown settles it")

// deleteDetached waits until the ENI is detached (when it was attached)
// and deletes it; on failure it logs that the ENI is left for the
// leaked-ENI cleanup. Without wait, an ENI that EC2 finds in use (attached
// after all: an attach whose answer was lost) is not retried but left for
// Sync to adopt.
func (m *Manager) deleteDetached(ctx context.Context, id string, wait bool) error {
	if wait {
		if err := m.waitDetached(ctx, id); err != nil {
			m.log.Error("ENI left detaching; the leaked-ENI cleanup will delete it", logKeyENI, id, logKeyError, err.Error())
			return fmt.Errorf("delete %s: wait for detach: %w", id, err)
		}
	}
	err := m.poll(ctx, m.opts.DetachWait, errDeleteTimeout, func(ctx context.Context) (bool, error) {
		err := m.ec2.DeleteENI(ctx, id)
		switch {
		case err == nil, errors.Is(err, cloud.ErrNotFound):
			return true, nil
		case errors.Is(err, cloud.ErrInUse) && !wait:
			return true, err // attached: not ours to detach blindly
		case (errors.Is(err, cloud.ErrThrottled) || errors.Is(err, cloud.ErrInUse)) && ctx.Err() == nil:
			return false, err // throttled, or EC2 not yet seeing the detach: try again
		}
		return true, err
	})
	if errors.Is(err, cloud.ErrInUse) && !wait {
		m.wantSync()
		m.log.Warn("ENI not deleted: it is attached; the next sync adopts it", logKeyENI, id, logKeyError, err.Error())
		return fmt.Errorf("delete %s: %w", id, err)
	}
	if err != nil {
		m.log.Error("ENI left detached; the leaked-ENI cleanup will delete it", logKeyENI, id, logKeyError, err.Error())
		return fmt.Errorf("delete %s: %w", id, err)
	}
	return nil
}

// readd puts an ENI whose retirement failed back on the host and into the
// datastore; if that fails too, the next Sync adopts it.
func (m *Manager) readd(ctx context.Context, e datastore.ENI) {
	ctx = context.WithoutCancel(ctx)
	m.forgetReleasedENI(e.ID)
	err := m.host.SetupENI(ctx, m.hostENI(e))
	if err == nil {
		err = m.store.AddENI(e)
	}
	if err != nil {
		m.wantSync()
		m.log.Error("putting an ENI back after a failed delete failed; the next sync adopts it", logKeyENI, e.ID,
			logKeyError, err.Error())
	}
}

// hostPrefixes turns addresses into /32 blocks.
func hostPrefixes(ips []netip.Addr) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ips))
	for _, ip := range ips {
		out = append(out, netip.PrefixFrom(ip, ip.BitLen()))
	}
	return out
}

// addrsOf returns the addresses of /32 blocks.
func addrsOf(blocks []netip.Prefix) []netip.Addr {
	out := make([]netip.Addr, 0, len(blocks))
	for _, b := range blocks {
		out = append(out, b.Addr())
	}
	return out
}
