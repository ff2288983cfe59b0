package pool

// grow plans the actions that add short addresses (short > 0): first the
// free slots of the attached ENIs, lowest device index first, then new ENIs
// with their addresses pre-assigned, as many as the shortfall needs and the
// ENI limit allows. In WARM_ENI_TARGET mode every ENI touched is filled to
// its limit. Max pods bounds it all.
func (p *plan) grow(short int) []Action {
	room := p.roomBlocks()
	left := min(ceilDiv(short, p.blockSize), room) // blocks still wanted
	budget := room                                 // blocks max pods still allows
	var acts []Action
	for _, e := range p.enis {
		if left <= 0 {
			break
		}
		free := p.slots - len(e.Blocks)
		if free <= 0 {
			continue
		}
		n := p.take(free, left, budget)
		acts = append(acts, Action{Kind: p.assignKind(), ENI: e.ID, Count: n})
		left, budget = left-n, budget-n
	}
	for n := len(p.enis); left > 0 && n < p.maxENIs && p.slots > 0; n++ {
		k := p.take(p.slots, left, budget)
		acts = append(acts, Action{Kind: CreateENI, Count: k})
		left, budget = left-k, budget-k
	}
	return acts
}

// take is how many of an ENI's free slots to fill: all of them in
// WARM_ENI_TARGET mode (ENIs are filled to their limit), otherwise only the
// blocks still wanted; never more than max pods allows.
func (p *plan) take(free, left, budget int) int {
	n := min(free, left)
	if p.mode == modeENI {
		n = free
	}
	return min(n, budget)
}

// assignKind is the action that adds blocks to an attached ENI.
func (p *plan) assignKind() Kind {
	if p.blockSize == PrefixSize {
		return AssignPrefixes
	}
	return AssignIPs
}
