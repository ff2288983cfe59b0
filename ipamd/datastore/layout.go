package datastore

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// overlap says what p (a /32 or /28 for e) overlaps: another block, or
// the primary address of another ENI; nil if nothing.
func (st *state) overlap(e *eniEntry, p netip.Prefix) error {
	if b := st.prefixes[p]; b != nil {
		return fmt.Errorf("block %s: %w: overlaps %s of %s", p, ErrExists, b.prefix, b.eni.eni.ID)
	}
	if p.Bits() == 32 {
		if b := st.blockFor(p.Addr()); b != nil {
			return fmt.Errorf("block %s: %w: overlaps %s of %s", p, ErrExists, b.prefix, b.eni.eni.ID)
		}
	}
	n := 1 << (32 - p.Bits())
	for a, i := p.Addr(), 0; i < n; a, i = a.Next(), i+1 {
		if b := st.prefixes[netip.PrefixFrom(a, 32)]; b != nil && n > 1 {
			return fmt.Errorf("block %s: %w: overlaps %s of %s", p, ErrExists, b.prefix, b.eni.eni.ID)
		}
		if o := st.primaries[a]; o != nil && o != e {
			return fmt.Errorf("block %s: %w: holds %s's primary address %s", p, ErrExists, o.eni.ID, a)
		}
	}
	return nil
}

// newBlock returns p as a block of e, all its usable addresses available.
func (st *state) newBlock(e *eniEntry, p netip.Prefix) *block {
	st.seq++
	n := 1 << (32 - p.Bits())
	b := &block{prefix: p, eni: e, seq: st.seq, slots: make([]slot, n), bucket: -1}
	b.usable = uint16(1<<n - 1)
	if off, ok := b.offset(e.eni.PrimaryIP); ok {
		b.usable &^= 1 << off
	}
	b.avail = b.usable
	return b
}

// attachBlock makes b (new, or detached by an undoable removal) part of
// the store again: its prefix, its allocations and its index entry.
func (st *state) attachBlock(b *block) {
	b.detached = false
	st.prefixes[b.prefix] = b
	for _, s := range b.slots {
		if s.alloc != nil {
			st.allocs[s.alloc.pub.Key] = s.alloc
		}
	}
	st.reindex(b)
}

// detachBlock removes b from the store's indexes, keeping its state so
// that attachBlock can put it back.
func (st *state) detachBlock(b *block) {
	b.detached = true
	delete(st.prefixes, b.prefix)
	for _, s := range b.slots {
		if s.alloc != nil {
			delete(st.allocs, s.alloc.pub.Key)
		}
	}
	st.reindex(b)
}

// checkBlock says whether p may be a block of e.
func checkBlock(e *eniEntry, p netip.Prefix) error {
	switch {
	case !p.IsValid() || !p.Addr().Is4():
		return fmt.Errorf("block %s: %w: not an IPv4 prefix", p, ErrInvalid)
	case p.Bits() != 32 && p.Bits() != 28:
		return fmt.Errorf("block %s: %w: a block is a /32 address or a /28 prefix", p, ErrInvalid)
	case p.Masked() != p:
		return fmt.Errorf("block %s: %w: host bits set (want %s)", p, ErrInvalid, p.Masked())
	case !e.eni.SubnetCIDR.Contains(p.Addr()) || p.Bits() < e.eni.SubnetCIDR.Bits():
		return fmt.Errorf("block %s: %w: outside %s's subnet %s", p, ErrInvalid, e.eni.ID, e.eni.SubnetCIDR)
	case p.Bits() == 32 && p.Addr() == e.eni.PrimaryIP:
		return fmt.Errorf("block %s: %w: it is %s's primary address", p, ErrInvalid, e.eni.ID)
	}
	return nil
}

// addBlocks validates ps and adds them to e, all or none.
func (st *state) addBlocks(e *eniEntry, ps []netip.Prefix) ([]*block, error) {
	added := make([]*block, 0, len(ps))
	for _, p := range ps {
		err := checkBlock(e, p)
		if err == nil {
			err = st.overlap(e, p)
		}
		if err != nil {
			st.removeBlocks(e, added)
			return nil, err
		}
		b := st.newBlock(e, p)
		st.attachBlock(b)
		e.blocks = append(e.blocks, b)
		added = append(added, b)
	}
	e.frag = nil
	return added, nil
}

// removeBlocks detaches bs, which belong to e.
func (st *state) removeBlocks(e *eniEntry, bs []*block) {
	for _, b := range bs {
		st.detachBlock(b)
	}
	e.blocks = slices.DeleteFunc(e.blocks, func(b *block) bool { return b.detached })
	e.frag = nil
}

// restoreBlocks undoes removeBlocks.
func (st *state) restoreBlocks(e *eniEntry, bs []*block) {
	for _, b := range bs {
		st.attachBlock(b)
	}
	e.blocks = append(e.blocks, bs...)
	slices.SortFunc(e.blocks, func(x, y *block) int { return cmp.Compare(x.seq, y.seq) })
	e.frag = nil
}

// addENI validates e and adds it with its blocks.
func (st *state) addENI(e ENI) (*eniEntry, error) {
	switch {
	case e.ID == "":
		return nil, fmt.Errorf("eni: %w: empty id", ErrInvalid)
	case st.enis[e.ID] != nil:
		return nil, fmt.Errorf("eni %s: %w", e.ID, ErrExists)
	case !e.SubnetCIDR.IsValid() || !e.SubnetCIDR.Addr().Is4() || e.SubnetCIDR.Masked() != e.SubnetCIDR:
		return nil, fmt.Errorf("eni %s: %w: subnet CIDR %q is not an IPv4 network", e.ID, ErrInvalid, e.SubnetCIDR)
	}
	for _, o := range st.order {
		if o.eni.NetworkCard == e.NetworkCard && o.eni.DeviceIndex == e.DeviceIndex {
			return nil, fmt.Errorf("eni %s: %w: device index %d of network card %d is %s's",
				e.ID, ErrExists, e.DeviceIndex, e.NetworkCard, o.eni.ID)
		}
	}
	if o := st.primaries[e.PrimaryIP]; o != nil {
		return nil, fmt.Errorf("eni %s: %w: primary address %s is %s's", e.ID, ErrExists, e.PrimaryIP, o.eni.ID)
	}
	if b := st.blockFor(e.PrimaryIP); b != nil {
		return nil, fmt.Errorf("eni %s: %w: primary address %s is in %s of %s", e.ID, ErrExists, e.PrimaryIP, b.prefix, b.eni.eni.ID)
	}
	entry := &eniEntry{eni: e}
	entry.eni.Blocks = nil
	if _, err := st.addBlocks(entry, e.Blocks); err != nil {
		return nil, fmt.Errorf("eni %s: %w", e.ID, err)
	}
	st.attachENI(entry)
	return entry, nil
}

// attachENI puts an entry (new, or removed by an undoable removal) in the
// ENI list; its blocks must be attached already.
func (st *state) attachENI(e *eniEntry) {
	st.enis[e.eni.ID] = e
	if e.eni.PrimaryIP.IsValid() {
		st.primaries[e.eni.PrimaryIP] = e
	}
	i, _ := slices.BinarySearchFunc(st.order, e, compareENI)
	st.order = slices.Insert(st.order, i, e)
}

// removeENI detaches e and its blocks, keeping their state for an undo.
func (st *state) removeENI(e *eniEntry) {
	for _, b := range e.blocks {
		st.detachBlock(b)
	}
	delete(st.enis, e.eni.ID)
	if st.primaries[e.eni.PrimaryIP] == e {
		delete(st.primaries, e.eni.PrimaryIP)
	}
	if i, ok := slices.BinarySearchFunc(st.order, e, compareENI); ok {
		st.order = slices.Delete(st.order, i, i+1)
	}
}

// restoreENI undoes removeENI.
func (st *state) restoreENI(e *eniEntry) {
	for _, b := range e.blocks {
		st.attachBlock(b)
	}
	st.attachENI(e)
}

// allocationsOf returns copies of the allocations held in bs.
func allocationsOf(bs []*block) []Allocation {
	var out []Allocation
	for _, b := range bs {
		if b.assigned == 0 {
			continue
		}
		for _, s := range b.slots {
			if s.alloc != nil {
				out = append(out, s.alloc.pub)
			}
		}
	}
	return out
}
