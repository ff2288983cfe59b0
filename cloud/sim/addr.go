package sim

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
)

// Subnet address accounting. AWS reserves the first four addresses of every
// subnet (network, router, DNS, future use) and the last (broadcast); they
// are never handed out. A /28 prefix occupies its sixteen addresses.

const (
	reservedLow  = 4  // network, .1 router, .2 DNS, .3 future use
	reservedEach = 5  // those four and the broadcast address
	prefixBits   = 28 // delegated IPv4 prefixes are /28
	prefixSize   = 16 // addresses in a /28
	probeTries   = 32 // random probes before a linear scan
)

// ownerKind is how an ENI holds an address.
type ownerKind uint8

const (
	ownPrimary ownerKind = iota + 1
	ownSecondary
	ownPrefix
)

// owner is the ENI that holds an address and how.
type owner struct {
	eni  string
	kind ownerKind
}

// addrPool tracks which addresses of a subnet are in use, by offset from
// the subnet's network address.
type addrPool struct {
	cidr netip.Prefix
	base uint32
	size uint32
	used map[uint32]owner
}

func newAddrPool(cidr netip.Prefix) *addrPool {
	return &addrPool{
		cidr: cidr,
		base: v4(cidr.Addr()),
		size: 1 << (32 - cidr.Bits()),
		used: map[uint32]owner{},
	}
}

// available is the subnet's AvailableIPs: size minus reserves minus used.
func (p *addrPool) available() int {
	return int(p.size) - reservedEach - len(p.used)
}

// reserved reports whether an offset is one of the five AWS reserves.
func (p *addrPool) reserved(off uint32) bool {
	return off < reservedLow || off == p.size-1
}

// offset returns an address's offset in the subnet.
func (p *addrPool) offset(a netip.Addr) (uint32, bool) {
	a = a.Unmap()
	if !a.Is4() || !p.cidr.Contains(a) {
		return 0, false
	}
	return v4(a) - p.base, true
}

// addr returns the address at an offset.
func (p *addrPool) addr(off uint32) netip.Addr {
	return fromV4(p.base + off)
}

// prefix returns the /28 whose first address is at offset off.
func (p *addrPool) prefix(off uint32) netip.Prefix {
	return netip.PrefixFrom(p.addr(off), prefixBits)
}

// hold marks an address used by an owner; holdBlock a whole /28.
func (p *addrPool) hold(off uint32, o owner) { p.used[off] = o }

func (p *addrPool) holdBlock(off uint32, o owner) {
	for i := range uint32(prefixSize) {
		p.used[off+i] = o
	}
}

// release frees an address; releaseBlock a whole /28.
func (p *addrPool) release(off uint32) { delete(p.used, off) }

func (p *addrPool) releaseBlock(off uint32) {
	for i := range uint32(prefixSize) {
		delete(p.used, off+i)
	}
}

// picker chooses free addresses and /28 blocks of a pool pseudo-randomly,
// as EC2 does, without changing the pool: what it picks is only marked
// taken until the caller commits it.
type picker struct {
	pool  *addrPool
	rng   *rand.Rand
	taken map[uint32]bool
}

func newPicker(p *addrPool, rng *rand.Rand) *picker {
	return &picker{pool: p, rng: rng, taken: map[uint32]bool{}}
}

// free reports whether an offset is neither reserved, used nor taken.
func (pk *picker) free(off uint32) bool {
	_, used := pk.pool.used[off]
	return off < pk.pool.size && !pk.pool.reserved(off) && !used && !pk.taken[off]
}

// freeCount is how many addresses are still free.
func (pk *picker) freeCount() int { return pk.pool.available() - len(pk.taken) }

// blockFree reports whether the aligned /28 at offset off is entirely free.
func (pk *picker) blockFree(off uint32) bool {
	for i := range uint32(prefixSize) {
		if !pk.free(off + i) {
			return false
		}
	}
	return true
}

// pickAddr picks and takes a free address.
func (pk *picker) pickAddr() (uint32, bool) {
	if pk.freeCount() <= 0 {
		return 0, false
	}
	off, ok := pk.search(pk.pool.size, func(i uint32) bool { return pk.free(i) })
	if ok {
		pk.taken[off] = true
	}
	return off, ok
}

// pickBlock picks and takes a free aligned /28, returning its offset.
func (pk *picker) pickBlock() (uint32, bool) {
	blocks := pk.pool.size / prefixSize
	if blocks == 0 || pk.freeCount() < prefixSize {
		return 0, false
	}
	b, ok := pk.search(blocks, func(i uint32) bool { return pk.blockFree(i * prefixSize) })
	if !ok {
		return 0, false
	}
	pk.takeBlock(b * prefixSize)
	return b * prefixSize, true
}

func (pk *picker) takeBlock(off uint32) {
	for i := range uint32(prefixSize) {
		pk.taken[off+i] = true
	}
}

// search finds an index below n that ok accepts: a few random probes, then
// a scan from a random start, so it is fast when the pool is sparse and
// exhaustive when it is nearly full.
func (pk *picker) search(n uint32, ok func(uint32) bool) (uint32, bool) {
	for range probeTries {
		if i := pk.rng.Uint32N(n); ok(i) {
			return i, true
		}
	}
	start := pk.rng.Uint32N(n)
	for j := range n {
		if i := (start + j) % n; ok(i) {
			return i, true
		}
	}
	return 0, false
}

func v4(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func fromV4(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}
