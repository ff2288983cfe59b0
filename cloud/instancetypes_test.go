package cloud

import (
	"slices"
	"testing"
)

func TestBuiltinSpotChecks(t *testing.T) {
	tests := []struct {
		name         string
		enis, ipv4   int
		vcpus        int
		memMiB       int
		cards        int
		prefixes     bool
		bareMetal    bool
		hypervisor   string
		card0, card1 int
	}{
		{"m5.large", 3, 10, 2, 8192, 1, true, false, HypervisorNitro, 3, 0},
		{"t3.medium", 3, 6, 2, 4096, 1, true, false, HypervisorNitro, 3, 0},
		{"c5.4xlarge", 8, 30, 16, 32768, 1, true, false, HypervisorNitro, 8, 0},
		{"m5.24xlarge", 15, 50, 96, 393216, 1, true, false, HypervisorNitro, 15, 0},
		{"m6i.32xlarge", 15, 50, 128, 524288, 1, true, false, HypervisorNitro, 15, 0},
		{"t3a.small", 2, 4, 2, 2048, 1, true, false, HypervisorNitro, 2, 0},
		{"m5.metal", 15, 50, 96, 393216, 1, true, true, "", 15, 0},
		{"c7g.metal", 15, 50, 64, 131072, 1, true, true, HypervisorNitro, 15, 0},
		{"c6in.32xlarge", 16, 50, 128, 262144, 2, true, false, HypervisorNitro, 8, 8},
		{"p4d.24xlarge", 60, 50, 96, 1179648, 4, true, false, HypervisorNitro, 15, 15},
		{"t2.medium", 3, 6, 2, 4096, 1, false, false, HypervisorXen, 3, 0},
		{"m4.large", 2, 10, 2, 8192, 1, false, false, HypervisorXen, 2, 0},
		{"c4.large", 3, 10, 2, 3840, 1, false, false, HypervisorXen, 3, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, ok := BuiltinInstanceType(tt.name)
			if !ok {
				t.Fatalf("%s not in the built-in table", tt.name)
			}
			if l.MaxENIs != tt.enis || l.IPv4PerENI != tt.ipv4 {
				t.Errorf("limits = %d ENIs x %d IPv4, want %d x %d", l.MaxENIs, l.IPv4PerENI, tt.enis, tt.ipv4)
			}
			if l.VCPUs != tt.vcpus || l.MemoryMiB != tt.memMiB {
				t.Errorf("size = %d vCPUs %d MiB, want %d, %d", l.VCPUs, l.MemoryMiB, tt.vcpus, tt.memMiB)
			}
			if len(l.NetworkCards) != tt.cards {
				t.Errorf("network cards = %d, want %d", len(l.NetworkCards), tt.cards)
			}
			if got := l.ENIsOnCard(0); got != tt.card0 {
				t.Errorf("ENIsOnCard(0) = %d, want %d", got, tt.card0)
			}
			if got := l.ENIsOnCard(1); got != tt.card1 {
				t.Errorf("ENIsOnCard(1) = %d, want %d", got, tt.card1)
			}
			if l.PrefixDelegation() != tt.prefixes {
				t.Errorf("PrefixDelegation() = %v, want %v", l.PrefixDelegation(), tt.prefixes)
			}
			if l.BareMetal != tt.bareMetal || l.Hypervisor != tt.hypervisor {
				t.Errorf("bare metal %v hypervisor %q, want %v %q", l.BareMetal, l.Hypervisor, tt.bareMetal, tt.hypervisor)
			}
		})
	}
}

func TestBuiltinTableConsistent(t *testing.T) {
	if len(builtinTypes) != len(builtinRows) {
		t.Fatalf("%d rows but %d distinct names: a type is listed twice", len(builtinRows), len(builtinTypes))
	}
	if len(builtinTypes) < 40 {
		t.Errorf("built-in table has %d types, want at least 40", len(builtinTypes))
	}
	for name, l := range builtinTypes {
		if l.Type != name {
			t.Errorf("%s: Type = %q", name, l.Type)
		}
		sum := 0
		for _, c := range l.NetworkCards {
			sum += c.MaxENIs
		}
		if sum != l.MaxENIs {
			t.Errorf("%s: cards take %d ENIs, MaxENIs = %d", name, sum, l.MaxENIs)
		}
		if l.ENIsOnCard(l.DefaultNetworkCard) == 0 {
			t.Errorf("%s: default card %d missing", name, l.DefaultNetworkCard)
		}
		if l.IPv4PerENI < 2 || l.IPv6PerENI < 1 || l.MaxENIs < 2 {
			t.Errorf("%s: implausible limits %+v", name, l)
		}
		if l.VCPUs < 1 || l.MemoryMiB < 512 {
			t.Errorf("%s: implausible size %d vCPUs %d MiB", name, l.VCPUs, l.MemoryMiB)
		}
		switch {
		case l.Hypervisor == HypervisorXen && (l.PrefixDelegation() || l.BareMetal):
			t.Errorf("%s: Xen type claims prefix delegation or bare metal", name)
		case l.Hypervisor == HypervisorNitro && !l.PrefixDelegation():
			t.Errorf("%s: Nitro type without prefix delegation", name)
		case l.Hypervisor == "" && !l.BareMetal:
			t.Errorf("%s: no hypervisor but not bare metal", name)
		case l.Hypervisor != HypervisorNitro && l.Hypervisor != HypervisorXen && l.Hypervisor != "":
			t.Errorf("%s: unknown hypervisor %q", name, l.Hypervisor)
		}
	}
}

func TestPrefixDelegation(t *testing.T) {
	tests := []struct {
		hypervisor string
		bareMetal  bool
		want       bool
	}{
		{HypervisorNitro, false, true},
		{HypervisorNitro, true, true},
		{"", true, true},
		{HypervisorXen, false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		l := InstanceTypeLimits{Hypervisor: tt.hypervisor, BareMetal: tt.bareMetal}
		if got := l.PrefixDelegation(); got != tt.want {
			t.Errorf("PrefixDelegation(%q, metal %v) = %v, want %v", tt.hypervisor, tt.bareMetal, got, tt.want)
		}
	}
}

func TestBuiltinInstanceTypeIsolated(t *testing.T) {
	l, _ := BuiltinInstanceType("c6in.32xlarge")
	l.NetworkCards[0].MaxENIs = 99
	again, _ := BuiltinInstanceType("c6in.32xlarge")
	if again.NetworkCards[0].MaxENIs != 8 {
		t.Fatalf("caller's change leaked into the table: %+v", again.NetworkCards)
	}
	if _, ok := BuiltinInstanceType("x9.nonexistent"); ok {
		t.Fatal("unknown type reported as known")
	}
}

func TestBuiltinInstanceTypeNames(t *testing.T) {
	names := BuiltinInstanceTypeNames()
	if len(names) != len(builtinTypes) || !slices.IsSorted(names) {
		t.Fatalf("names not the sorted table keys: %v", names)
	}
	for _, n := range names {
		if _, ok := BuiltinInstanceType(n); !ok {
			t.Errorf("listed name %s not found", n)
		}
	}
}
