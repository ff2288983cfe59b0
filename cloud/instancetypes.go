package cloud

import (
	"maps"
	"slices"
)

// builtinTypes is the built-in table of instance-type networking limits,
// written from the public EC2 documentation's figures. It is what ec2sim
// serves and what the max-pods calculator falls back to when the EC2 API is
// not reachable.
var builtinTypes = map[string]InstanceTypeLimits{
	"m5.large":    nitro("m5.large", 3, 10, 10, 2, 8192),
	"t3.medium":   nitro("t3.medium", 3, 6, 6, 2, 4096),
	"c5.4xlarge":  nitro("c5.4xlarge", 8, 30, 30, 16, 32768),
	"m5.24xlarge": nitro("m5.24xlarge", 15, 50, 50, 96, 393216),
}

// nitro is a Nitro type with one network card.
func nitro(name string, enis, ipv4, ipv6, vcpus, memMiB int) InstanceTypeLimits {
	return InstanceTypeLimits{
		Type: name, MaxENIs: enis, IPv4PerENI: ipv4, IPv6PerENI: ipv6,
		NetworkCards: []NetworkCard{{Index: 0, MaxENIs: enis}},
		Hypervisor:   HypervisorNitro, VCPUs: vcpus, MemoryMiB: memMiB,
	}
}

// BuiltinInstanceType returns the built-in limits of an instance type.
func BuiltinInstanceType(name string) (InstanceTypeLimits, bool) {
	l, ok := builtinTypes[name]
	if !ok {
		return InstanceTypeLimits{}, false
	}
	l.NetworkCards = slices.Clone(l.NetworkCards)
	return l, true
}

// BuiltinInstanceTypeNames lists the types of the built-in table, sorted.
func BuiltinInstanceTypeNames() []string {
	return slices.Sorted(maps.Keys(builtinTypes))
}
