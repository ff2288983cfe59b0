package hostnet

import (
	"cmp"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// This file holds the pure parts of hostnet: validation and the arithmetic
// the Linux implementation builds its routes, rules and sets from.

// Route tables the kernel reserves: an ENI's table must be none of them.
const (
	tableDefault = 253
	tableMain    = 254
	tableLocal   = 255
)

// minMTU is the smallest MTU an IPv4 link may carry; maxMTU the kernel's
// upper bound for any link.
const (
	minMTU = 68
	maxMTU = 65535
)

// Gateway is the subnet's gateway as EC2 places it: its first host (.1 of
// a /24).
func Gateway(subnet netip.Prefix) netip.Addr {
	return subnet.Masked().Addr().Next()
}

// ValidateENI reports why e cannot be programmed, or nil. An MTU of 0
// leaves the link's MTU as it is.
func ValidateENI(e ENI) error {
	if _, err := net.ParseMAC(e.MAC); err != nil {
		return fmt.Errorf("eni mac %q: %w", e.MAC, ErrInvalid)
	}
	if e.RouteTable <= 0 || e.RouteTable == tableDefault || e.RouteTable == tableMain || e.RouteTable == tableLocal {
		return fmt.Errorf("eni %s route table %d (reserved or not positive): %w", e.MAC, e.RouteTable, ErrInvalid)
	}
	if !e.SubnetCIDR.IsValid() || !e.SubnetCIDR.Addr().Is4() || e.SubnetCIDR.Bits() > 30 {
		return fmt.Errorf("eni %s subnet %s (need an IPv4 prefix of /30 or larger): %w", e.MAC, e.SubnetCIDR, ErrInvalid)
	}
	if !e.PrimaryIP.Is4() || !e.SubnetCIDR.Contains(e.PrimaryIP) {
		return fmt.Errorf("eni %s primary ip %s not in subnet %s: %w", e.MAC, e.PrimaryIP, e.SubnetCIDR, ErrInvalid)
	}
	if e.PrimaryIP == Gateway(e.SubnetCIDR) {
		return fmt.Errorf("eni %s primary ip %s is the subnet gateway: %w", e.MAC, e.PrimaryIP, ErrInvalid)
	}
	if e.MTU != 0 && (e.MTU < minMTU || e.MTU > maxMTU) {
		return fmt.Errorf("eni %s mtu %d (need %d to %d): %w", e.MAC, e.MTU, minMTU, maxMTU, ErrInvalid)
	}
	return nil
}

// ValidateSNAT reports why s cannot be programmed, or nil. An External
// configuration is always valid: it only removes.
func ValidateSNAT(s SNAT) error {
	if s.External {
		return nil
	}
	if _, err := net.ParseMAC(s.PrimaryMAC); err != nil {
		return fmt.Errorf("primary eni mac %q: %w", s.PrimaryMAC, ErrInvalid)
	}
	if !s.PrimaryIP.Is4() {
		return fmt.Errorf("primary ip %s (need IPv4): %w", s.PrimaryIP, ErrInvalid)
	}
	if len(s.VPCCIDRs) == 0 {
		return fmt.Errorf("no vpc cidrs: %w", ErrInvalid)
	}
	for _, list := range [][]netip.Prefix{s.VPCCIDRs, s.Exclude} {
		for _, p := range list {
			if !p.IsValid() || !p.Addr().Is4() {
				return fmt.Errorf("cidr %s (need IPv4): %w", p, ErrInvalid)
			}
		}
	}
	if _, _, err := randomFlags(s.Random); err != nil {
		return err
	}
	if s.VethPrefix == "" || len(s.VethPrefix) >= ifNameSize {
		return fmt.Errorf("veth prefix %q (need 1 to %d characters): %w", s.VethPrefix, ifNameSize-1, ErrInvalid)
	}
	return nil
}

// ifNameSize is IFNAMSIZ: a link name and its terminating NUL.
const ifNameSize = 16

// randomFlags maps a port selection mode onto the NAT flags: prng (or
// unset, the AWS VPC CNI's default) is fully-random, hashrandom is random,
// none is neither.
func randomFlags(r SNATRandom) (random, fully bool, err error) {
	switch r {
	case SNATRandomPRNG, "":
		return false, true, nil
	case SNATRandomHash:
		return true, false, nil
	case SNATRandomNone:
		return false, false, nil
	}
	return false, false, fmt.Errorf("snat port selection %q (want prng, hashrandom or none): %w", string(r), ErrInvalid)
}

// addrRange is an inclusive range of IPv4 addresses.
type addrRange struct {
	first, last netip.Addr
}

// lastAddr is the last address of p.
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	if p.Bits() == 0 {
		host = ^uint32(0)
	}
	n := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	n |= host
	return netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
}

// mergeRanges turns IPv4 prefixes into the sorted, disjoint, non-adjacent
// ranges that cover exactly the same addresses: the kernel refuses
// overlapping elements in an interval set, and users list overlapping
// CIDRs (a VPC CIDR and a subnet of it, the same CIDR twice).
func mergeRanges(prefixes []netip.Prefix) []addrRange {
	rs := make([]addrRange, 0, len(prefixes))
	for _, p := range prefixes {
		if !p.IsValid() || !p.Addr().Is4() {
			continue
		}
		rs = append(rs, addrRange{first: p.Masked().Addr(), last: lastAddr(p)})
	}
	slices.SortFunc(rs, func(a, b addrRange) int {
		return cmp.Or(a.first.Compare(b.first), a.last.Compare(b.last))
	})
	var out []addrRange
	for _, r := range rs {
		if n := len(out); n > 0 {
			prev := &out[n-1]
			// end is the first address after prev; invalid when prev
			// reaches 255.255.255.255 and so covers everything after it.
			end := prev.last.Next()
			if !end.IsValid() || r.first.Compare(end) <= 0 {
				if r.last.Compare(prev.last) > 0 {
					prev.last = r.last
				}
				continue
			}
		}
		out = append(out, r)
	}
	return out
}
