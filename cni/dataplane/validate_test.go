package dataplane

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func TestPodValidate(t *testing.T) {
	good := Pod{NetNS: "/var/run/netns/x", IfName: "eth0", HostIfName: "eni0123456789ab",
		IP: netip.MustParseAddr("198.18.1.5"), MTU: 9001, RouteTable: 2}
	for _, tc := range []struct {
		name string
		edit func(p *Pod)
		want string // "" = valid
	}{
		{"good", func(p *Pod) {}, ""},
		{"no MTU (the kernel's)", func(p *Pod) { p.MTU = 0 }, ""},
		{"main table", func(p *Pod) { p.RouteTable = MainTable }, ""},
		{"IPv4-mapped address", func(p *Pod) { p.IP = netip.MustParseAddr("::ffff:198.18.1.5") }, ""},
		{"no netns", func(p *Pod) { p.NetNS = "" }, "namespace path is empty"},
		{"no ifname", func(p *Pod) { p.IfName = "" }, "pod interface name: empty"},
		{"long ifname", func(p *Pod) { p.IfName = "eth0123456789abc" }, "longer than 15"},
		{"slash in host name", func(p *Pod) { p.HostIfName = "eni/0" }, "host interface name"},
		{"dot", func(p *Pod) { p.IfName = "." }, "is not a name"},
		{"no address", func(p *Pod) { p.IP = netip.Addr{} }, "not a unicast IPv4"},
		{"IPv6 address", func(p *Pod) { p.IP = netip.MustParseAddr("2001:db8::1") }, "not a unicast IPv4"},
		{"unspecified", func(p *Pod) { p.IP = netip.IPv4Unspecified() }, "not a unicast IPv4"},
		{"small MTU", func(p *Pod) { p.MTU = 67 }, "MTU 67"},
		{"huge MTU", func(p *Pod) { p.MTU = 65536 }, "MTU 65536"},
		{"negative table", func(p *Pod) { p.RouteTable = -1 }, "route table -1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := good
			tc.edit(&p)
			err := p.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate = %v, want nil", err)
			case tc.want != "" && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want ErrInvalid naming %q", err, tc.want)
			}
		})
	}
}

func TestSecondaryAndHostSideOnly(t *testing.T) {
	for table, want := range map[int]bool{0: false, MainTable: false, 2: true, 1000: true} {
		if got := Secondary(table); got != want {
			t.Errorf("Secondary(%d) = %v, want %v", table, got, want)
		}
	}
	ip := netip.MustParseAddr("198.18.1.5")
	if got := HostSideOnly(ip, 3); got != (Teardown{IP: ip, RouteTable: 3}) {
		t.Errorf("HostSideOnly = %+v", got)
	}
}
