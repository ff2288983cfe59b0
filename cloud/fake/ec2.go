package fake

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// EC2 error codes the fake returns.
const (
	codeENINotFound        = "InvalidNetworkInterfaceID.NotFound"
	codeAttachmentNotFound = "InvalidAttachmentID.NotFound"
	codeSubnetNotFound     = "InvalidSubnetID.NotFound"
	codeInstanceNotFound   = "InvalidInstanceID.NotFound"
	codeInstanceType       = "InvalidInstanceType"
	codeInUse              = "InvalidNetworkInterface.InUse"
	codeENILimit           = "AttachmentLimitExceeded"
	codeAddressLimit       = "PrivateIpAddressLimitExceeded"
	codeSubnetFull         = "InsufficientFreeAddressesInSubnet"
	codeNoCidrBlocks       = "InsufficientCidrBlocks"
	codeBadValue           = "InvalidParameterValue"
	// codeNotPermitted is what EC2 answers to detaching device index 0.
	codeNotPermitted = "OperationNotPermitted"
)

// InstanceType returns the limits of a type: the fake's own (which may be
// custom) or one of the built-in table.
func (c *Cloud) InstanceType(ctx context.Context, name string) (cloud.InstanceTypeLimits, error) {
	if err := c.begin(ctx, OpInstanceType, checkName(name)); err != nil {
		return cloud.InstanceTypeLimits{}, err
	}
	l, ok := cloud.BuiltinInstanceType(name)
	if name == c.limits.Type {
		l, ok = c.Limits(), true
	}
	if ok {
		if err := c.lost(OpInstanceType); err != nil {
			return cloud.InstanceTypeLimits{}, err
		}
		return l, nil
	}
	defer c.lock()()
	return cloud.InstanceTypeLimits{}, c.apiError(OpInstanceType, codeInstanceType, "unknown instance type %q", name)
}

// Subnets describes the given subnets, each once, in the order first
// given. At least one id is required, as the real client requires it (Subnet
// reads the ground truth of any subnet).
func (c *Cloud) Subnets(ctx context.Context, ids ...string) ([]cloud.Subnet, error) {
	if err := c.begin(ctx, OpSubnets, checkSubnetIDs(ids)); err != nil {
		return nil, err
	}
	defer c.lock()()
	out := make([]cloud.Subnet, 0, len(ids))
	for i, id := range ids {
		p, err := c.subnetLocked(OpSubnets, id)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(ids[:i], id) {
			out = append(out, p.snapshot())
		}
	}
	if err := c.lostLocked(OpSubnets); err != nil {
		return nil, err
	}
	return out, nil
}

// InstanceENIs lists the ENIs attached to an instance, in any attachment
// state, ordered by network card, then device index, then id (the real
// client's order). Like a filtered DescribeNetworkInterfaces, an unknown
// instance has none.
func (c *Cloud) InstanceENIs(ctx context.Context, instanceID string) ([]cloud.ENI, error) {
	if err := c.begin(ctx, OpInstanceENIs, checkNonEmpty(OpInstanceENIs, instanceID)); err != nil {
		return nil, err
	}
	defer c.lock()()
	out := c.selectLocked(func(e *cloud.ENI) bool {
		return e.Attachment != nil && e.Attachment.InstanceID == instanceID
	})
	slices.SortFunc(out, func(a, b cloud.ENI) int {
		return cmp.Or(cmp.Compare(a.Attachment.NetworkCard, b.Attachment.NetworkCard),
			cmp.Compare(a.DeviceIndex(), b.DeviceIndex()), cmp.Compare(a.ID, b.ID))
	})
	if err := c.lostLocked(OpInstanceENIs); err != nil {
		return nil, err
	}
	return out, nil
}

// ENIs lists the ENIs matching f, in creation order. Like
// DescribeNetworkInterfaces with ids, an unknown id in f.IDs fails.
func (c *Cloud) ENIs(ctx context.Context, f cloud.ENIFilter) ([]cloud.ENI, error) {
	if err := c.begin(ctx, OpENIs, checkNonEmpty(OpENIs, f.IDs...)); err != nil {
		return nil, err
	}
	defer c.lock()()
	for _, id := range f.IDs {
		if _, err := c.eniLocked(OpENIs, id); err != nil {
			return nil, err
		}
	}
	out := c.selectLocked(func(e *cloud.ENI) bool { return matches(e, f) })
	if err := c.lostLocked(OpENIs); err != nil {
		return nil, err
	}
	return out, nil
}

// matches reports whether e passes every non-empty field of f.
func matches(e *cloud.ENI, f cloud.ENIFilter) bool {
	switch {
	case len(f.IDs) > 0 && !slices.Contains(f.IDs, e.ID),
		f.InstanceID != "" && (e.Attachment == nil || e.Attachment.InstanceID != f.InstanceID),
		f.SubnetID != "" && e.SubnetID != f.SubnetID,
		f.VPCID != "" && e.VPCID != f.VPCID,
		f.Status != "" && e.Status != f.Status:
		return false
	}
	for k, v := range f.Tags {
		if got, ok := e.Tags[k]; !ok || got != v {
			return false
		}
	}
	for _, k := range f.TagKeys {
		if _, ok := e.Tags[k]; !ok {
			return false
		}
	}
	return true
}

// CreateENI creates a detached ENI in a subnet with its primary address
// and the requested secondary addresses or prefixes; on any failure nothing
// is taken from the subnet.
func (c *Cloud) CreateENI(ctx context.Context, req cloud.CreateENIRequest) (cloud.ENI, error) {
	if err := c.begin(ctx, OpCreateENI, checkCreateReq(req)); err != nil {
		return cloud.ENI{}, err
	}
	defer c.lock()()
	p, err := c.subnetLocked(OpCreateENI, req.SubnetID)
	if err != nil {
		return cloud.ENI{}, err
	}
	if limit := max(unattachedAddrLimit, c.limits.IPv4PerENI); 1+req.SecondaryIPs+req.Prefixes > limit {
		return cloud.ENI{}, c.apiError(OpCreateENI, codeAddressLimit, "an interface can hold at most %d addresses", limit)
	}
	if err := c.checkTagsLocked(OpCreateENI, nil, req.Tags); err != nil {
		return cloud.ENI{}, err
	}
	if err := c.checkGroupsLocked(OpCreateENI, req.SecurityGroups); err != nil {
		return cloud.ENI{}, err
	}
	primary, ok := p.takeIPs(1)
	if !ok {
		return cloud.ENI{}, c.apiError(OpCreateENI, codeSubnetFull, "subnet %s has no free address", p.info.ID)
	}
	groups := req.SecurityGroups
	if len(groups) == 0 {
		groups = c.inst.SecurityGroups
	}
	e := c.newENI(p, primary[0], req.Description, groups)
	maps.Copy(e.Tags, req.Tags)
	if req.Prefixes > 0 {
		_, err = c.addPrefixesLocked(OpCreateENI, e, req.Prefixes)
	} else if req.SecondaryIPs > 0 {
		_, err = c.addIPsLocked(OpCreateENI, e, req.SecondaryIPs)
	}
	if err != nil {
		p.release(e.PrimaryIP)
		delete(c.enis, e.ID)
		return cloud.ENI{}, err
	}
	if err := c.lostLocked(OpCreateENI); err != nil {
		return cloud.ENI{}, err
	}
	return cloneENI(e), nil
}

// TagENI adds or overwrites tags of an ENI, all or none. Like CreateTags,
// it answers InvalidID to an id that is not an ENI id.
func (c *Cloud) TagENI(ctx context.Context, eniID string, tags map[string]string) error {
	if err := c.begin(ctx, OpTagENI, checkTags(eniID, tags)); err != nil {
		return err
	}
	defer c.lock()()
	if !wellFormed("eni-", eniID) {
		return c.apiError(OpTagENI, codeInvalidID, "the id %q is not valid", eniID)
	}
	e, err := c.eniLocked(OpTagENI, eniID)
	if err != nil {
		return err
	}
	if err := c.checkTagsLocked(OpTagENI, e.Tags, tags); err != nil {
		return err
	}
	maps.Copy(e.Tags, tags)
	return c.lostLocked(OpTagENI)
}
