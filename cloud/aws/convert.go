package aws

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// instanceTypeLimits maps DescribeInstanceTypes' answer for one type. A
// type that reports no network cards has one, index 0, taking every ENI.
func instanceTypeLimits(it types.InstanceTypeInfo) cloud.InstanceTypeLimits {
	l := cloud.InstanceTypeLimits{
		Type:       string(it.InstanceType),
		Hypervisor: string(it.Hypervisor),
		BareMetal:  awssdk.ToBool(it.BareMetal),
	}
	if it.VCpuInfo != nil {
		l.VCPUs = int(awssdk.ToInt32(it.VCpuInfo.DefaultVCpus))
	}
	if it.MemoryInfo != nil {
		l.MemoryMiB = int(awssdk.ToInt64(it.MemoryInfo.SizeInMiB))
	}
	ni := it.NetworkInfo
	if ni == nil {
		return l
	}
	l.MaxENIs = int(awssdk.ToInt32(ni.MaximumNetworkInterfaces))
	l.IPv4PerENI = int(awssdk.ToInt32(ni.Ipv4AddressesPerInterface))
	l.IPv6PerENI = int(awssdk.ToInt32(ni.Ipv6AddressesPerInterface))
	l.DefaultNetworkCard = int(awssdk.ToInt32(ni.DefaultNetworkCardIndex))
	for _, nc := range ni.NetworkCards {
		l.NetworkCards = append(l.NetworkCards, cloud.NetworkCard{
			Index:   int(awssdk.ToInt32(nc.NetworkCardIndex)),
			MaxENIs: int(awssdk.ToInt32(nc.MaximumNetworkInterfaces)),
		})
	}
	if len(l.NetworkCards) == 0 {
		l.NetworkCards = []cloud.NetworkCard{{Index: 0, MaxENIs: l.MaxENIs}}
	}
	slices.SortFunc(l.NetworkCards, func(a, b cloud.NetworkCard) int { return a.Index - b.Index })
	return l
}

// subnet maps one DescribeSubnets entry.
func subnet(s types.Subnet) (cloud.Subnet, error) {
	id := awssdk.ToString(s.SubnetId)
	cidr, err := netip.ParsePrefix(awssdk.ToString(s.CidrBlock))
	if err != nil {
		return cloud.Subnet{}, fmt.Errorf("subnet %s: malformed cidr block %q", id, awssdk.ToString(s.CidrBlock))
	}
	return cloud.Subnet{
		ID:           id,
		VPCID:        awssdk.ToString(s.VpcId),
		AZ:           awssdk.ToString(s.AvailabilityZone),
		CIDR:         cidr,
		AvailableIPs: int(awssdk.ToInt32(s.AvailableIpAddressCount)),
		Tags:         tagMap(s.Tags),
	}, nil
}

// eni maps one DescribeNetworkInterfaces entry (or CreateNetworkInterface's
// answer).
func eni(ni types.NetworkInterface) (cloud.ENI, error) {
	e := cloud.ENI{
		ID:          awssdk.ToString(ni.NetworkInterfaceId),
		MAC:         awssdk.ToString(ni.MacAddress),
		SubnetID:    awssdk.ToString(ni.SubnetId),
		VPCID:       awssdk.ToString(ni.VpcId),
		AZ:          awssdk.ToString(ni.AvailabilityZone),
		Description: awssdk.ToString(ni.Description),
		Status:      string(ni.Status),
		Tags:        tagMap(ni.TagSet),
	}
	if err := eniAddresses(&e, ni); err != nil {
		return cloud.ENI{}, fmt.Errorf("eni %s: %w", e.ID, err)
	}
	for _, g := range ni.Groups {
		e.SecurityGroups = append(e.SecurityGroups, awssdk.ToString(g.GroupId))
	}
	if a := ni.Attachment; a != nil {
		e.Attachment = &cloud.Attachment{
			ID:                  awssdk.ToString(a.AttachmentId),
			InstanceID:          awssdk.ToString(a.InstanceId),
			DeviceIndex:         int(awssdk.ToInt32(a.DeviceIndex)),
			NetworkCard:         int(awssdk.ToInt32(a.NetworkCardIndex)),
			State:               cloud.AttachmentState(a.Status),
			DeleteOnTermination: awssdk.ToBool(a.DeleteOnTermination),
		}
	}
	return e, nil
}

// eniAddresses fills in an ENI's addresses and prefixes. The primary
// address is the one flagged primary, else PrivateIpAddress; the
// secondaries keep EC2's order.
func eniAddresses(e *cloud.ENI, ni types.NetworkInterface) error {
	for _, pa := range ni.PrivateIpAddresses {
		s := awssdk.ToString(pa.PrivateIpAddress)
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("malformed private ip %q", s)
		}
		if awssdk.ToBool(pa.Primary) {
			e.PrimaryIP = ip
		} else {
			e.SecondaryIPs = append(e.SecondaryIPs, ip)
		}
	}
	if primary := awssdk.ToString(ni.PrivateIpAddress); !e.PrimaryIP.IsValid() && primary != "" {
		ip, err := netip.ParseAddr(primary)
		if err != nil {
			return fmt.Errorf("malformed primary ip %q", primary)
		}
		e.PrimaryIP = ip
		e.SecondaryIPs = slices.DeleteFunc(e.SecondaryIPs, func(a netip.Addr) bool { return a == ip })
	}
	for _, p := range ni.Ipv4Prefixes {
		s := awssdk.ToString(p.Ipv4Prefix)
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return fmt.Errorf("malformed ipv4 prefix %q", s)
		}
		e.Prefixes = append(e.Prefixes, pfx)
	}
	return nil
}

// tagMap turns EC2 tags into a map, nil when there are none.
func tagMap(tags []types.Tag) map[string]string {
	if len(tags) == 0 {
		return nil
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	return m
}

// ec2Tags turns a tag map into EC2 tags sorted by key.
func ec2Tags(m map[string]string) []types.Tag {
	out := make([]types.Tag, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, types.Tag{Key: awssdk.String(k), Value: awssdk.String(m[k])})
	}
	return out
}
