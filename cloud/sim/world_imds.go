package sim

import (
	"net/netip"
	"slices"
	"time"
)

// Instance metadata is eventually consistent with the EC2 API: an attach,
// an assign or an unassign shows only IMDSLag after it happened. Each
// instance keeps a short history of what metadata would show, one entry per
// change; IMDSView answers with the newest entry at least IMDSLag old.

// imdsSnap is what metadata shows for an instance from time at on.
type imdsSnap struct {
	at   time.Time
	enis []IMDSENI
}

// recordIMDS appends the instance's current metadata, as of time at, to its
// history, and prunes entries that can no longer be seen.
func (w *World) recordIMDS(in *instRec, at time.Time) {
	if n := len(in.imds); n > 0 && at.Before(in.imds[n-1].at) {
		at = in.imds[n-1].at // keep history ordered even if the clock steps back
	}
	in.imds = append(in.imds, imdsSnap{at: at, enis: w.imdsENIs(in)})
	cutoff := w.now().Add(-w.imdsLag)
	// Keep the newest entry at or before the cutoff and everything after.
	keep := 0
	for i, s := range in.imds {
		if !s.at.After(cutoff) {
			keep = i
		}
	}
	in.imds = slices.Delete(in.imds, 0, keep)
}

// imdsENIs is what metadata shows now, with no lag: every ENI whose attach
// has completed, ordered by device index.
func (w *World) imdsENIs(in *instRec) []IMDSENI {
	var out []IMDSENI
	for _, e := range w.attachedENIs(in) {
		if !e.attached {
			continue
		}
		sn := w.subnets[e.SubnetID]
		m := IMDSENI{
			MAC: e.MAC, ID: e.ID, DeviceIndex: e.Attachment.DeviceIndex,
			NetworkCard: e.Attachment.NetworkCardIndex, SubnetID: e.SubnetID, SubnetCIDR: sn.CIDR,
			VPCID: e.VPCID, VPCCIDRs: slices.Clone(w.vpcs[e.VPCID].CIDRs),
			LocalIPv4s:     append([]netip.Addr{e.PrimaryIP}, e.SecondaryIPs...),
			Prefixes:       slices.Clone(e.Prefixes),
			SecurityGroups: slices.Clone(e.SecurityGroups),
		}
		out = append(out, m)
	}
	return out
}

// IMDSView returns what instance metadata shows for a running instance now,
// lagging the EC2 state by IMDSLag. The primary ENI shows from launch.
func (w *World) IMDSView(instanceID string) (IMDSView, error) {
	defer w.lock()()
	in, err := w.instance(instanceID)
	if err != nil {
		return IMDSView{}, err
	}
	if in.State != stateRunning || len(in.imds) == 0 {
		return IMDSView{}, notFound(kindInstance, []string{instanceID})
	}
	cutoff := w.now().Add(-w.imdsLag)
	snap := in.imds[0]
	for _, s := range in.imds[1:] {
		if !s.at.After(cutoff) {
			snap = s
		}
	}
	v := IMDSView{
		InstanceID: in.ID, InstanceType: in.Type, Region: w.region, AZ: in.AZ,
		PrimaryIP: in.PrimaryIP, ENIs: copyIMDSENIs(snap.enis),
	}
	if e := w.enis[in.PrimaryENIID]; e != nil {
		v.PrimaryMAC = e.MAC
	}
	return v, nil
}

func copyIMDSENIs(in []IMDSENI) []IMDSENI {
	out := make([]IMDSENI, len(in))
	for i, m := range in {
		m.VPCCIDRs = slices.Clone(m.VPCCIDRs)
		m.LocalIPv4s = slices.Clone(m.LocalIPv4s)
		m.Prefixes = slices.Clone(m.Prefixes)
		m.SecurityGroups = slices.Clone(m.SecurityGroups)
		out[i] = m
	}
	return out
}
