package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// SyncReport says what Sync changed in the datastore.
type SyncReport struct {
	// Adopted are ENIs attached to the instance that the datastore lacked
	// (a crash between attach and checkpoint), now set up and managed.
	Adopted []string
	// NoManage are attached ENIs left alone for their no_manage tag.
	NoManage []string
	// AddedBlocks are, per ENI, blocks the cloud and metadata show that the
	// datastore lacked (adopted ENIs' blocks included).
	AddedBlocks map[string][]netip.Prefix
	// RemovedBlocks are, per ENI, blocks the cloud no longer has.
	RemovedBlocks map[string][]netip.Prefix
	// RemovedENIs are ENIs no longer attached to the instance.
	RemovedENIs []string
	// Dropped are allocations whose address went with a removed block or
	// ENI: a live pod may have lost its address.
	Dropped []datastore.Allocation
	// VPCCIDRs are the VPC's CIDR blocks as the primary ENI's metadata
	// lists them (nil when it does not), and VPCCIDRsChanged whether they
	// differ from the last ones (Options.OnVPCCIDRs was called).
	VPCCIDRs        []netip.Prefix
	VPCCIDRsChanged bool
}

// Changed reports whether Sync changed anything.
func (r SyncReport) Changed() bool {
	return len(r.Adopted) > 0 || len(r.AddedBlocks) > 0 || len(r.RemovedBlocks) > 0 ||
		len(r.RemovedENIs) > 0 || len(r.Dropped) > 0 || r.VPCCIDRsChanged
}

func (r *SyncReport) added(eni string, blocks []netip.Prefix) {
	if r.AddedBlocks == nil {
		r.AddedBlocks = map[string][]netip.Prefix{}
	}
	r.AddedBlocks[eni] = append(r.AddedBlocks[eni], blocks...)
}

func (r *SyncReport) removed(eni string, blocks []netip.Prefix) {
	if r.RemovedBlocks == nil {
		r.RemovedBlocks = map[string][]netip.Prefix{}
	}
	r.RemovedBlocks[eni] = append(r.RemovedBlocks[eni], blocks...)
}

// Log writes what changed, if anything: one line, and a warning per
// dropped allocation naming the pod.
func (r SyncReport) Log(l *slog.Logger) {
	if !r.Changed() {
		return
	}
	l.Info("reconciled the datastore with the cloud", logKeyAdopted, r.Adopted, logKeyRemoved, r.RemovedENIs,
		logKeyAdded, fmt.Sprint(r.AddedBlocks), logKeyBlocks, fmt.Sprint(r.RemovedBlocks))
	if r.VPCCIDRsChanged {
		l.Info("the VPC's CIDR blocks changed", logKeyVPCCIDRs, fmt.Sprint(r.VPCCIDRs))
	}
	for _, a := range r.Dropped {
		l.Warn("a pod's address is gone from the cloud; its allocation was dropped", logKeyIP, a.IP.String(),
			logKeyENI, a.ENI, logKeyPod, a.Pod.Namespace+"/"+a.Pod.Name)
	}
}

// Sync reconciles the datastore with the cloud: it adopts ENIs attached to
// the instance that the datastore lacks (except those tagged no_manage),
// adds blocks that EC2 and instance metadata both show on managed ENIs,
// removes blocks and ENIs the cloud no longer has (reporting the
// allocations that drops), and sets every managed secondary ENI up on the
// host again (idempotent: it repairs what a restart or someone else
// undid). A block or ENI is removed only when neither EC2 nor metadata
// shows it, so neither's lag can take a live pod's address; a block the
// manager released (or may have released) within ReconcileCooldown is not
// added back, nor an ENI it released or dropped adopted again, so neither's
// lag can hand out an address EC2 may have given to another node. Every
// removal comes before any addition, and the addresses of the allocations
// it drops are quarantined for DroppedQuarantine right after each drop:
// should one come back to the node (even in the same Sync), the pod that
// held it may still use it (see quarantine.go). The daemon calls it at
// startup; Run calls it every SyncInterval.
func (m *Manager) Sync(ctx context.Context) (rep SyncReport, err error) {
	m.passMu.Lock()
	defer m.passMu.Unlock()
	defer func() { m.synced(err == nil) }()
	attached, err := m.ec2.InstanceENIs(ctx, m.opts.Instance.ID)
	if err != nil {
		return rep, fmt.Errorf("sync: list the instance's ENIs: %w", err)
	}
	shown, err := m.md.ENIs(ctx)
	if err != nil {
		return rep, fmt.Errorf("sync: read instance metadata: %w", err)
	}
	m.syncVPCCIDRs(shown, &rep)
	ec2ByID := map[string]cloud.ENI{}
	for _, e := range attached {
		ec2ByID[e.ID] = e
	}
	mdByID := map[string]cloud.ENIMetadata{}
	for _, md := range shown {
		mdByID[md.ID] = md
	}
	errs := []error{m.flushQuarantine()} // before anything is added
	kept, dropErrs := m.syncDrops(ctx, ec2ByID, mdByID, &rep)
	errs = append(errs, dropErrs...)
	for _, e := range kept {
		md, inMD := mdByID[e.ID]
		errs = append(errs, m.syncAdds(ctx, e, ec2ByID[e.ID], md, inMD, &rep))
	}
	now := m.now()
	for _, c := range attached {
		if _, known := m.storeENI(c.ID); !known && !m.recentlyReleasedENI(c.ID, now) {
			errs = append(errs, m.adopt(ctx, c, mdByID, &rep))
		}
	}
	return rep, errors.Join(errs...)
}

// syncDrops removes from the datastore the managed ENIs that have left the
// instance and the blocks the cloud no longer has, quarantining the
// addresses of the allocations each drop takes; it returns the ENIs kept.
func (m *Manager) syncDrops(ctx context.Context, ec2ByID map[string]cloud.ENI, mdByID map[string]cloud.ENIMetadata,
	rep *SyncReport,
) (kept []datastore.ENI, errs []error) {
	for _, e := range m.store.ENIs() {
		c, inEC2 := ec2ByID[e.ID]
		md, inMD := mdByID[e.ID]
		if gone(c, inEC2, inMD) {
			errs = append(errs, m.dropENI(ctx, e, rep))
			continue
		}
		errs = append(errs, m.dropLost(e, c, md, inMD, rep))
		kept = append(kept, e)
	}
	return kept, errs
}

// syncVPCCIDRs notes the VPC's CIDR blocks as the primary ENI's metadata
// lists them, and calls OnVPCCIDRs when they differ (as sets) from the
// last ones. Metadata that does not list them changes nothing.
func (m *Manager) syncVPCCIDRs(shown []cloud.ENIMetadata, rep *SyncReport) {
	i := slices.IndexFunc(shown, func(md cloud.ENIMetadata) bool { return md.ID == m.opts.Instance.PrimaryENI })
	if i < 0 || len(shown[i].VPCCIDRs) == 0 {
		return
	}
	cidrs := slices.Clone(shown[i].VPCCIDRs)
	rep.VPCCIDRs = cidrs
	m.mu.Lock()
	same := sameCIDRs(m.vpcCIDRs, cidrs)
	m.vpcCIDRs = slices.Clone(cidrs)
	m.mu.Unlock()
	if same {
		return
	}
	rep.VPCCIDRsChanged = true
	if m.opts.OnVPCCIDRs != nil {
		m.opts.OnVPCCIDRs(slices.Clone(cidrs))
	}
}

// sameCIDRs reports whether a and b hold the same prefixes, in any order.
func sameCIDRs(a, b []netip.Prefix) bool {
	sorted := func(p []netip.Prefix) []netip.Prefix {
		return slices.SortedFunc(slices.Values(p), func(x, y netip.Prefix) int {
			if c := x.Addr().Compare(y.Addr()); c != 0 {
				return c
			}
			return x.Bits() - y.Bits()
		})
	}
	return slices.Equal(slices.Compact(sorted(a)), slices.Compact(sorted(b)))
}

// gone reports whether a managed ENI has left the instance: EC2 lists it
// detaching, or neither EC2 nor metadata shows it attached.
func gone(c cloud.ENI, inEC2, inMD bool) bool {
	if inEC2 && c.Attachment != nil {
		return c.Attachment.State == cloud.Detaching || c.Attachment.State == cloud.Detached
	}
	return !inMD
}

// dropENI removes an ENI the instance no longer has from the datastore and
// the host.
func (m *Manager) dropENI(ctx context.Context, e datastore.ENI, rep *SyncReport) error {
	if e.Primary {
		return nil // the primary ENI cannot leave; a listing without it is wrong
	}
	dropped, err := m.store.DropENI(e.ID)
	if err != nil {
		return fmt.Errorf("sync: drop %s: %w", e.ID, err)
	}
	qerr := m.quarantine(dropped)
	m.noteReleasedENI(e.ID, false) // a lagging listing may show it a while yet
	rep.RemovedENIs = append(rep.RemovedENIs, e.ID)
	rep.Dropped = append(rep.Dropped, dropped...)
	if err := m.host.TeardownENI(ctx, m.hostENI(e)); err != nil {
		return errors.Join(qerr, fmt.Errorf("sync: tear down %s on the host: %w", e.ID, err))
	}
	return qerr
}

// dropLost removes from the datastore the blocks of a managed ENI that
// neither EC2 (c) nor metadata (md, when inMD) shows any more, and
// quarantines the addresses of the allocations that drops.
func (m *Manager) dropLost(e datastore.ENI, c cloud.ENI, md cloud.ENIMetadata, inMD bool, rep *SyncReport) error {
	inCloud := blocksOf(c)
	var lost []netip.Prefix
	for _, b := range e.Blocks {
		if !slices.Contains(inCloud, b) && !(inMD && shows(md, b)) {
			lost = append(lost, b)
		}
	}
	if len(lost) == 0 {
		return nil
	}
	dropped, err := m.store.DropBlocks(e.ID, lost)
	if err != nil {
		return fmt.Errorf("sync %s: %w", e.ID, err)
	}
	rep.removed(e.ID, lost)
	rep.Dropped = append(rep.Dropped, dropped...)
	return m.quarantine(dropped)
}

// syncAdds adds to a managed ENI the blocks EC2 (c) and metadata (md,
// when inMD) both show that the datastore lacks (except those released
// lately, and those holding an address whose quarantine is pending), and
// sets the ENI up on the host again.
func (m *Manager) syncAdds(ctx context.Context, e datastore.ENI, c cloud.ENI, md cloud.ENIMetadata, inMD bool,
	rep *SyncReport,
) error {
	var found []netip.Prefix
	now := m.now()
	for _, b := range blocksOf(c) {
		if !slices.Contains(e.Blocks, b) && inMD && shows(md, b) && !m.recentlyReleased(b, now) {
			found = append(found, b)
		}
	}
	var errs []error
	if found = m.addable(found); len(found) > 0 {
		err := m.store.AddBlocks(e.ID, found)
		if err == nil {
			rep.added(e.ID, found)
		}
		errs = append(errs, err)
	}
	if !e.Primary {
		errs = append(errs, m.host.SetupENI(ctx, m.hostENI(e)))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sync %s: %w", e.ID, err)
	}
	return nil
}

// shows reports whether metadata shows a block on the ENI.
func shows(md cloud.ENIMetadata, b netip.Prefix) bool {
	if b.IsSingleIP() {
		return md.HasIPs([]netip.Addr{b.Addr()})
	}
	return md.HasPrefixes([]netip.Prefix{b})
}

// adopt starts managing an ENI attached to the instance that the datastore
// lacks, with the blocks both EC2 and metadata show, unless it is tagged
// no_manage, not on the default network card, or not yet fully attached
// and shown by metadata (a later Sync adopts it then).
func (m *Manager) adopt(ctx context.Context, c cloud.ENI, mdByID map[string]cloud.ENIMetadata, rep *SyncReport) error {
	if c.Tags[TagNoManage] == "true" {
		rep.NoManage = append(rep.NoManage, c.ID)
		return nil
	}
	md, inMD := mdByID[c.ID]
	if c.Attachment == nil || c.Attachment.State != cloud.Attached || !inMD ||
		c.Attachment.NetworkCard != m.opts.Limits.Type.DefaultNetworkCard {
		return nil
	}
	var blocks []netip.Prefix
	now := m.now()
	for _, b := range blocksOf(c) {
		if shows(md, b) && !m.recentlyReleased(b, now) {
			blocks = append(blocks, b)
		}
	}
	blocks = m.addable(blocks) // a later Sync adds the others
	e := datastore.ENI{
		ID: c.ID, MAC: c.MAC, DeviceIndex: c.Attachment.DeviceIndex, NetworkCard: c.Attachment.NetworkCard,
		Primary: c.ID == m.opts.Instance.PrimaryENI, SubnetID: c.SubnetID, SubnetCIDR: md.SubnetCIDR,
		PrimaryIP: c.PrimaryIP, Blocks: blocks,
	}
	if !e.Primary {
		if err := m.host.SetupENI(ctx, m.hostENI(e)); err != nil {
			return fmt.Errorf("sync: set up %s on the host: %w", c.ID, err)
		}
	}
	if err := m.store.AddENI(e); err != nil {
		return fmt.Errorf("sync: adopt %s: %w", c.ID, err)
	}
	m.ensureDeleteOnTermination(ctx, c)
	rep.Adopted = append(rep.Adopted, c.ID)
	if len(blocks) > 0 {
		rep.added(c.ID, blocks)
	}
	m.log.Info("adopted an attached ENI the datastore lacked", logKeyENI, c.ID, logKeyDevice, e.DeviceIndex,
		logKeyBlocks, fmt.Sprint(blocks))
	return nil
}

// ensureDeleteOnTermination sets DeleteOnTermination on an adopted ENI that
// vpc-cni created and that lacks it (a crash or a stop between its attach
// and that call), so that it goes with the instance instead of leaking. A
// failure is logged; the ENI is managed either way.
func (m *Manager) ensureDeleteOnTermination(ctx context.Context, c cloud.ENI) {
	if c.Tags[TagCreatedBy] != CreatedByValue || c.Attachment == nil || c.Attachment.DeleteOnTermination {
		return
	}
	if err := m.ec2.SetDeleteOnTermination(ctx, c.ID, c.Attachment.ID, true); err != nil {
		m.log.Warn("adopted ENI: could not set delete-on-termination; it would outlive the instance",
			logKeyENI, c.ID, logKeyError, err)
	}
}
