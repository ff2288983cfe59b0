package hostnet

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
)

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }
func addr(s string) netip.Addr  { return netip.MustParseAddr(s) }

func goodENI() ENI {
	return ENI{MAC: "02:00:00:00:01:01", DeviceIndex: 1, RouteTable: 2,
		PrimaryIP: addr("198.18.1.20"), SubnetCIDR: pfx("198.18.1.0/24"), MTU: 9001}
}

func goodSNAT() SNAT {
	return SNAT{PrimaryMAC: "02:00:00:00:00:01", PrimaryIP: addr("198.18.0.10"),
		VPCCIDRs: []netip.Prefix{pfx("198.18.0.0/16")}, Random: SNATRandomPRNG, VethPrefix: "eni"}
}

func TestGateway(t *testing.T) {
	for _, tc := range []struct{ subnet, want string }{
		{"198.18.1.0/24", "198.18.1.1"},
		{"198.18.1.77/24", "198.18.1.1"}, // not masked
		{"198.18.4.0/22", "198.18.4.1"},
		{"198.18.0.16/28", "198.18.0.17"},
	} {
		if got := Gateway(pfx(tc.subnet)); got != addr(tc.want) {
			t.Errorf("Gateway(%s) = %s, want %s", tc.subnet, got, tc.want)
		}
	}
}

func TestValidateENI(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*ENI)
		ok   bool
	}{
		{"good", func(*ENI) {}, true},
		{"mtu 0 keeps the link's", func(e *ENI) { e.MTU = 0 }, true},
		{"table above 255", func(e *ENI) { e.RouteTable = 1001 }, true},
		{"bad mac", func(e *ENI) { e.MAC = "eth1" }, false},
		{"table 0", func(e *ENI) { e.RouteTable = 0 }, false},
		{"table main", func(e *ENI) { e.RouteTable = 254 }, false},
		{"table local", func(e *ENI) { e.RouteTable = 255 }, false},
		{"table default", func(e *ENI) { e.RouteTable = 253 }, false},
		{"no subnet", func(e *ENI) { e.SubnetCIDR = netip.Prefix{} }, false},
		{"subnet /31", func(e *ENI) { e.SubnetCIDR = pfx("198.18.1.20/31") }, false},
		{"ipv6 subnet", func(e *ENI) { e.SubnetCIDR = pfx("2001:db8::/64") }, false},
		{"ip outside subnet", func(e *ENI) { e.PrimaryIP = addr("198.18.2.20") }, false},
		{"ip is the gateway", func(e *ENI) { e.PrimaryIP = addr("198.18.1.1") }, false},
		{"mtu too small", func(e *ENI) { e.MTU = 20 }, false},
		{"mtu negative", func(e *ENI) { e.MTU = -1 }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := goodENI()
			tc.edit(&e)
			err := ValidateENI(e)
			if tc.ok != (err == nil) {
				t.Fatalf("ValidateENI = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestValidateSNAT(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*SNAT)
		ok   bool
	}{
		{"good", func(*SNAT) {}, true},
		{"random unset is prng", func(s *SNAT) { s.Random = "" }, true},
		{"external needs nothing", func(s *SNAT) { *s = SNAT{External: true} }, true},
		{"bad mac", func(s *SNAT) { s.PrimaryMAC = "" }, false},
		{"no primary ip", func(s *SNAT) { s.PrimaryIP = netip.Addr{} }, false},
		{"ipv6 primary ip", func(s *SNAT) { s.PrimaryIP = addr("2001:db8::1") }, false},
		{"no vpc cidrs", func(s *SNAT) { s.VPCCIDRs = nil }, false},
		{"ipv6 exclude", func(s *SNAT) { s.Exclude = []netip.Prefix{pfx("2001:db8::/32")} }, false},
		{"invalid exclude", func(s *SNAT) { s.Exclude = []netip.Prefix{{}} }, false},
		{"unknown random", func(s *SNAT) { s.Random = "fully" }, false},
		{"no veth prefix", func(s *SNAT) { s.VethPrefix = "" }, false},
		{"veth prefix too long", func(s *SNAT) { s.VethPrefix = "abcdefghijklmnop" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := goodSNAT()
			tc.edit(&s)
			err := ValidateSNAT(s)
			if tc.ok != (err == nil) {
				t.Fatalf("ValidateSNAT = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not ErrInvalid", err)
			}
		})
	}
}

func TestRandomFlags(t *testing.T) {
	for _, tc := range []struct {
		mode          SNATRandom
		random, fully bool
	}{
		{SNATRandomPRNG, false, true},
		{"", false, true},
		{SNATRandomHash, true, false},
		{SNATRandomNone, false, false},
	} {
		r, f, err := randomFlags(tc.mode)
		if err != nil || r != tc.random || f != tc.fully {
			t.Errorf("randomFlags(%q) = %v, %v, %v; want %v, %v", tc.mode, r, f, err, tc.random, tc.fully)
		}
	}
}

func TestMergeRanges(t *testing.T) {
	rng := func(a, b string) addrRange { return addrRange{addr(a), addr(b)} }
	for _, tc := range []struct {
		name string
		in   []string
		want []addrRange
	}{
		{"none", nil, nil},
		{"one", []string{"198.18.0.0/16"}, []addrRange{rng("198.18.0.0", "198.18.255.255")}},
		{"unmasked", []string{"198.18.7.9/16"}, []addrRange{rng("198.18.0.0", "198.18.255.255")}},
		{"sorted", []string{"203.0.113.0/24", "198.18.0.0/16"},
			[]addrRange{rng("198.18.0.0", "198.18.255.255"), rng("203.0.113.0", "203.0.113.255")}},
		{"contained and duplicate", []string{"198.18.0.0/16", "198.18.5.0/24", "198.18.0.0/16"},
			[]addrRange{rng("198.18.0.0", "198.18.255.255")}},
		{"adjacent merge", []string{"198.18.0.0/16", "198.19.0.0/16"},
			[]addrRange{rng("198.18.0.0", "198.19.255.255")}},
		{"host", []string{"203.0.113.7/32"}, []addrRange{rng("203.0.113.7", "203.0.113.7")}},
		{"everything", []string{"203.0.113.0/24", "0.0.0.0/0", "198.18.0.0/15"},
			[]addrRange{rng("0.0.0.0", "255.255.255.255")}},
		{"top of space", []string{"240.0.0.0/4", "255.255.255.0/24"},
			[]addrRange{rng("240.0.0.0", "255.255.255.255")}},
		{"ipv6 ignored", []string{"2001:db8::/32", "198.18.0.0/16"},
			[]addrRange{rng("198.18.0.0", "198.18.255.255")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var in []netip.Prefix
			for _, s := range tc.in {
				in = append(in, pfx(s))
			}
			if got := mergeRanges(in); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("mergeRanges(%v) = %v, want %v", tc.in, got, tc.want)
			}
		})
	}
}
