package manager

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// undoTimeout bounds the undo of a failed ENI creation and the retirement
// of an ENI. Both go on when the pass's context ends, so that no ENI leaks,
// but only for StopTimeout more.
const undoTimeout = 5 * time.Minute

// errLinkTimeout: a new ENI's link did not appear on the host in time.
var errLinkTimeout = errors.New("the ENI's link did not appear on the host in time")

// createENI makes a new ENI with its addresses pre-assigned, attaches it
// at the lowest free device index, and sets it up on the host and in the
// datastore once metadata shows it. Any failure after the create undoes
// what was done, so no ENI is left behind, except when the manager stops:
// an ENI attached by then stays attached (it is tagged as ours, and the
// next start's Sync adopts it).
func (m *Manager) createENI(ctx context.Context, a pool.Action) error {
	if a.Count < 0 {
		return fmt.Errorf("create ENI with %d addresses: %w", a.Count, errSkipped)
	}
	idx, err := m.freeDeviceIndex(ctx)
	if err != nil {
		return fmt.Errorf("create ENI: %w", err)
	}
	req := m.createRequest(a.Count, m.now())
	// The calls that change EC2 are not cut off when ctx ends (their
	// answer would be lost), only bounded by StopTimeout after it.
	gctx, cancel := m.graceful(ctx, 0)
	defer cancel()
	e, err := m.ec2.CreateENI(gctx, req)
	if err != nil {
		if mayHaveApplied(err) {
			m.reapLostCreate(gctx, req.Tags[TagCreateToken])
		}
		return fmt.Errorf("create ENI in %s: %w", m.opts.Instance.SubnetID, err)
	}
	if err := m.attachNew(ctx, gctx, e, idx); err != nil {
		return err
	}
	m.log.Info("added ENI", logKeyENI, e.ID, logKeyDevice, idx, logKeyBlocks, fmt.Sprint(blocksOf(e)))
	return nil
}

// freeDeviceIndex returns the lowest device index on the default network
// card that no ENI attached to the instance (in any state, ours or not)
// holds; an error wrapping cloud.ErrENILimit when the instance cannot take
// another ENI.
func (m *Manager) freeDeviceIndex(ctx context.Context) (int, error) {
	enis, err := m.ec2.InstanceENIs(ctx, m.opts.Instance.ID)
	if err != nil {
		return 0, fmt.Errorf("list the instance's ENIs: %w", err)
	}
	l := m.opts.Limits
	card := l.Type.DefaultNetworkCard
	used := map[int]bool{}
	for _, e := range enis {
		if e.Attachment != nil && e.Attachment.NetworkCard == card {
			used[e.Attachment.DeviceIndex] = true
		}
	}
	limit := l.Type.ENIsOnCard(card)
	if limit == 0 {
		limit = l.Type.MaxENIs
	}
	if l.MaxENIs > 0 {
		limit = min(limit, l.MaxENIs)
	}
	if len(used) >= limit || (l.Type.MaxENIs > 0 && len(enis) >= l.Type.MaxENIs) {
		return 0, fmt.Errorf("%w: %d ENIs attached, %s takes %d", cloud.ErrENILimit, len(enis), l.Type.Type, limit)
	}
	idx := 0
	for used[idx] {
		idx++
	}
	return idx, nil
}

// createRequest is the CreateENI request for a new ENI with n addresses
// (or prefixes): the instance's subnet and security groups, and our tags
// over ADDITIONAL_ENI_TAGS.
func (m *Manager) createRequest(n int, now time.Time) cloud.CreateENIRequest {
	inst := m.opts.Instance
	tags := maps.Clone(m.opts.Tags)
	if tags == nil {
		tags = map[string]string{}
	}
	tags[TagCreatedBy] = CreatedByValue
	tags[TagInstanceID] = inst.ID
	tags[TagCreatedAt] = now.UTC().Format(time.RFC3339)
	if m.opts.ClusterName != "" {
		tags[TagClusterName] = m.opts.ClusterName
	}
	if len(tags) < MaxENITags {
		tags[TagCreateToken] = rand.Text()
	}
	req := cloud.CreateENIRequest{
		SubnetID: inst.SubnetID, Description: "vpc-cni ENI of " + inst.ID,
		SecurityGroups: append([]string(nil), inst.SecurityGroups...), Tags: tags,
	}
	if m.opts.Pool.PrefixDelegation {
		req.Prefixes = n
	} else {
		req.SecondaryIPs = n
	}
	return req
}

// undo is what a failed creation has done so far.
type undo struct {
	eni        string
	attachment string
	host       *hostnet.ENI
}

// attachNew attaches a new ENI, waits for metadata to show it with its
// addresses, and sets it up on the host and in the datastore. The EC2
// calls run under gctx (graceful), the waits under ctx. A failure undoes
// it, unless ctx has ended with the ENI attached: the manager is stopping,
// and the ENI is left for the next Sync.
func (m *Manager) attachNew(ctx, gctx context.Context, e cloud.ENI, idx int) (err error) {
	u := undo{eni: e.ID}
	defer func() {
		switch {
		case err == nil:
		case ctx.Err() != nil && u.attachment != "":
			m.wantSync()
			m.log.Warn("stopping: a new ENI is left attached; the next sync adopts it", logKeyENI, e.ID,
				logKeyDevice, idx)
		default:
			m.undo(gctx, u)
		}
	}()
	inst, card := m.opts.Instance, m.opts.Limits.Type.DefaultNetworkCard
	u.attachment, err = m.ec2.AttachENI(gctx, e.ID, inst.ID, idx, card)
	if err != nil && mayHaveApplied(err) {
		if u.attachment = m.lostAttach(gctx, e.ID, err); u.attachment != "" {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("attach %s at device index %d: %w", e.ID, idx, err)
	}
	if err := m.ec2.SetDeleteOnTermination(gctx, e.ID, u.attachment, true); err != nil {
		return fmt.Errorf("set delete-on-termination on %s: %w", e.ID, err)
	}
	md, err := m.waitMetadata(ctx, e.MAC, func(md cloud.ENIMetadata) bool {
		return md.HasIPs(e.SecondaryIPs) && md.HasPrefixes(e.Prefixes)
	})
	if err != nil {
		return fmt.Errorf("new ENI %s: %w", e.ID, err)
	}
	de := datastore.ENI{
		ID: e.ID, MAC: e.MAC, DeviceIndex: idx, NetworkCard: card, SubnetID: e.SubnetID,
		SubnetCIDR: md.SubnetCIDR, PrimaryIP: e.PrimaryIP, Blocks: blocksOf(e),
	}
	he := m.hostENI(de)
	u.host = &he
	if err := m.setupHost(ctx, he); err != nil {
		return fmt.Errorf("set up %s on the host: %w", e.ID, err)
	}
	if err := m.store.AddENI(de); err != nil {
		return fmt.Errorf("record %s: %w", e.ID, err)
	}
	m.forgetReleased(de.Blocks)
	return nil
}

// setupHost sets a new ENI up on the host, retrying up to IMDSWait while
// its link has not appeared yet.
func (m *Manager) setupHost(ctx context.Context, he hostnet.ENI) error {
	return m.poll(ctx, m.opts.IMDSWait, errLinkTimeout, func(ctx context.Context) (bool, error) {
		err := m.host.SetupENI(ctx, he)
		if errors.Is(err, hostnet.ErrLinkNotFound) && ctx.Err() == nil {
			return false, err
		}
		return true, err
	})
}

// undo removes a half-made ENI: off the host, detached (waiting until it
// is), deleted, within undoTimeout under gctx (graceful: it goes on for
// StopTimeout after the pass's context ends); what it cannot undo it logs
// with the ENI's id, for the leaked-ENI cleanup or the next Sync to
// finish.
func (m *Manager) undo(gctx context.Context, u undo) {
	ctx, cancel := context.WithTimeout(gctx, undoTimeout)
	defer cancel()
	if u.host != nil {
		if err := m.host.TeardownENI(ctx, *u.host); err != nil {
			m.log.Error("undoing a new ENI: host teardown failed", logKeyENI, u.eni, logKeyError, err.Error())
		}
	}
	if u.attachment != "" {
		if err := m.detach(ctx, u.eni, u.attachment); err != nil {
			m.undoDetachFailed(u.eni, err)
			return
		}
	}
	if err := m.deleteDetached(ctx, u.eni, u.attachment != ""); err != nil {
		return // logged
	}
	m.log.Info("undid a new ENI", logKeyENI, u.eni)
}

// undoDetachFailed leaves a new ENI whose undo could not detach it to a
// sync: the next one adopts it when the detach was refused (it is still
// attached); when the detach may have taken effect, the sync at the end
// of its reconcile cooldown, so that a listing lagging the detach cannot
// bring an ENI on its way out into the pool.
func (m *Manager) undoDetachFailed(id string, err error) {
	if errors.Is(err, errDetachUnknown) {
		settle := m.noteReleasedENI(id, true)
		m.syncBy(settle)
		m.log.Warn("undoing a new ENI: the detach may have taken effect; the ENI stays out of the pool until a sync "+
			"settles it", logKeyENI, id, logKeyUntil, settle, logKeyError, err.Error())
		return
	}
	m.log.Error("undoing a new ENI: detach failed; the ENI stays attached and the next sync adopts it",
		logKeyENI, id, logKeyError, err.Error())
	m.wantSync()
}

// blocksOf returns an ENI's address blocks as EC2 lists them: a /32 per
// secondary address, then its prefixes.
func blocksOf(e cloud.ENI) []netip.Prefix {
	return append(hostPrefixes(e.SecondaryIPs), e.Prefixes...)
}
