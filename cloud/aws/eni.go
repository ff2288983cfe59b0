package aws

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// maxCount bounds the address and prefix counts a request may carry: far
// above any instance type's limit, far below int32 overflow.
const maxCount = 1 << 16

// CreateENI implements cloud.ENIAPI. The SDK fills in a client token that
// every attempt of the call carries, so a retried attempt cannot create a
// second ENI. Each call gets a new token: a caller that repeats a call
// whose answer it never saw (a timeout) may leave an ENI behind.
func (c *EC2) CreateENI(ctx context.Context, req cloud.CreateENIRequest) (cloud.ENI, error) {
	switch {
	case req.SubnetID == "":
		return cloud.ENI{}, errInvalid("create eni: empty subnet id")
	case req.SecondaryIPs < 0 || req.Prefixes < 0 || req.SecondaryIPs > maxCount || req.Prefixes > maxCount:
		return cloud.ENI{}, errInvalid("create eni in %s: count out of range", req.SubnetID)
	case req.SecondaryIPs > 0 && req.Prefixes > 0:
		return cloud.ENI{}, errInvalid("create eni in %s: both secondary ips and prefixes", req.SubnetID)
	case slices.Contains(req.SecurityGroups, ""):
		return cloud.ENI{}, errInvalid("create eni in %s: empty security group id", req.SubnetID)
	}
	in := &ec2.CreateNetworkInterfaceInput{SubnetId: awssdk.String(req.SubnetID), Groups: req.SecurityGroups}
	if req.Description != "" {
		in.Description = awssdk.String(req.Description)
	}
	if req.SecondaryIPs > 0 {
		in.SecondaryPrivateIpAddressCount = awssdk.Int32(int32(req.SecondaryIPs))
	}
	if req.Prefixes > 0 {
		in.Ipv4PrefixCount = awssdk.Int32(int32(req.Prefixes))
	}
	if len(req.Tags) > 0 {
		in.TagSpecifications = []types.TagSpecification{{
			ResourceType: types.ResourceTypeNetworkInterface,
			Tags:         ec2Tags(req.Tags),
		}}
	}
	const op = "CreateNetworkInterface"
	var out *ec2.CreateNetworkInterfaceOutput
	err := c.call(ctx, op, func(ctx context.Context) (err error) {
		out, err = c.client.CreateNetworkInterface(ctx, in)
		return err
	})
	if err != nil {
		return cloud.ENI{}, fmt.Errorf("create eni in %s: %w", req.SubnetID, err)
	}
	if out.NetworkInterface == nil {
		return cloud.ENI{}, fmt.Errorf("create eni in %s: response has no network interface", req.SubnetID)
	}
	e, err := eni(*out.NetworkInterface)
	if err != nil {
		return cloud.ENI{}, fmt.Errorf("create eni in %s: %w", req.SubnetID, err)
	}
	return e, nil
}

// AttachENI implements cloud.ENIAPI.
func (c *EC2) AttachENI(ctx context.Context, eniID, instanceID string, deviceIndex, networkCard int) (string, error) {
	switch {
	case eniID == "" || instanceID == "":
		return "", errInvalid("attach eni %q to %q: empty id", eniID, instanceID)
	case deviceIndex < 0 || networkCard < 0:
		return "", errInvalid("attach eni %s: negative device index %d or network card %d", eniID, deviceIndex, networkCard)
	}
	const op = "AttachNetworkInterface"
	var out *ec2.AttachNetworkInterfaceOutput
	err := c.call(ctx, op, func(ctx context.Context) (err error) {
		out, err = c.client.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{
			NetworkInterfaceId: awssdk.String(eniID),
			InstanceId:         awssdk.String(instanceID),
			DeviceIndex:        awssdk.Int32(int32(deviceIndex)),
			NetworkCardIndex:   awssdk.Int32(int32(networkCard)),
		})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("attach eni %s to %s at device %d: %w", eniID, instanceID, deviceIndex, err)
	}
	if awssdk.ToString(out.AttachmentId) == "" {
		return "", fmt.Errorf("attach eni %s to %s: response has no attachment id", eniID, instanceID)
	}
	return *out.AttachmentId, nil
}

// DetachENI implements cloud.ENIAPI.
func (c *EC2) DetachENI(ctx context.Context, attachmentID string, force bool) error {
	if attachmentID == "" {
		return errInvalid("detach eni: empty attachment id")
	}
	const op = "DetachNetworkInterface"
	err := c.call(ctx, op, func(ctx context.Context) error {
		_, err := c.client.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{
			AttachmentId: awssdk.String(attachmentID),
			Force:        awssdk.Bool(force),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("detach %s: %w", attachmentID, err)
	}
	return nil
}

// DeleteENI implements cloud.ENIAPI.
func (c *EC2) DeleteENI(ctx context.Context, eniID string) error {
	if eniID == "" {
		return errInvalid("delete eni: empty eni id")
	}
	const op = "DeleteNetworkInterface"
	err := c.call(ctx, op, func(ctx context.Context) error {
		_, err := c.client.DeleteNetworkInterface(ctx, &ec2.DeleteNetworkInterfaceInput{
			NetworkInterfaceId: awssdk.String(eniID),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("delete %s: %w", eniID, err)
	}
	return nil
}

// SetDeleteOnTermination implements cloud.ENIAPI.
func (c *EC2) SetDeleteOnTermination(ctx context.Context, eniID, attachmentID string, on bool) error {
	if eniID == "" || attachmentID == "" {
		return errInvalid("set delete-on-termination of %q attachment %q: empty id", eniID, attachmentID)
	}
	const op = "ModifyNetworkInterfaceAttribute"
	err := c.call(ctx, op, func(ctx context.Context) error {
		_, err := c.client.ModifyNetworkInterfaceAttribute(ctx, &ec2.ModifyNetworkInterfaceAttributeInput{
			NetworkInterfaceId: awssdk.String(eniID),
			Attachment: &types.NetworkInterfaceAttachmentChanges{
				AttachmentId:        awssdk.String(attachmentID),
				DeleteOnTermination: awssdk.Bool(on),
			},
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("set delete-on-termination of %s: %w", eniID, err)
	}
	return nil
}

// AssignIPs implements cloud.ENIAPI.
func (c *EC2) AssignIPs(ctx context.Context, eniID string, n int) ([]netip.Addr, error) {
	if eniID == "" || n < 1 || n > maxCount {
		return nil, errInvalid("assign %d ips to %q: need an eni id and 1 ≤ n ≤ 65536", n, eniID)
	}
	out, err := c.assign(ctx, &ec2.AssignPrivateIpAddressesInput{
		NetworkInterfaceId:             awssdk.String(eniID),
		SecondaryPrivateIpAddressCount: awssdk.Int32(int32(n)),
	})
	if err != nil {
		return nil, fmt.Errorf("assign %d ips to %s: %w", n, eniID, err)
	}
	ips := make([]netip.Addr, 0, len(out.AssignedPrivateIpAddresses))
	for _, a := range out.AssignedPrivateIpAddresses {
		s := awssdk.ToString(a.PrivateIpAddress)
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("assign ips to %s: malformed assigned address %q", eniID, s)
		}
		ips = append(ips, ip)
	}
	return ips, nil
}

// AssignPrefixes implements cloud.ENIAPI.
func (c *EC2) AssignPrefixes(ctx context.Context, eniID string, n int) ([]netip.Prefix, error) {
	if eniID == "" || n < 1 || n > maxCount {
		return nil, errInvalid("assign %d prefixes to %q: need an eni id and 1 ≤ n ≤ 65536", n, eniID)
	}
	out, err := c.assign(ctx, &ec2.AssignPrivateIpAddressesInput{
		NetworkInterfaceId: awssdk.String(eniID),
		Ipv4PrefixCount:    awssdk.Int32(int32(n)),
	})
	if err != nil {
		return nil, fmt.Errorf("assign %d prefixes to %s: %w", n, eniID, err)
	}
	prefixes := make([]netip.Prefix, 0, len(out.AssignedIpv4Prefixes))
	for _, a := range out.AssignedIpv4Prefixes {
		s := awssdk.ToString(a.Ipv4Prefix)
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("assign prefixes to %s: malformed assigned prefix %q", eniID, s)
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, nil
}

func (c *EC2) assign(ctx context.Context, in *ec2.AssignPrivateIpAddressesInput) (*ec2.AssignPrivateIpAddressesOutput, error) {
	var out *ec2.AssignPrivateIpAddressesOutput
	err := c.call(ctx, "AssignPrivateIpAddresses", func(ctx context.Context) (err error) {
		out, err = c.client.AssignPrivateIpAddresses(ctx, in)
		return err
	})
	return out, err
}

// UnassignIPs implements cloud.ENIAPI.
func (c *EC2) UnassignIPs(ctx context.Context, eniID string, ips []netip.Addr) error {
	if eniID == "" || len(ips) == 0 {
		return errInvalid("unassign ips %v from %q: need an eni id and addresses", ips, eniID)
	}
	strs := make([]string, len(ips))
	for i, ip := range ips {
		if !ip.Is4() {
			return errInvalid("unassign ips from %s: %q is not an ipv4 address", eniID, ip)
		}
		strs[i] = ip.String()
	}
	err := c.unassign(ctx, &ec2.UnassignPrivateIpAddressesInput{
		NetworkInterfaceId: awssdk.String(eniID),
		PrivateIpAddresses: strs,
	})
	if err != nil {
		return fmt.Errorf("unassign %d ips from %s: %w", len(ips), eniID, err)
	}
	return nil
}

// UnassignPrefixes implements cloud.ENIAPI.
func (c *EC2) UnassignPrefixes(ctx context.Context, eniID string, prefixes []netip.Prefix) error {
	if eniID == "" || len(prefixes) == 0 {
		return errInvalid("unassign prefixes %v from %q: need an eni id and prefixes", prefixes, eniID)
	}
	strs := make([]string, len(prefixes))
	for i, p := range prefixes {
		if !p.IsValid() || !p.Addr().Is4() {
			return errInvalid("unassign prefixes from %s: %q is not an ipv4 prefix", eniID, p)
		}
		strs[i] = p.String()
	}
	err := c.unassign(ctx, &ec2.UnassignPrivateIpAddressesInput{
		NetworkInterfaceId: awssdk.String(eniID),
		Ipv4Prefixes:       strs,
	})
	if err != nil {
		return fmt.Errorf("unassign %d prefixes from %s: %w", len(prefixes), eniID, err)
	}
	return nil
}

func (c *EC2) unassign(ctx context.Context, in *ec2.UnassignPrivateIpAddressesInput) error {
	return c.call(ctx, "UnassignPrivateIpAddresses", func(ctx context.Context) error {
		_, err := c.client.UnassignPrivateIpAddresses(ctx, in)
		return err
	})
}

// TagENI implements cloud.ENIAPI.
func (c *EC2) TagENI(ctx context.Context, eniID string, tags map[string]string) error {
	if eniID == "" || len(tags) == 0 {
		return errInvalid("tag %q: need an eni id and tags", eniID)
	}
	if _, ok := tags[""]; ok {
		return errInvalid("tag %s: empty tag key", eniID)
	}
	err := c.call(ctx, "CreateTags", func(ctx context.Context) error {
		_, err := c.client.CreateTags(ctx, &ec2.CreateTagsInput{
			Resources: []string{eniID},
			Tags:      ec2Tags(tags),
		})
		return err
	})
	if err != nil {
		return fmt.Errorf("tag %s: %w", eniID, err)
	}
	return nil
}
