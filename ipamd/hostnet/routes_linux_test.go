package hostnet

import (
	"net"
	"net/netip"
	"testing"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestENIRoutes(t *testing.T) {
	rs := eniRoutes(goodENI(), 7)
	if len(rs) != 2 {
		t.Fatalf("%d routes, want 2", len(rs))
	}
	gw, def := rs[0], rs[1]
	if prefixOf(gw.Dst) != pfx("198.18.1.1/32") || gw.Scope != netlink.SCOPE_LINK || gw.Gw != nil ||
		gw.LinkIndex != 7 || gw.Table != 2 {
		t.Errorf("gateway route = %+v", gw)
	}
	if prefixOf(def.Dst) != pfx("0.0.0.0/0") || addrOf(def.Gw) != addr("198.18.1.1") ||
		def.Scope != netlink.SCOPE_UNIVERSE || def.LinkIndex != 7 || def.Table != 2 {
		t.Errorf("default route = %+v", def)
	}
}

func TestRules(t *testing.T) {
	r := eniRule(goodENI())
	if r.Priority != PriorityFromENI || prefixOf(r.Src) != pfx("198.18.1.20/32") || r.Table != 2 || r.Dst != nil || r.Mark != 0 {
		t.Errorf("eniRule = %+v", r)
	}
	m := offVPCRule(0x80)
	if m.Priority != PriorityOffVPC || m.Mark != 0x80 || maskOf(m.Mask) != 0x80 || m.Table != unix.RT_TABLE_MAIN || m.Src != nil {
		t.Errorf("offVPCRule = %+v", m)
	}
	if PriorityToPod >= PriorityOffVPC || PriorityOffVPC >= PriorityFromPod || PriorityFromPod >= PriorityFromENI {
		t.Error("priorities out of order: to-pod < off-vpc < from-pod < from-eni")
	}
}

func TestPrefixOf(t *testing.T) {
	for _, tc := range []struct {
		in   *net.IPNet
		want netip.Prefix
	}{
		{nil, pfx("0.0.0.0/0")},
		{&net.IPNet{IP: net.IPv4zero, Mask: net.CIDRMask(0, 32)}, pfx("0.0.0.0/0")},
		{&net.IPNet{IP: net.ParseIP("198.18.1.1"), Mask: net.CIDRMask(32, 32)}, pfx("198.18.1.1/32")},
		{&net.IPNet{IP: net.ParseIP("198.18.1.0"), Mask: net.CIDRMask(120, 128)}, pfx("198.18.1.0/24")},
	} {
		if got := prefixOf(tc.in); got != tc.want {
			t.Errorf("prefixOf(%v) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestStaleRoutes(t *testing.T) {
	e := goodENI()
	want := eniRoutes(e, 7)
	listedDefault := want[1]
	listedDefault.Type = unix.RTN_UNICAST
	listedDefault.Protocol = unix.RTPROT_BOOT
	oldGW := want[1]
	oldGW.Gw = net.ParseIP("198.18.9.1")
	otherLink := want[0]
	otherLink.LinkIndex = 8
	have := []netlink.Route{want[0], listedDefault, oldGW, otherLink}
	stale := staleRoutes(have, want)
	if len(stale) != 2 || addrOf(stale[0].Gw) != addr("198.18.9.1") || stale[1].LinkIndex != 8 {
		t.Fatalf("staleRoutes = %+v, want the old gateway and the other link", stale)
	}
	if got := staleRoutes(have, nil); len(got) != len(have) {
		t.Fatalf("with nothing wanted, %d of %d routes are stale", len(got), len(have))
	}
}

func TestPlanRules(t *testing.T) {
	e := goodENI()
	want := *eniRule(e)
	mine := want
	other := want
	other.Src = ipNet(pfx("198.18.7.7/32"))
	other.Table = 9
	oldTable := want
	oldTable.Table = 5 // same source, stale table
	reused := want
	reused.Src = ipNet(pfx("198.18.1.99/32")) // same table, stale source
	lower := want
	lower.Priority = PriorityFromPod // a pod rule: not ours
	for _, tc := range []struct {
		name    string
		have    []netlink.Rule
		wantDel int
		wantAdd bool
	}{
		{"none", nil, 0, true},
		{"present", []netlink.Rule{mine}, 0, false},
		{"duplicate", []netlink.Rule{mine, mine, mine}, 2, false},
		{"others untouched", []netlink.Rule{other, lower}, 0, true},
		{"stale table and source", []netlink.Rule{oldTable, reused, mine}, 2, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			del, add := planRules(tc.have, want, ownsENIRule(e))
			if len(del) != tc.wantDel || add != tc.wantAdd {
				t.Fatalf("planRules: delete %d (%v), add %v; want %d, %v", len(del), del, add, tc.wantDel, tc.wantAdd)
			}
		})
	}
}

func TestOwnsOffVPCRule(t *testing.T) {
	mark := *offVPCRule(0x80)
	plain := netlink.Rule{Priority: PriorityOffVPC, Table: unix.RT_TABLE_MAIN, Dst: ipNet(pfx("198.18.0.0/16"))}
	if !ownsOffVPCRule(mark) || ownsOffVPCRule(plain) {
		t.Fatal("ownsOffVPCRule must claim fwmark rules to main only")
	}
	old := mark
	old.Mark, old.Mask = 0x40, nil
	del, add := planRules([]netlink.Rule{old, plain}, mark, ownsOffVPCRule)
	if len(del) != 1 || del[0].Mark != 0x40 || !add {
		t.Fatalf("a changed mark: delete %v add %v", del, add)
	}
}
