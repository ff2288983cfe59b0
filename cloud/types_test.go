package cloud

import (
	"net/netip"
	"testing"
)

func TestENIDeviceIndex(t *testing.T) {
	if got := (ENI{}).DeviceIndex(); got != -1 {
		t.Errorf("detached DeviceIndex() = %d, want -1", got)
	}
	e := ENI{Attachment: &Attachment{DeviceIndex: 2}}
	if got := e.DeviceIndex(); got != 2 {
		t.Errorf("DeviceIndex() = %d, want 2", got)
	}
}

func TestENIMetadataHelpers(t *testing.T) {
	a, b, c := netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("10.0.0.6"), netip.MustParseAddr("10.0.0.7")
	p := netip.MustParsePrefix("10.0.0.16/28")
	m := ENIMetadata{IPv4s: []netip.Addr{a, b}, Prefixes: []netip.Prefix{p}}
	tests := []struct {
		name string
		got  bool
		want bool
	}{
		{"has primary and secondary", m.HasIPs([]netip.Addr{a, b}), true},
		{"missing one", m.HasIPs([]netip.Addr{b, c}), false},
		{"nothing asked", m.HasIPs(nil), true},
		{"has prefix", m.HasPrefixes([]netip.Prefix{p}), true},
		{"missing prefix", m.HasPrefixes([]netip.Prefix{netip.MustParsePrefix("10.0.0.32/28")}), false},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	if m.PrimaryIP() != a {
		t.Errorf("PrimaryIP() = %v, want %v", m.PrimaryIP(), a)
	}
	if (ENIMetadata{}).PrimaryIP().IsValid() {
		t.Error("PrimaryIP() of no addresses is valid")
	}
}

func TestENIsOnCard(t *testing.T) {
	l := InstanceTypeLimits{NetworkCards: []NetworkCard{{Index: 0, MaxENIs: 4}, {Index: 1, MaxENIs: 2}}}
	for idx, want := range map[int]int{0: 4, 1: 2, 2: 0, -1: 0} {
		if got := l.ENIsOnCard(idx); got != want {
			t.Errorf("ENIsOnCard(%d) = %d, want %d", idx, got, want)
		}
	}
}
