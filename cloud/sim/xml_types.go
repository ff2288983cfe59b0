package sim

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"strings"
)

// The XML shapes of EC2's answers, with the element names of the 2016-11-15
// API (botocore's locationName, the SDK's deserializers). Fields a real
// answer carries and ec2sim knows are filled; the rest are left out.

type xTag struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

type xGroup struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName,omitempty"`
}

type xPrivateIP struct {
	PrivateIPAddress string `xml:"privateIpAddress"`
	PrivateDNSName   string `xml:"privateDnsName"`
	Primary          bool   `xml:"primary"`
}

type xPrefix struct {
	Ipv4Prefix string `xml:"ipv4Prefix"`
}

type xAddress struct {
	PrivateIPAddress string `xml:"privateIpAddress"`
}

type xAttachment struct {
	AttachmentID        string `xml:"attachmentId"`
	InstanceID          string `xml:"instanceId,omitempty"`
	InstanceOwnerID     string `xml:"instanceOwnerId,omitempty"`
	DeviceIndex         int    `xml:"deviceIndex"`
	NetworkCardIndex    int    `xml:"networkCardIndex"`
	Status              string `xml:"status"`
	AttachTime          string `xml:"attachTime"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
}

// xENI is a NetworkInterface, and (with the instance-only fields left
// empty) an InstanceNetworkInterface.
type xENI struct {
	NetworkInterfaceID    string             `xml:"networkInterfaceId"`
	SubnetID              string             `xml:"subnetId"`
	VpcID                 string             `xml:"vpcId"`
	AvailabilityZone      string             `xml:"availabilityZone,omitempty"`
	Description           string             `xml:"description"`
	OwnerID               string             `xml:"ownerId"`
	RequesterManaged      *bool              `xml:"requesterManaged,omitempty"`
	Status                string             `xml:"status"`
	MacAddress            string             `xml:"macAddress"`
	PrivateIPAddress      string             `xml:"privateIpAddress"`
	PrivateDNSName        string             `xml:"privateDnsName"`
	SourceDestCheck       bool               `xml:"sourceDestCheck"`
	GroupSet              xItems[xGroup]     `xml:"groupSet"`
	Attachment            *xAttachment       `xml:"attachment,omitempty"`
	TagSet                *xItems[xTag]      `xml:"tagSet,omitempty"`
	PrivateIPAddressesSet xItems[xPrivateIP] `xml:"privateIpAddressesSet"`
	Ipv4PrefixSet         *xItems[xPrefix]   `xml:"ipv4PrefixSet,omitempty"`
	Ipv6AddressesSet      *xItems[xAddress]  `xml:"ipv6AddressesSet,omitempty"`
	InterfaceType         string             `xml:"interfaceType"`
	Ipv6Native            *bool              `xml:"ipv6Native,omitempty"`
}

// xEmpty is the item of a list ec2sim always answers empty (IPv6).
type xEmpty struct{}

// xmlView carries what the conversions need beyond the model.
type xmlView struct {
	region  string
	account string
}

// dnsName is EC2's private DNS name of an address in the region.
func (v xmlView) dnsName(a netip.Addr) string {
	if !a.Is4() {
		return ""
	}
	domain := v.region + ".compute.internal"
	if v.region == "us-east-1" {
		domain = "ec2.internal"
	}
	return "ip-" + strings.ReplaceAll(a.String(), ".", "-") + "." + domain
}

func xmlTags(tags []Tag) xItems[xTag] {
	out := make([]xTag, 0, len(tags))
	for _, t := range tags {
		out = append(out, xTag(t))
	}
	return xmlSet(out)
}

func xmlGroups(ids []string) xItems[xGroup] {
	out := make([]xGroup, 0, len(ids))
	for _, id := range ids {
		out = append(out, xGroup{GroupID: id})
	}
	return xmlSet(out)
}

func xmlPrefixes(ps []netip.Prefix) xItems[xPrefix] {
	out := make([]xPrefix, 0, len(ps))
	for _, p := range ps {
		out = append(out, xPrefix{Ipv4Prefix: p.String()})
	}
	return xmlSet(out)
}

// eni converts an ENI as DescribeNetworkInterfaces and
// CreateNetworkInterface write it.
func (v xmlView) eni(e ENI) xENI {
	f := false
	tags := xmlTags(e.Tags)
	out := xENI{
		NetworkInterfaceID: e.ID, SubnetID: e.SubnetID, VpcID: e.VPCID,
		AvailabilityZone: e.AZ, Description: e.Description, OwnerID: e.OwnerID,
		RequesterManaged: &f, Status: e.Status, MacAddress: e.MAC,
		PrivateIPAddress: addrString(e.PrimaryIP), PrivateDNSName: v.dnsName(e.PrimaryIP),
		SourceDestCheck: e.SourceDestCheck, GroupSet: xmlGroups(e.SecurityGroups),
		TagSet: &tags, PrivateIPAddressesSet: v.privateIPs(e),
		Ipv6AddressesSet: &xItems[xAddress]{}, InterfaceType: "interface", Ipv6Native: &f,
	}
	if out.OwnerID == "" {
		out.OwnerID = v.account
	}
	if len(e.Prefixes) > 0 {
		ps := xmlPrefixes(e.Prefixes)
		out.Ipv4PrefixSet = &ps
	}
	if a := e.Attachment; a != nil {
		out.Attachment = &xAttachment{
			AttachmentID: a.ID, InstanceID: a.InstanceID, InstanceOwnerID: v.account,
			DeviceIndex: a.DeviceIndex, NetworkCardIndex: a.NetworkCardIndex, Status: a.Status,
			AttachTime: xmlTime(a.AttachTime), DeleteOnTermination: a.DeleteOnTermination,
		}
	}
	return out
}

// instanceENI converts an ENI as DescribeInstances nests it in an instance.
func (v xmlView) instanceENI(e ENI) xENI {
	out := v.eni(e)
	out.AvailabilityZone, out.RequesterManaged, out.TagSet = "", nil, nil
	out.Ipv6AddressesSet, out.Ipv6Native = nil, nil
	if out.Attachment != nil {
		out.Attachment.InstanceID, out.Attachment.InstanceOwnerID = "", ""
	}
	return out
}

// privateIPs lists the primary address first, then the secondaries.
func (v xmlView) privateIPs(e ENI) xItems[xPrivateIP] {
	out := make([]xPrivateIP, 0, 1+len(e.SecondaryIPs))
	if e.PrimaryIP.IsValid() {
		out = append(out, xPrivateIP{PrivateIPAddress: e.PrimaryIP.String(), PrivateDNSName: v.dnsName(e.PrimaryIP), Primary: true})
	}
	for _, a := range e.SecondaryIPs {
		out = append(out, xPrivateIP{PrivateIPAddress: a.String(), PrivateDNSName: v.dnsName(a)})
	}
	return xmlSet(out)
}

func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

type xPrivateDNSOptions struct {
	HostnameType                    string `xml:"hostnameType"`
	EnableResourceNameDNSARecord    bool   `xml:"enableResourceNameDnsARecord"`
	EnableResourceNameDNSAAAARecord bool   `xml:"enableResourceNameDnsAAAARecord"`
}

type xSubnet struct {
	SubnetID                    string             `xml:"subnetId"`
	SubnetArn                   string             `xml:"subnetArn"`
	State                       string             `xml:"state"`
	VpcID                       string             `xml:"vpcId"`
	OwnerID                     string             `xml:"ownerId"`
	CidrBlock                   string             `xml:"cidrBlock"`
	Ipv6CidrBlockAssociationSet xItems[xEmpty]     `xml:"ipv6CidrBlockAssociationSet"`
	AvailableIPAddressCount     int                `xml:"availableIpAddressCount"`
	AvailabilityZone            string             `xml:"availabilityZone"`
	DefaultForAz                bool               `xml:"defaultForAz"`
	MapPublicIPOnLaunch         bool               `xml:"mapPublicIpOnLaunch"`
	MapCustomerOwnedIPOnLaunch  bool               `xml:"mapCustomerOwnedIpOnLaunch"`
	AssignIpv6AddressOnCreation bool               `xml:"assignIpv6AddressOnCreation"`
	TagSet                      xItems[xTag]       `xml:"tagSet"`
	EnableDNS64                 bool               `xml:"enableDns64"`
	Ipv6Native                  bool               `xml:"ipv6Native"`
	PrivateDNSNameOptions       xPrivateDNSOptions `xml:"privateDnsNameOptionsOnLaunch"`
}

func (v xmlView) subnet(s Subnet) xSubnet {
	return xSubnet{
		SubnetID: s.ID, SubnetArn: v.arn("subnet", s.ID), State: "available", VpcID: s.VPCID,
		OwnerID: v.account, CidrBlock: s.CIDR.String(), AvailableIPAddressCount: s.AvailableIPs,
		AvailabilityZone: s.AZ, TagSet: xmlTags(s.Tags),
		PrivateDNSNameOptions: xPrivateDNSOptions{HostnameType: "ip-name"},
	}
}

func (v xmlView) arn(kind, id string) string {
	return "arn:aws:ec2:" + v.region + ":" + v.account + ":" + kind + "/" + id
}

type xCidrState struct {
	State string `xml:"state"`
}

type xCidrAssoc struct {
	AssociationID  string     `xml:"associationId"`
	CidrBlock      string     `xml:"cidrBlock"`
	CidrBlockState xCidrState `xml:"cidrBlockState"`
}

type xVPC struct {
	VpcID                   string             `xml:"vpcId"`
	OwnerID                 string             `xml:"ownerId"`
	State                   string             `xml:"state"`
	CidrBlock               string             `xml:"cidrBlock"`
	CidrBlockAssociationSet xItems[xCidrAssoc] `xml:"cidrBlockAssociationSet"`
	DhcpOptionsID           string             `xml:"dhcpOptionsId"`
	TagSet                  xItems[xTag]       `xml:"tagSet"`
	InstanceTenancy         string             `xml:"instanceTenancy"`
	IsDefault               bool               `xml:"isDefault"`
}

func (v xmlView) vpc(vpc VPC) xVPC {
	out := xVPC{
		VpcID: vpc.ID, OwnerID: v.account, State: "available", DhcpOptionsID: "default",
		TagSet: xmlTags(vpc.Tags), InstanceTenancy: "default",
	}
	assocs := make([]xCidrAssoc, 0, len(vpc.CIDRs))
	for i, c := range vpc.CIDRs {
		if i == 0 {
			out.CidrBlock = c.String()
		}
		assocs = append(assocs, xCidrAssoc{
			AssociationID: "vpc-cidr-assoc-" + shortHash(vpc.ID+"/"+c.String()),
			CidrBlock:     c.String(), CidrBlockState: xCidrState{State: "associated"},
		})
	}
	out.CidrBlockAssociationSet = xmlSet(assocs)
	return out
}

// shortHash derives a stable 17-hex-digit id suffix from a string.
func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:17]
}
