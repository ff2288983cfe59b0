package sim

import (
	"strings"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// The XML shapes of DescribeInstances and DescribeInstanceTypes.

type xInstanceState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

// instanceStateCodes are EC2's numeric instance states.
var instanceStateCodes = map[string]int{
	"pending": 0, "running": 16, "shutting-down": 32, "terminated": 48, "stopping": 64, "stopped": 80,
}

type xPlacement struct {
	AvailabilityZone string `xml:"availabilityZone"`
	GroupName        string `xml:"groupName"`
	Tenancy          string `xml:"tenancy"`
}

type xMonitoring struct {
	State string `xml:"state"`
}

type xInstance struct {
	InstanceID          string         `xml:"instanceId"`
	InstanceState       xInstanceState `xml:"instanceState"`
	PrivateDNSName      string         `xml:"privateDnsName"`
	DNSName             string         `xml:"dnsName"`
	AmiLaunchIndex      int            `xml:"amiLaunchIndex"`
	InstanceType        string         `xml:"instanceType"`
	LaunchTime          string         `xml:"launchTime"`
	Placement           xPlacement     `xml:"placement"`
	Monitoring          xMonitoring    `xml:"monitoring"`
	SubnetID            string         `xml:"subnetId,omitempty"`
	VpcID               string         `xml:"vpcId,omitempty"`
	PrivateIPAddress    string         `xml:"privateIpAddress,omitempty"`
	SourceDestCheck     bool           `xml:"sourceDestCheck"`
	GroupSet            xItems[xGroup] `xml:"groupSet"`
	Architecture        string         `xml:"architecture"`
	RootDeviceType      string         `xml:"rootDeviceType"`
	VirtualizationType  string         `xml:"virtualizationType"`
	TagSet              *xItems[xTag]  `xml:"tagSet,omitempty"`
	Hypervisor          string         `xml:"hypervisor"`
	NetworkInterfaceSet xItems[xENI]   `xml:"networkInterfaceSet"`
	EbsOptimized        bool           `xml:"ebsOptimized"`
	EnaSupport          bool           `xml:"enaSupport"`
}

type xReservation struct {
	ReservationID string            `xml:"reservationId"`
	OwnerID       string            `xml:"ownerId"`
	GroupSet      xItems[xGroup]    `xml:"groupSet"`
	InstancesSet  xItems[xInstance] `xml:"instancesSet"`
}

// reservation converts an instance, with its attached ENIs, into the
// reservation EC2 would have made when launching it alone.
func (v xmlView) reservation(in Instance, enis []ENI) xReservation {
	xi := xInstance{
		InstanceID:     in.ID,
		InstanceState:  xInstanceState{Code: instanceStateCodes[in.State], Name: in.State},
		PrivateDNSName: v.dnsName(in.PrimaryIP), InstanceType: in.Type,
		LaunchTime: xmlTime(in.LaunchTime),
		Placement:  xPlacement{AvailabilityZone: in.AZ, Tenancy: "default"},
		Monitoring: xMonitoring{State: "disabled"}, SubnetID: in.SubnetID, VpcID: in.VPCID,
		PrivateIPAddress: addrString(in.PrimaryIP), SourceDestCheck: true,
		GroupSet: xmlGroups(in.SecurityGroups), Architecture: cloud.Architecture(in.Type), RootDeviceType: "ebs",
		VirtualizationType: "hvm", Hypervisor: "xen", EbsOptimized: true, EnaSupport: true,
	}
	if len(in.Tags) > 0 {
		tags := xmlTags(in.Tags)
		xi.TagSet = &tags
	}
	if in.State == "terminated" {
		xi.PrivateDNSName, xi.PrivateIPAddress, xi.SubnetID, xi.VpcID = "", "", "", ""
	}
	nics := make([]xENI, 0, len(enis))
	for _, e := range enis {
		nics = append(nics, v.instanceENI(e))
	}
	xi.NetworkInterfaceSet = xmlSet(nics)
	return xReservation{
		ReservationID: "r-" + shortHash("reservation/"+in.ID),
		OwnerID:       v.account, GroupSet: xmlSet([]xGroup{}), InstancesSet: xmlSet([]xInstance{xi}),
	}
}

type xNetworkCard struct {
	NetworkCardIndex         int `xml:"networkCardIndex"`
	MaximumNetworkInterfaces int `xml:"maximumNetworkInterfaces"`
}

type xNetworkInfo struct {
	MaximumNetworkInterfaces     int                  `xml:"maximumNetworkInterfaces"`
	MaximumNetworkCards          int                  `xml:"maximumNetworkCards"`
	DefaultNetworkCardIndex      int                  `xml:"defaultNetworkCardIndex"`
	NetworkCards                 xItems[xNetworkCard] `xml:"networkCards"`
	Ipv4AddressesPerInterface    int                  `xml:"ipv4AddressesPerInterface"`
	Ipv6AddressesPerInterface    int                  `xml:"ipv6AddressesPerInterface"`
	Ipv6Supported                bool                 `xml:"ipv6Supported"`
	EnaSupport                   string               `xml:"enaSupport"`
	EfaSupported                 bool                 `xml:"efaSupported"`
	EncryptionInTransitSupported bool                 `xml:"encryptionInTransitSupported"`
}

type xVCPUInfo struct {
	DefaultVCpus int `xml:"defaultVCpus"`
}

type xMemoryInfo struct {
	SizeInMiB int `xml:"sizeInMiB"`
}

type xProcessorInfo struct {
	SupportedArchitectures xItems[string] `xml:"supportedArchitectures"`
}

type xInstanceType struct {
	InstanceType                  string         `xml:"instanceType"`
	CurrentGeneration             bool           `xml:"currentGeneration"`
	FreeTierEligible              bool           `xml:"freeTierEligible"`
	SupportedUsageClasses         xItems[string] `xml:"supportedUsageClasses"`
	SupportedRootDeviceTypes      xItems[string] `xml:"supportedRootDeviceTypes"`
	SupportedVirtualizationTypes  xItems[string] `xml:"supportedVirtualizationTypes"`
	BareMetal                     bool           `xml:"bareMetal"`
	Hypervisor                    string         `xml:"hypervisor,omitempty"`
	ProcessorInfo                 xProcessorInfo `xml:"processorInfo"`
	VCPUInfo                      xVCPUInfo      `xml:"vCpuInfo"`
	MemoryInfo                    xMemoryInfo    `xml:"memoryInfo"`
	InstanceStorageSupported      bool           `xml:"instanceStorageSupported"`
	NetworkInfo                   xNetworkInfo   `xml:"networkInfo"`
	HibernationSupported          bool           `xml:"hibernationSupported"`
	BurstablePerformanceSupported bool           `xml:"burstablePerformanceSupported"`
	DedicatedHostsSupported       bool           `xml:"dedicatedHostsSupported"`
	AutoRecoverySupported         bool           `xml:"autoRecoverySupported"`
	SupportedBootModes            xItems[string] `xml:"supportedBootModes"`
}

// instanceTypeXML converts built-in limits into DescribeInstanceTypes' item.
func instanceTypeXML(l cloud.InstanceTypeLimits) xInstanceType {
	cards := make([]xNetworkCard, 0, len(l.NetworkCards))
	for _, c := range l.NetworkCards {
		cards = append(cards, xNetworkCard{NetworkCardIndex: c.Index, MaximumNetworkInterfaces: c.MaxENIs})
	}
	virt := []string{"hvm"}
	return xInstanceType{
		InstanceType: l.Type, CurrentGeneration: true,
		SupportedUsageClasses:        xmlSet([]string{"on-demand", "spot"}),
		SupportedRootDeviceTypes:     xmlSet([]string{"ebs"}),
		SupportedVirtualizationTypes: xmlSet(virt),
		BareMetal:                    l.BareMetal, Hypervisor: l.Hypervisor,
		ProcessorInfo: xProcessorInfo{SupportedArchitectures: xmlSet([]string{cloud.Architecture(l.Type)})},
		VCPUInfo:      xVCPUInfo{DefaultVCpus: l.VCPUs},
		MemoryInfo:    xMemoryInfo{SizeInMiB: l.MemoryMiB},
		NetworkInfo: xNetworkInfo{
			MaximumNetworkInterfaces: l.MaxENIs, MaximumNetworkCards: max(1, len(l.NetworkCards)),
			DefaultNetworkCardIndex: l.DefaultNetworkCard, NetworkCards: xmlSet(cards),
			Ipv4AddressesPerInterface: l.IPv4PerENI, Ipv6AddressesPerInterface: l.IPv6PerENI,
			Ipv6Supported: l.IPv6PerENI > 0, EnaSupport: "required",
			EncryptionInTransitSupported: l.Hypervisor == cloud.HypervisorNitro,
		},
		BurstablePerformanceSupported: strings.HasPrefix(l.Type, "t"),
		DedicatedHostsSupported:       !strings.HasPrefix(l.Type, "t"),
		AutoRecoverySupported:         true,
		SupportedBootModes:            xmlSet([]string{"legacy-bios", "uefi"}),
	}
}
