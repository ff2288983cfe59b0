package fake

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// IMDS is the instance metadata view of a fake Cloud. What it shows about
// ENIs trails the API by the metadata lag: the completion of an attach or a
// detach, an assign or an unassign appears only once the lag has passed
// since it happened, on the Cloud's clock. An ENI still attaching, or
// detaching after an attach that never completed, is not shown.
type IMDS struct{ c *Cloud }

var _ cloud.Metadata = (*IMDS)(nil)

// view is what metadata shows from a moment on: the attached ENIs of the
// instance as they were at that time.
type view struct {
	at   time.Time
	enis []cloud.ENIMetadata
}

// Metadata returns the instance metadata view of the fake.
func (c *Cloud) Metadata() *IMDS { return &IMDS{c: c} }

// SetMetadataLag sets how long metadata takes to show a change made from
// now on; 0 makes it immediate.
func (c *Cloud) SetMetadataLag(d time.Duration) {
	defer c.lock()()
	c.lag = max(d, 0)
	c.pruneLocked()
}

// recordLocked notes the current state as what metadata will show once
// the lag has passed. Every change of addresses calls it.
func (c *Cloud) recordLocked() { c.recordAtLocked(c.now()) }

// recordAtLocked notes the current state as what metadata shows from time
// at plus the lag; it keeps the history in time order even if at (or the
// clock) is earlier than the last entry. Completing an attach or a detach
// calls it with the time it completed.
func (c *Cloud) recordAtLocked(at time.Time) {
	if n := len(c.views); n > 0 && at.Before(c.views[n-1].at) {
		at = c.views[n-1].at
	}
	c.views = append(c.views, view{at: at, enis: c.metadataLocked()})
	c.pruneLocked()
}

// visibleLocked returns the index of the view metadata shows now: the
// latest one at least lag old, or the oldest kept (the state before any
// pending change).
func (c *Cloud) visibleLocked() int {
	target := c.now().Add(-c.lag)
	i := 0
	for j, v := range c.views {
		if !v.at.After(target) {
			i = j
		}
	}
	return i
}

// pruneLocked drops the views that time has made unreachable.
func (c *Cloud) pruneLocked() {
	if i := c.visibleLocked(); i > 0 {
		c.views = slices.Delete(c.views, 0, i)
	}
}

// metadataLocked is the ground truth as metadata would show it: the
// instance's ENIs whose attach has completed and whose detach has not,
// ordered by device index, then network card.
func (c *Cloud) metadataLocked() []cloud.ENIMetadata {
	var out []cloud.ENIMetadata
	for _, e := range c.enis {
		if !c.live[e.ID] || e.Attachment == nil || e.Attachment.InstanceID != c.inst.ID {
			continue
		}
		p := c.subnets[e.SubnetID]
		out = append(out, cloud.ENIMetadata{
			MAC: e.MAC, ID: e.ID, DeviceIndex: e.Attachment.DeviceIndex, NetworkCard: e.Attachment.NetworkCard,
			SubnetID: e.SubnetID, SubnetCIDR: p.info.CIDR, VPCID: e.VPCID,
			VPCCIDRs:       slices.Clone(c.inst.VPCCIDRs),
			IPv4s:          append([]netip.Addr{e.PrimaryIP}, e.SecondaryIPs...),
			Prefixes:       slices.Clone(e.Prefixes),
			SecurityGroups: slices.Clone(e.SecurityGroups),
		})
	}
	slices.SortFunc(out, func(a, b cloud.ENIMetadata) int {
		return cmp.Or(cmp.Compare(a.NetworkCard, b.NetworkCard), cmp.Compare(a.DeviceIndex, b.DeviceIndex),
			cmp.Compare(a.MAC, b.MAC))
	})
	return out
}

// shown returns a copy of what metadata shows now.
func (c *Cloud) shown() []cloud.ENIMetadata {
	defer c.lock()()
	c.pruneLocked()
	src := c.views[c.visibleLocked()].enis
	out := make([]cloud.ENIMetadata, len(src))
	for i, m := range src {
		out[i] = cloneMetadata(m)
	}
	return out
}

func cloneMetadata(m cloud.ENIMetadata) cloud.ENIMetadata {
	m.VPCCIDRs = slices.Clone(m.VPCCIDRs)
	m.IPv4s = slices.Clone(m.IPv4s)
	m.Prefixes = slices.Clone(m.Prefixes)
	m.SecurityGroups = slices.Clone(m.SecurityGroups)
	return m
}

// Instance describes the node; identity does not lag.
func (m *IMDS) Instance(ctx context.Context) (cloud.Instance, error) {
	if err := m.c.begin(ctx, OpMetadataInstance, nil); err != nil {
		return cloud.Instance{}, err
	}
	inst := m.c.Instance()
	if err := m.c.lost(OpMetadataInstance); err != nil {
		return cloud.Instance{}, err
	}
	return inst, nil
}

// ENIs lists the attached ENIs metadata shows, ordered by device index.
func (m *IMDS) ENIs(ctx context.Context) ([]cloud.ENIMetadata, error) {
	if err := m.c.begin(ctx, OpMetadataENIs, nil); err != nil {
		return nil, err
	}
	shown := m.c.shown()
	if err := m.c.lost(OpMetadataENIs); err != nil {
		return nil, err
	}
	return shown, nil
}

// ENI describes the attached ENI with the given MAC; the error wraps
// cloud.ErrNotFound while metadata does not show it.
func (m *IMDS) ENI(ctx context.Context, mac string) (cloud.ENIMetadata, error) {
	if err := m.c.begin(ctx, OpMetadataENI, nil); err != nil {
		return cloud.ENIMetadata{}, err
	}
	for _, e := range m.c.shown() {
		if strings.EqualFold(e.MAC, mac) {
			if err := m.c.lost(OpMetadataENI); err != nil {
				return cloud.ENIMetadata{}, err
			}
			return e, nil
		}
	}
	return cloud.ENIMetadata{}, fmt.Errorf("fake metadata: no interface with mac %s: %w", mac, cloud.ErrNotFound)
}
