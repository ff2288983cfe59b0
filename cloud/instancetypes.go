package cloud

import (
	"maps"
	"slices"
)

// builtinTypes is the built-in table of instance-type networking limits,
// written from the public EC2 documentation's figures. It is what ec2sim
// serves and what the max-pods calculator falls back to when the EC2 API is
// not reachable.
//
// Each row is one constructor call: name, ENIs, IPv4 addresses per ENI
// (the primary included), vCPUs and memory. IPv6 addresses per ENI equal
// the IPv4 figure for every type listed here. MaxENIs counts every network
// card: a multi-card type lists the ENIs each card takes.
var builtinRows = []InstanceTypeLimits{
	// Burstable, Nitro: t3, t3a (AMD), t4g (Graviton2).
	nitro("t3.nano", 2, 2, 2, gib(0.5)),
	nitro("t3.micro", 2, 2, 2, gib(1)),
	nitro("t3.small", 3, 4, 2, gib(2)),
	nitro("t3.medium", 3, 6, 2, gib(4)),
	nitro("t3.large", 3, 12, 2, gib(8)),
	nitro("t3.xlarge", 4, 15, 4, gib(16)),
	nitro("t3.2xlarge", 4, 15, 8, gib(32)),
	nitro("t3a.nano", 2, 2, 2, gib(0.5)),
	nitro("t3a.micro", 2, 2, 2, gib(1)),
	nitro("t3a.small", 2, 4, 2, gib(2)),
	nitro("t3a.medium", 3, 6, 2, gib(4)),
	nitro("t3a.large", 3, 12, 2, gib(8)),
	nitro("t3a.xlarge", 4, 15, 4, gib(16)),
	nitro("t3a.2xlarge", 4, 15, 8, gib(32)),
	nitro("t4g.micro", 2, 2, 2, gib(1)),
	nitro("t4g.small", 3, 4, 2, gib(2)),
	nitro("t4g.medium", 3, 6, 2, gib(4)),
	nitro("t4g.large", 3, 12, 2, gib(8)),

	// General purpose, Nitro: m5, m6i, m7i; m5.metal is bare metal.
	nitro("m5.large", 3, 10, 2, gib(8)),
	nitro("m5.xlarge", 4, 15, 4, gib(16)),
	nitro("m5.2xlarge", 4, 15, 8, gib(32)),
	nitro("m5.4xlarge", 8, 30, 16, gib(64)),
	nitro("m5.8xlarge", 8, 30, 32, gib(128)),
	nitro("m5.12xlarge", 8, 30, 48, gib(192)),
	nitro("m5.16xlarge", 15, 50, 64, gib(256)),
	nitro("m5.24xlarge", 15, 50, 96, gib(384)),
	metal("m5.metal", "", 15, 50, 96, gib(384)),
	nitro("m6i.large", 3, 10, 2, gib(8)),
	nitro("m6i.xlarge", 4, 15, 4, gib(16)),
	nitro("m6i.2xlarge", 4, 15, 8, gib(32)),
	nitro("m6i.4xlarge", 8, 30, 16, gib(64)),
	nitro("m6i.8xlarge", 8, 30, 32, gib(128)),
	nitro("m6i.16xlarge", 15, 50, 64, gib(256)),
	nitro("m6i.32xlarge", 15, 50, 128, gib(512)),
	nitro("m7i.large", 3, 10, 2, gib(8)),
	nitro("m7i.xlarge", 4, 15, 4, gib(16)),
	nitro("m7i.2xlarge", 4, 15, 8, gib(32)),
	nitro("m7i.8xlarge", 8, 30, 32, gib(128)),
	nitro("m7i.48xlarge", 15, 50, 192, gib(768)),

	// Compute optimized, Nitro: c5, c6i; c6in.32xlarge has two cards.
	nitro("c5.large", 3, 10, 2, gib(4)),
	nitro("c5.xlarge", 4, 15, 4, gib(8)),
	nitro("c5.2xlarge", 4, 15, 8, gib(16)),
	nitro("c5.4xlarge", 8, 30, 16, gib(32)),
	nitro("c5.9xlarge", 8, 30, 36, gib(72)),
	nitro("c5.18xlarge", 15, 50, 72, gib(144)),
	nitro("c5.24xlarge", 15, 50, 96, gib(192)),
	nitro("c6i.large", 3, 10, 2, gib(4)),
	nitro("c6i.xlarge", 4, 15, 4, gib(8)),
	nitro("c6i.4xlarge", 8, 30, 16, gib(32)),
	nitro("c6i.16xlarge", 15, 50, 64, gib(128)),
	nitro("c6i.32xlarge", 15, 50, 128, gib(256)),
	multiCard("c6in.32xlarge", 50, 128, gib(256), 8, 8),

	// Memory optimized, Nitro: r5, r6i.
	nitro("r5.large", 3, 10, 2, gib(16)),
	nitro("r5.xlarge", 4, 15, 4, gib(32)),
	nitro("r5.4xlarge", 8, 30, 16, gib(128)),
	nitro("r5.24xlarge", 15, 50, 96, gib(768)),
	nitro("r6i.large", 3, 10, 2, gib(16)),
	nitro("r6i.2xlarge", 4, 15, 8, gib(64)),
	nitro("r6i.32xlarge", 15, 50, 128, gib(1024)),

	// Graviton, Nitro; c7g.metal reports the nitro hypervisor although it
	// is bare metal.
	nitro("m6g.medium", 2, 4, 1, gib(4)),
	nitro("m6g.large", 3, 10, 2, gib(8)),
	nitro("m6g.xlarge", 4, 15, 4, gib(16)),
	nitro("c6g.medium", 2, 4, 1, gib(2)),
	nitro("c6g.large", 3, 10, 2, gib(4)),
	nitro("m7g.large", 3, 10, 2, gib(8)),
	nitro("m7g.xlarge", 4, 15, 4, gib(16)),
	nitro("c7g.large", 3, 10, 2, gib(4)),
	nitro("c7g.2xlarge", 4, 15, 8, gib(16)),
	metal("c7g.metal", HypervisorNitro, 15, 50, 64, gib(128)),

	// Accelerated, Nitro: four network cards.
	multiCard("p4d.24xlarge", 50, 96, gib(1152), 15, 15, 15, 15),

	// Previous generation, Xen: no prefix delegation.
	xen("t2.micro", 2, 2, 1, gib(1)),
	xen("t2.medium", 3, 6, 2, gib(4)),
	xen("t2.large", 3, 12, 2, gib(8)),
	xen("m4.large", 2, 10, 2, gib(8)),
	xen("m4.xlarge", 4, 15, 4, gib(16)),
	xen("c4.large", 3, 10, 2, gib(3.75)),
	xen("c4.xlarge", 4, 15, 4, gib(7.5)),
	xen("r4.large", 3, 10, 2, gib(15.25)),
}

// builtinTypes indexes builtinRows by type name.
var builtinTypes = table(builtinRows)

// table indexes rows by type name.
func table(rows []InstanceTypeLimits) map[string]InstanceTypeLimits {
	m := make(map[string]InstanceTypeLimits, len(rows))
	for _, r := range rows {
		m[r.Type] = r
	}
	return m
}

// gib converts GiB to MiB; every figure in the table is a whole number of
// MiB.
func gib(g float64) int { return int(g * 1024) }

// oneCard builds a type with a single network card (index 0).
func oneCard(name, hypervisor string, enis, ipv4, vcpus, memMiB int) InstanceTypeLimits {
	return InstanceTypeLimits{
		Type: name, MaxENIs: enis, IPv4PerENI: ipv4, IPv6PerENI: ipv4,
		NetworkCards: []NetworkCard{{Index: 0, MaxENIs: enis}},
		Hypervisor:   hypervisor, VCPUs: vcpus, MemoryMiB: memMiB,
	}
}

// nitro is a Nitro type with one network card.
func nitro(name string, enis, ipv4, vcpus, memMiB int) InstanceTypeLimits {
	return oneCard(name, HypervisorNitro, enis, ipv4, vcpus, memMiB)
}

// xen is a Xen type with one network card.
func xen(name string, enis, ipv4, vcpus, memMiB int) InstanceTypeLimits {
	return oneCard(name, HypervisorXen, enis, ipv4, vcpus, memMiB)
}

// metal is a bare-metal type with one network card; most report no
// hypervisor.
func metal(name, hypervisor string, enis, ipv4, vcpus, memMiB int) InstanceTypeLimits {
	l := oneCard(name, hypervisor, enis, ipv4, vcpus, memMiB)
	l.BareMetal = true
	return l
}

// multiCard is a Nitro type with one network card per entry of cardENIs
// (indexes 0, 1, ...), the default card being 0.
func multiCard(name string, ipv4, vcpus, memMiB int, cardENIs ...int) InstanceTypeLimits {
	l := nitro(name, 0, ipv4, vcpus, memMiB)
	l.NetworkCards = make([]NetworkCard, len(cardENIs))
	for i, n := range cardENIs {
		l.NetworkCards[i] = NetworkCard{Index: i, MaxENIs: n}
		l.MaxENIs += n
	}
	return l
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
