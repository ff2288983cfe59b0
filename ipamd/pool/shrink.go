package pool

import (
	"net/netip"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// shrink plans the release of the pool's excess, keeping the targets met:
// ENIs are visited from the highest device index down, so that whole ENIs
// empty out; an idle secondary ENI whose loss the targets allow is deleted
// whole, otherwise its free blocks are released one by one while the total
// stays at or above the target. In WARM_ENI_TARGET mode ENIs stay full and
// only whole ENIs go, and only while more than WARM_ENI_TARGET ENIs are
// entirely free. A block or an ENI with an assigned or cooling address is
// never released, nor the primary ENI.
func (p *plan) shrink() []Action {
	total := p.in.Stats.Total
	idle := 0
	for _, e := range p.enis {
		if !busy(e) {
			idle++
		}
	}
	var acts []Action
	for i := len(p.enis) - 1; i >= 0; i-- {
		e := p.enis[i]
		if p.deletable(e, total, idle) {
			acts = append(acts, Action{Kind: DeleteENI, ENI: e.ID})
			total -= e.Total
			idle--
			continue
		}
		if p.mode != modeENI {
			acts, total = p.releaseBlocks(acts, e, total)
		}
	}
	return acts
}

// deletable reports whether ENI e may be deleted with the pool at total.
func (p *plan) deletable(e datastore.ENIStats, total, idle int) bool {
	if e.Primary || busy(e) || total-e.Total < p.capped {
		return false
	}
	return p.mode != modeENI || idle > p.in.Config.WarmENITarget
}

// busy reports whether any address of e is assigned or cooling, by the
// ENI's counts or by any of its blocks'.
func busy(e datastore.ENIStats) bool {
	if e.Assigned != 0 || e.Cooling != 0 {
		return true
	}
	for _, b := range e.Blocks {
		if b.Assigned != 0 || b.Cooling != 0 {
			return true
		}
	}
	return false
}

// releaseBlocks adds to acts the release of e's free blocks, last block
// first, while the pool stays at or above the target, and returns the
// pool's total after them.
func (p *plan) releaseBlocks(acts []Action, e datastore.ENIStats, total int) ([]Action, int) {
	var ips, prefixes []netip.Prefix
	for j := len(e.Blocks) - 1; j >= 0; j-- {
		b := e.Blocks[j]
		size := b.Available
		if b.Assigned != 0 || b.Cooling != 0 || !b.Prefix.IsValid() || size <= 0 || total-size < p.capped {
			continue
		}
		total -= size
		if b.Prefix.IsSingleIP() {
			ips = append(ips, b.Prefix)
		} else {
			prefixes = append(prefixes, b.Prefix)
		}
	}
	if len(ips) > 0 {
		acts = append(acts, Action{Kind: UnassignIPs, ENI: e.ID, Blocks: ips})
	}
	if len(prefixes) > 0 {
		acts = append(acts, Action{Kind: UnassignPrefixes, ENI: e.ID, Blocks: prefixes})
	}
	return acts, total
}
