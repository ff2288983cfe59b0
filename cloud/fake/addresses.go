package fake

import (
	"context"
	"net/netip"
	"slices"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// AssignIPs assigns the n lowest free addresses of the ENI's subnet as
// secondary addresses.
func (c *Cloud) AssignIPs(ctx context.Context, eniID string, n int) ([]netip.Addr, error) {
	if err := c.begin(ctx, OpAssignIPs, checkAssign(OpAssignIPs, eniID, n)); err != nil {
		return nil, err
	}
	defer c.lock()()
	e, err := c.eniLocked(OpAssignIPs, eniID)
	if err != nil {
		return nil, err
	}
	ips, err := c.addIPsLocked(OpAssignIPs, e, n)
	if err != nil {
		return nil, err
	}
	c.recordLocked()
	if err := c.lostLocked(OpAssignIPs); err != nil {
		return nil, err
	}
	return ips, nil
}

// AssignPrefixes delegates the n lowest free aligned /28 blocks of the
// ENI's subnet; only an ENI of a Nitro type, or not attached, takes them.
func (c *Cloud) AssignPrefixes(ctx context.Context, eniID string, n int) ([]netip.Prefix, error) {
	if err := c.begin(ctx, OpAssignPrefixes, checkAssign(OpAssignPrefixes, eniID, n)); err != nil {
		return nil, err
	}
	defer c.lock()()
	e, err := c.eniLocked(OpAssignPrefixes, eniID)
	if err != nil {
		return nil, err
	}
	prefixes, err := c.addPrefixesLocked(OpAssignPrefixes, e, n)
	if err != nil {
		return nil, err
	}
	c.recordLocked()
	if err := c.lostLocked(OpAssignPrefixes); err != nil {
		return nil, err
	}
	return prefixes, nil
}

// unattachedAddrLimit is how many addresses (a prefix counting as one) an
// ENI with no attachment may hold, as in ec2sim: the largest per-ENI limit
// of any instance type. The instance type's own limit applies from attach on.
const unattachedAddrLimit = 50

// addrLimit is how many addresses e may hold: its instance type's per-ENI
// limit while it has an attachment in any state, else unattachedAddrLimit.
func (c *Cloud) addrLimit(e *cloud.ENI) int {
	if e.Attachment != nil {
		return c.limits.IPv4PerENI
	}
	return max(unattachedAddrLimit, c.limits.IPv4PerENI)
}

// slotsUsed is how many address slots e holds: its primary, its
// secondaries and one per prefix.
func slotsUsed(e *cloud.ENI) int { return 1 + len(e.SecondaryIPs) + len(e.Prefixes) }

// slotsLeft is how many more addresses (a prefix counting as one) e can
// take under its limit.
func (c *Cloud) slotsLeft(e *cloud.ENI) int { return c.addrLimit(e) - slotsUsed(e) }

// addIPsLocked assigns n secondary addresses to e, all or none.
func (c *Cloud) addIPsLocked(op Op, e *cloud.ENI, n int) ([]netip.Addr, error) {
	if n > c.slotsLeft(e) {
		return nil, c.apiError(op, codeAddressLimit, "%s can take %d more addresses, not %d", e.ID, c.slotsLeft(e), n)
	}
	p := c.subnets[e.SubnetID]
	ips, ok := p.takeIPs(n)
	if !ok {
		return nil, c.apiError(op, codeSubnetFull, "subnet %s has %d free addresses, not %d", p.info.ID, p.free(), n)
	}
	e.SecondaryIPs = append(e.SecondaryIPs, ips...)
	return slices.Clone(ips), nil
}

// addPrefixesLocked delegates n /28 prefixes to e, all or none. An ENI
// with no attachment takes prefixes whatever the instance type; AttachENI
// refuses it to a type that cannot carry them.
func (c *Cloud) addPrefixesLocked(op Op, e *cloud.ENI, n int) ([]netip.Prefix, error) {
	if e.Attachment != nil && !c.limits.PrefixDelegation() {
		return nil, c.apiError(op, codeBadValue, "%s does not support prefix delegation: it is not a Nitro type", c.limits.Type)
	}
	if n > c.slotsLeft(e) {
		return nil, c.apiError(op, codeAddressLimit, "%s can take %d more prefixes, not %d", e.ID, c.slotsLeft(e), n)
	}
	p := c.subnets[e.SubnetID]
	prefixes, ok := p.takePrefixes(n)
	if !ok {
		if p.free() == 0 {
			return nil, c.apiError(op, codeSubnetFull, "subnet %s has no free address", p.info.ID)
		}
		return nil, c.apiError(op, codeNoCidrBlocks, "subnet %s has %d free addresses but not %d free aligned /28 blocks", p.info.ID, p.free(), n)
	}
	e.Prefixes = append(e.Prefixes, prefixes...)
	return slices.Clone(prefixes), nil
}

// UnassignIPs releases secondary addresses of an ENI back to its subnet;
// every one must be a secondary address of that ENI.
func (c *Cloud) UnassignIPs(ctx context.Context, eniID string, ips []netip.Addr) error {
	if err := c.begin(ctx, OpUnassignIPs, checkUnassignIPs(eniID, ips)); err != nil {
		return err
	}
	defer c.lock()()
	e, err := c.eniLocked(OpUnassignIPs, eniID)
	if err != nil {
		return err
	}
	for _, ip := range ips {
		if !slices.Contains(e.SecondaryIPs, ip) {
			return c.apiError(OpUnassignIPs, codeBadValue, "%s is not a secondary address of %s", ip, eniID)
		}
	}
	e.SecondaryIPs = slices.DeleteFunc(e.SecondaryIPs, func(a netip.Addr) bool { return slices.Contains(ips, a) })
	c.subnets[e.SubnetID].release(ips...)
	c.recordLocked()
	return c.lostLocked(OpUnassignIPs)
}

// UnassignPrefixes releases prefixes of an ENI back to its subnet; every
// one must be delegated to that ENI.
func (c *Cloud) UnassignPrefixes(ctx context.Context, eniID string, prefixes []netip.Prefix) error {
	if err := c.begin(ctx, OpUnassignPrefixes, checkUnassignPrefixes(eniID, prefixes)); err != nil {
		return err
	}
	defer c.lock()()
	e, err := c.eniLocked(OpUnassignPrefixes, eniID)
	if err != nil {
		return err
	}
	for _, pfx := range prefixes {
		if !slices.Contains(e.Prefixes, pfx) {
			return c.apiError(OpUnassignPrefixes, codeBadValue, "%s is not a prefix of %s", pfx, eniID)
		}
	}
	e.Prefixes = slices.DeleteFunc(e.Prefixes, func(p netip.Prefix) bool { return slices.Contains(prefixes, p) })
	for _, pfx := range prefixes { // releasing twice is harmless
		c.subnets[e.SubnetID].releasePrefix(pfx)
	}
	c.recordLocked()
	return c.lostLocked(OpUnassignPrefixes)
}
