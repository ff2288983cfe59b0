package datastore

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math/bits"
	"net/netip"
	"slices"
	"time"
)

// maxBlockAddrs is the number of addresses of the largest block, a /28.
const maxBlockAddrs = 16

// slot is one address of a block.
type slot struct {
	alloc     *allocation // nil when not assigned
	coolUntil time.Time   // non-zero while cooling down
}

// block is a /32 or /28 of an ENI and the state of its addresses.
type block struct {
	prefix   netip.Prefix
	eni      *eniEntry
	seq      uint64 // order of addition, for the ENI's block order
	slots    []slot
	usable   uint16 // bit i: address i may go to a pod (the ENI's primary excluded)
	avail    uint16 // bit i: usable, not assigned and not cooling
	assigned int
	cooling  int
	bucket   int  // the index bucket holding the block (its assigned count), -1 if none
	detached bool // removed from the store (possibly to be put back by an undo)
}

// addr returns the block's address at offset off.
func (b *block) addr(off int) netip.Addr {
	a := b.prefix.Addr().As4()
	binary.BigEndian.PutUint32(a[:], binary.BigEndian.Uint32(a[:])+uint32(off))
	return netip.AddrFrom4(a)
}

// offset returns ip's offset in the block; ok is false when outside.
func (b *block) offset(ip netip.Addr) (int, bool) {
	if !ip.Is4() || !b.prefix.Contains(ip) {
		return 0, false
	}
	x, y := ip.As4(), b.prefix.Addr().As4()
	return int(binary.BigEndian.Uint32(x[:]) - binary.BigEndian.Uint32(y[:])), true
}

func (b *block) total() int     { return bits.OnesCount16(b.usable) }
func (b *block) available() int { return bits.OnesCount16(b.avail) }
func (b *block) idle() bool     { return b.assigned == 0 && b.cooling == 0 }

// eniEntry is a managed ENI and its blocks in the order they were added.
type eniEntry struct {
	eni    ENI // Blocks is not kept up to date here; blocks is
	blocks []*block
	frag   []byte // cached checkpoint JSON of the ENI; nil when stale
}

func (e *eniEntry) public() ENI {
	out := e.eni
	out.Blocks = make([]netip.Prefix, len(e.blocks))
	for i, b := range e.blocks {
		out.Blocks[i] = b.prefix
	}
	return out
}

// allocation is an assigned address and where it lives.
type allocation struct {
	pub  Allocation
	b    *block
	off  int
	frag []byte // cached checkpoint JSON of pub; nil when stale
}

// coolEntry says when a released address may be reused. Entries are not
// removed when an undo or a removal makes them stale; expire skips those.
type coolEntry struct {
	b     *block
	off   int
	until time.Time
}

// state is the datastore's model and its indexes. Not safe for concurrent
// use: the Store locks around it.
type state struct {
	enis      map[string]*eniEntry
	order     []*eniEntry // by network card, device index, id
	primaries map[netip.Addr]*eniEntry
	prefixes map[netip.Prefix]*block
	allocs   map[Key]*allocation
	// buckets[n] holds the blocks with n assigned addresses and at least
	// one available, ordered by ENI order and address: Assign takes the
	// first block of the fullest bucket.
	buckets [maxBlockAddrs + 1][]*block
	cooling []coolEntry // min-heap on until
	seq     uint64
}

func newState() *state {
	return &state{
		enis:      make(map[string]*eniEntry),
		primaries: make(map[netip.Addr]*eniEntry),
		prefixes:  make(map[netip.Prefix]*block),
		allocs:    make(map[Key]*allocation),
	}
}

func compareENI(a, b *eniEntry) int {
	if c := cmp.Compare(a.eni.NetworkCard, b.eni.NetworkCard); c != 0 {
		return c
	}
	if c := cmp.Compare(a.eni.DeviceIndex, b.eni.DeviceIndex); c != 0 {
		return c
	}
	return cmp.Compare(a.eni.ID, b.eni.ID)
}

func compareBlock(a, b *block) int {
	if a.eni != b.eni {
		return compareENI(a.eni, b.eni)
	}
	return a.prefix.Addr().Compare(b.prefix.Addr())
}

// reindex puts b into the bucket its counts call for.
func (st *state) reindex(b *block) {
	want := -1
	if !b.detached && b.avail != 0 {
		want = b.assigned
	}
	if want == b.bucket {
		return
	}
	if b.bucket >= 0 {
		bk := st.buckets[b.bucket]
		if i, ok := slices.BinarySearchFunc(bk, b, compareBlock); ok {
			st.buckets[b.bucket] = slices.Delete(bk, i, i+1)
		}
	}
	if want >= 0 {
		bk := st.buckets[want]
		i, _ := slices.BinarySearchFunc(bk, b, compareBlock)
		st.buckets[want] = slices.Insert(bk, i, b)
	}
	b.bucket = want
}

// pick returns the block and offset the next Assign should take, or nil.
func (st *state) pick() (*block, int) {
	for n := len(st.buckets) - 1; n >= 0; n-- {
		if bk := st.buckets[n]; len(bk) > 0 {
			return bk[0], bits.TrailingZeros16(bk[0].avail)
		}
	}
	return nil, 0
}

// blockFor returns the block holding ip, or nil.
func (st *state) blockFor(ip netip.Addr) *block {
	if !ip.Is4() {
		return nil
	}
	if b := st.prefixes[netip.PrefixFrom(ip, 32)]; b != nil {
		return b
	}
	p, _ := ip.Prefix(28)
	return st.prefixes[p]
}

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

// assign records a at its block's slot, which must be available.
func (st *state) assign(a *allocation) {
	b := a.b
	b.slots[a.off].alloc = a
	b.avail &^= 1 << a.off
	b.assigned++
	st.allocs[a.pub.Key] = a
	st.reindex(b)
}

// unassign undoes assign.
func (st *state) unassign(a *allocation) {
	b := a.b
	b.slots[a.off].alloc = nil
	b.avail |= 1 << a.off
	b.assigned--
	delete(st.allocs, a.pub.Key)
	st.reindex(b)
}

// release frees a's address, into cooldown until the given time, or at
// once when until is zero.
func (st *state) release(a *allocation, until time.Time) {
	b := a.b
	b.slots[a.off].alloc = nil
	b.assigned--
	delete(st.allocs, a.pub.Key)
	if until.IsZero() {
		b.avail |= 1 << a.off
	} else {
		st.cool(b, a.off, until)
	}
	st.reindex(b)
}

// unrelease undoes release.
func (st *state) unrelease(a *allocation) {
	b := a.b
	s := &b.slots[a.off]
	if !s.coolUntil.IsZero() {
		s.coolUntil = time.Time{}
		b.cooling--
	}
	s.alloc = a
	b.avail &^= 1 << a.off
	b.assigned++
	st.allocs[a.pub.Key] = a
	st.reindex(b)
}

// cool marks a free slot as cooling until the given time.
func (st *state) cool(b *block, off int, until time.Time) {
	b.slots[off].coolUntil = until
	b.cooling++
	st.pushCool(coolEntry{b: b, off: off, until: until})
}

// expire makes the addresses whose cooldown ended by now available.
func (st *state) expire(now time.Time) {
	for len(st.cooling) > 0 && !now.Before(st.cooling[0].until) {
		e := st.popCool()
		s := &e.b.slots[e.off]
		if e.b.detached || s.alloc != nil || !s.coolUntil.Equal(e.until) {
			continue // stale: undone, or the block is gone
		}
		s.coolUntil = time.Time{}
		e.b.cooling--
		e.b.avail |= 1 << e.off
		st.reindex(e.b)
	}
}

func (st *state) pushCool(e coolEntry) {
	h := append(st.cooling, e)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].until.Before(h[p].until) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	st.cooling = h
}

func (st *state) popCool() coolEntry {
	h := st.cooling
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = coolEntry{}
	h = h[:last]
	for i := 0; ; {
		m, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h[l].until.Before(h[m].until) {
			m = l
		}
		if r < len(h) && h[r].until.Before(h[m].until) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	st.cooling = h
	return top
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
