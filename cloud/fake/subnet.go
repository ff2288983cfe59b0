package fake

import (
	"encoding/binary"
	"fmt"
	"maps"
	"net/netip"
	"slices"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// prefixSize is the number of addresses in a delegated /28 prefix.
const prefixSize = 16

// pool is a subnet and the addresses in use in it. AWS reserves the first
// four addresses and the last one of every subnet; they are never handed
// out and never part of a free /28.
type pool struct {
	info  cloud.Subnet // AvailableIPs is computed on the way out
	base  uint32
	used  []bool // by offset from base
	nused int    // in-use addresses, reserved ones excluded
}

func newPool(info cloud.Subnet) *pool {
	size := 1 << (32 - info.CIDR.Bits())
	return &pool{info: info, base: addrToU32(info.CIDR.Addr()), used: make([]bool, size)}
}

func (p *pool) size() int { return len(p.used) }

func (p *pool) reserved(off int) bool { return off < 4 || off == p.size()-1 }

func (p *pool) free() int { return p.size() - 5 - p.nused }

func (p *pool) addr(off int) netip.Addr { return u32ToAddr(p.base + uint32(off)) }

// offset returns a's offset in the subnet, or false when a is outside it.
func (p *pool) offset(a netip.Addr) (int, bool) {
	if !a.Is4() || !p.info.CIDR.Contains(a) {
		return 0, false
	}
	return int(addrToU32(a) - p.base), true
}

// snapshot returns the subnet as the API describes it.
func (p *pool) snapshot() cloud.Subnet {
	s := p.info
	s.Tags = maps.Clone(p.info.Tags)
	s.AvailableIPs = p.free()
	return s
}

// takeIPs hands out the n lowest free addresses, or nothing when fewer
// than n are free.
func (p *pool) takeIPs(n int) ([]netip.Addr, bool) {
	if n > p.free() {
		return nil, false
	}
	out := make([]netip.Addr, 0, n)
	for off := 4; off < p.size()-1 && len(out) < n; off++ {
		if !p.used[off] {
			p.used[off] = true
			out = append(out, p.addr(off))
		}
	}
	p.nused += n
	return out, true
}

// blockFree reports whether the aligned /28 starting at off is entirely
// free and unreserved.
func (p *pool) blockFree(off int) bool {
	for i := off; i < off+prefixSize; i++ {
		if p.used[i] || p.reserved(i) {
			return false
		}
	}
	return true
}

// takePrefixes hands out the n lowest free aligned /28 blocks, or nothing
// when fewer than n are free.
func (p *pool) takePrefixes(n int) ([]netip.Prefix, bool) {
	var offs []int
	for off := 0; off+prefixSize <= p.size() && len(offs) < n; off += prefixSize {
		if p.blockFree(off) {
			offs = append(offs, off)
		}
	}
	if len(offs) < n {
		return nil, false
	}
	out := make([]netip.Prefix, len(offs))
	for i, off := range offs {
		for j := off; j < off+prefixSize; j++ {
			p.used[j] = true
		}
		out[i] = netip.PrefixFrom(p.addr(off), 32-4)
	}
	p.nused += n * prefixSize
	return out, true
}

// release frees addresses of the subnet; unknown or free ones are ignored.
func (p *pool) release(addrs ...netip.Addr) {
	for _, a := range addrs {
		if off, ok := p.offset(a); ok && p.used[off] && !p.reserved(off) {
			p.used[off] = false
			p.nused--
		}
	}
}

// releasePrefix frees every address of a /28 block.
func (p *pool) releasePrefix(pfx netip.Prefix) {
	a := pfx.Addr()
	for range prefixSize {
		p.release(a)
		a = a.Next()
	}
}

// occupy marks given addresses in use, all or none.
func (p *pool) occupy(addrs []netip.Addr) error {
	for _, a := range addrs {
		off, ok := p.offset(a)
		switch {
		case !ok:
			return fmt.Errorf("fake: %s is outside subnet %s", a, p.info.CIDR)
		case p.reserved(off):
			return fmt.Errorf("fake: %s is reserved in subnet %s", a, p.info.CIDR)
		case p.used[off]:
			return fmt.Errorf("fake: %s is already in use", a)
		}
	}
	for _, a := range addrs {
		off, _ := p.offset(a)
		if !p.used[off] { // a duplicate in addrs
			p.used[off] = true
			p.nused++
		}
	}
	return nil
}

func addrToU32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.BigEndian.Uint32(b[:])
}

func u32ToAddr(v uint32) netip.Addr {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

// AddSubnet adds a subnet of the instance's VPC and AZ. The CIDR must be an
// IPv4 block of /16 to /28 inside one of the VPC's CIDR blocks, overlapping
// no other subnet.
func (c *Cloud) AddSubnet(cidr netip.Prefix, tags map[string]string) (cloud.Subnet, error) {
	defer c.lock()()
	p, err := c.addSubnetLocked(cidr, tags)
	if err != nil {
		return cloud.Subnet{}, err
	}
	return p.snapshot(), nil
}

func (c *Cloud) addSubnetLocked(cidr netip.Prefix, tags map[string]string) (*pool, error) {
	if !cidr.IsValid() || !cidr.Addr().Is4() || cidr.Bits() < 16 || cidr.Bits() > 28 {
		return nil, fmt.Errorf("fake: subnet CIDR %s: want an IPv4 block of /16 to /28", cidr)
	}
	cidr = cidr.Masked()
	if !c.inVPC(cidr) {
		return nil, fmt.Errorf("fake: subnet CIDR %s is outside the VPC %v", cidr, c.inst.VPCCIDRs)
	}
	for _, p := range c.subnets {
		if p.info.CIDR.Overlaps(cidr) {
			return nil, fmt.Errorf("fake: subnet CIDR %s overlaps %s (%s)", cidr, p.info.CIDR, p.info.ID)
		}
	}
	p := newPool(cloud.Subnet{
		ID: c.newID("subnet"), VPCID: c.vpcID, AZ: c.inst.AZ, CIDR: cidr, Tags: maps.Clone(tags),
	})
	if p.info.Tags == nil {
		p.info.Tags = map[string]string{}
	}
	c.subnets[p.info.ID] = p
	return p, nil
}

// AssociateVPCCIDR adds a secondary IPv4 CIDR block to the VPC, as
// AssociateVpcCidrBlock does: /16 to /28, overlapping none of the VPC's
// blocks. Instance metadata lists it for every ENI once the metadata lag
// has passed; subnets can be added in it at once.
func (c *Cloud) AssociateVPCCIDR(cidr netip.Prefix) error {
	defer c.lock()()
	if !cidr.IsValid() || !cidr.Addr().Is4() || cidr.Bits() < 16 || cidr.Bits() > 28 {
		return fmt.Errorf("fake: VPC CIDR %s: want an IPv4 block of /16 to /28", cidr)
	}
	cidr = cidr.Masked()
	for _, v := range c.inst.VPCCIDRs {
		if v.Overlaps(cidr) {
			return fmt.Errorf("fake: VPC CIDR %s overlaps the VPC's %s", cidr, v)
		}
	}
	c.inst.VPCCIDRs = append(c.inst.VPCCIDRs, cidr)
	c.recordLocked()
	return nil
}

func (c *Cloud) inVPC(cidr netip.Prefix) bool {
	for _, v := range c.inst.VPCCIDRs {
		if v.Bits() <= cidr.Bits() && v.Contains(cidr.Addr()) {
			return true
		}
	}
	return false
}

// Subnet returns the ground truth of a subnet.
func (c *Cloud) Subnet(id string) (cloud.Subnet, bool) {
	defer c.lock()()
	p, ok := c.subnets[id]
	if !ok {
		return cloud.Subnet{}, false
	}
	return p.snapshot(), true
}

// Occupy marks addresses of a subnet as used by something outside the
// instance (other nodes, load balancers), to exhaust or fragment it.
func (c *Cloud) Occupy(subnetID string, addrs ...netip.Addr) error {
	defer c.lock()()
	p, ok := c.subnets[subnetID]
	if !ok {
		return fmt.Errorf("fake: no subnet %s", subnetID)
	}
	return p.occupy(addrs)
}

// OccupyN marks the n lowest free addresses of a subnet as used from
// outside the instance and returns them.
func (c *Cloud) OccupyN(subnetID string, n int) ([]netip.Addr, error) {
	defer c.lock()()
	p, ok := c.subnets[subnetID]
	if !ok {
		return nil, fmt.Errorf("fake: no subnet %s", subnetID)
	}
	if n < 0 {
		return nil, fmt.Errorf("fake: cannot occupy %d addresses", n)
	}
	ips, ok := p.takeIPs(n)
	if !ok {
		return nil, fmt.Errorf("fake: subnet %s has %d free addresses, not %d", subnetID, p.free(), n)
	}
	return ips, nil
}

// Vacate frees addresses that Occupy or OccupyN took.
func (c *Cloud) Vacate(subnetID string, addrs ...netip.Addr) error {
	defer c.lock()()
	p, ok := c.subnets[subnetID]
	if !ok {
		return fmt.Errorf("fake: no subnet %s", subnetID)
	}
	for _, a := range addrs {
		if c.ownerLocked(a) != "" {
			return fmt.Errorf("fake: %s belongs to an ENI, not to an occupant", a)
		}
	}
	p.release(addrs...)
	return nil
}

// ownerLocked returns the id of the ENI that holds a, or "".
func (c *Cloud) ownerLocked(a netip.Addr) string {
	for id, e := range c.enis {
		if e.PrimaryIP == a || slices.Contains(e.SecondaryIPs, a) {
			return id
		}
		for _, p := range e.Prefixes {
			if p.Contains(a) {
				return id
			}
		}
	}
	return ""
}
