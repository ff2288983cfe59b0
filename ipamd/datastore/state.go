package datastore

import (
	"cmp"
	"encoding/binary"
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

// state is the datastore's model and its indexes. Not safe for concurrent
// use: the Store locks around it.
type state struct {
	enis      map[string]*eniEntry
	order     []*eniEntry // by network card, device index, id
	primaries map[netip.Addr]*eniEntry
	prefixes  map[netip.Prefix]*block
	allocs    map[Key]*allocation
	// buckets[n] holds the blocks with n assigned addresses and at least
	// one available, ordered by ENI order and address: Assign takes the
	// first block of the fullest bucket.
	buckets [maxBlockAddrs + 1][]*block
	cooling []coolEntry // min-heap on until
	seq     uint64
	// held are addresses QuarantineAddrs keeps from pods until the time
	// given, also when a block bringing them is added later (nil: none).
	held map[netip.Addr]time.Time
	// quarantine is the rule Quarantine set (nil: none); it is in the
	// checkpoint.
	quarantine *quarantine
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
