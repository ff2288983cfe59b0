package sim

import (
	"net/netip"
	"slices"
	"testing"
)

func TestWorldAddressLimits(t *testing.T) {
	tests := []struct {
		name     string
		instType string
		first    AssignInput // assigned first, must succeed
		then     AssignInput // then this
		code     string
	}{
		{"m5.large: 9 secondaries fill 10 slots", "m5.large", AssignInput{SecondaryIPCount: 9}, AssignInput{SecondaryIPCount: 1}, CodeAddressLimitExceeded},
		{"m5.large: 8 then 1 fits", "m5.large", AssignInput{SecondaryIPCount: 8}, AssignInput{SecondaryIPCount: 1}, ""},
		{"m5.large: 10 at once is one too many", "m5.large", AssignInput{SecondaryIPCount: 1}, AssignInput{SecondaryIPCount: 9}, CodeAddressLimitExceeded},
		{"t3.medium: 5 secondaries fill 6 slots", "t3.medium", AssignInput{SecondaryIPCount: 5}, AssignInput{SecondaryIPCount: 1}, CodeAddressLimitExceeded},
		{"t3.medium: a prefix takes one slot", "t3.medium", AssignInput{SecondaryIPCount: 4}, AssignInput{PrefixCount: 1}, ""},
		{"t3.medium: full with prefixes", "t3.medium", AssignInput{PrefixCount: 5}, AssignInput{PrefixCount: 1}, CodeAddressLimitExceeded},
		{"m5.large: 9 prefixes then a secondary", "m5.large", AssignInput{PrefixCount: 9}, AssignInput{SecondaryIPCount: 1}, CodeAddressLimitExceeded},
		{"m5.large: 4 secondaries and 5 prefixes", "m5.large", AssignInput{SecondaryIPCount: 4}, AssignInput{PrefixCount: 5}, ""},
		{"m4.large (Xen): no prefixes", "m4.large", AssignInput{SecondaryIPCount: 1}, AssignInput{PrefixCount: 1}, CodeInvalidParameterValue},
		{"m4.large (Xen): no explicit prefixes", "m4.large", AssignInput{SecondaryIPCount: 1}, AssignInput{Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.64/28")}}, CodeInvalidParameterValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newEngFixture(t, engSetup{instType: tc.instType})
			e := f.createENI(CreateENIInput{})
			f.attach(e.ID, f.inst.ID, 1)
			tc.first.ENIID, tc.then.ENIID = e.ID, e.ID
			if _, err := f.w.AssignPrivateIpAddresses(tc.first); err != nil {
				t.Fatalf("first assign: %v", err)
			}
			before, avail := f.eni(e.ID), f.available()
			_, err := f.w.AssignPrivateIpAddresses(tc.then)
			wantCode(t, err, tc.code)
			if err != nil {
				after := f.eni(e.ID)
				if len(after.SecondaryIPs) != len(before.SecondaryIPs) || len(after.Prefixes) != len(before.Prefixes) || f.available() != avail {
					t.Fatal("a failed assign changed something")
				}
			}
		})
	}
}

func TestWorldUnattachedAddressLimit(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	_, err := f.w.CreateNetworkInterface(CreateENIInput{SubnetID: f.subnet.ID, SecondaryIPCount: 50})
	wantCode(t, err, CodeAddressLimitExceeded)
	big := f.createENI(CreateENIInput{SecondaryIPCount: 49})
	_, err = f.w.AssignPrivateIpAddresses(AssignInput{ENIID: big.ID, SecondaryIPCount: 1})
	wantCode(t, err, CodeAddressLimitExceeded)
	// An ENI holding more than the type allows cannot be attached to it.
	_, err = f.w.AttachNetworkInterface(big.ID, f.inst.ID, 1, 0)
	wantCode(t, err, CodeAddressLimitExceeded)
	ok := f.createENI(CreateENIInput{SecondaryIPCount: 9})
	f.attach(ok.ID, f.inst.ID, 1)
}

func TestWorldPrefixAttachToXen(t *testing.T) {
	f := newEngFixture(t, engSetup{instType: "m4.large"})
	e := f.createENI(CreateENIInput{PrefixCount: 1})
	_, err := f.w.AttachNetworkInterface(e.ID, f.inst.ID, 1, 0)
	wantCode(t, err, CodeInvalidParameterValue)
	if got := f.eni(e.ID); got.Attachment != nil {
		t.Fatal("a failed attach attached")
	}
}

func TestWorldAskMixing(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	e := f.createENI(CreateENIInput{})
	ip := []netip.Addr{netip.MustParseAddr("10.0.0.50")}
	pf := []netip.Prefix{netip.MustParsePrefix("10.0.0.64/28")}
	tests := []struct {
		name string
		in   AssignInput
		code string
	}{
		{"nothing asked", AssignInput{}, CodeInvalidParameterCombination},
		{"count and prefix count", AssignInput{SecondaryIPCount: 1, PrefixCount: 1}, CodeInvalidParameterCombination},
		{"list and count", AssignInput{IPs: ip, SecondaryIPCount: 1}, CodeInvalidParameterCombination},
		{"prefixes and prefix count", AssignInput{Prefixes: pf, PrefixCount: 1}, CodeInvalidParameterCombination},
		{"list and prefixes", AssignInput{IPs: ip, Prefixes: pf}, CodeInvalidParameterCombination},
		{"negative count", AssignInput{SecondaryIPCount: -1}, CodeInvalidParameterValue},
		{"negative prefix count", AssignInput{PrefixCount: -2}, CodeInvalidParameterValue},
		{"unknown ENI", AssignInput{ENIID: "eni-00000000000000000", SecondaryIPCount: 1}, CodeENINotFound},
		{"malformed ENI", AssignInput{ENIID: "nic-1", SecondaryIPCount: 1}, CodeENIMalformed},
		{"one way", AssignInput{IPs: ip}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.in.ENIID == "" {
				tc.in.ENIID = e.ID
			}
			_, err := f.w.AssignPrivateIpAddresses(tc.in)
			wantCode(t, err, tc.code)
		})
	}
	_, err := f.w.CreateNetworkInterface(CreateENIInput{SubnetID: f.subnet.ID, SecondaryIPCount: 1, PrefixCount: 1})
	wantCode(t, err, CodeInvalidParameterCombination)
}

func TestWorldExplicitPrefixes(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	e := f.createENI(CreateENIInput{PrimaryIP: netip.MustParseAddr("10.0.0.200")})
	f.attach(e.ID, f.inst.ID, 1)
	tests := []struct {
		prefix, code string
	}{
		{"10.0.0.64/28", ""},
		{"10.0.0.64/28", CodeInvalidParameterValue},  // now in use
		{"10.0.0.72/28", CodeInvalidParameterValue},  // not aligned
		{"10.0.0.80/27", CodeInvalidParameterValue},  // not a /28
		{"10.0.1.0/28", CodeInvalidParameterValue},   // outside the subnet
		{"10.0.0.0/28", CodeInvalidParameterValue},   // holds reserved addresses
		{"10.0.0.240/28", CodeInvalidParameterValue}, // holds the broadcast address
		{"10.0.0.192/28", CodeInvalidParameterValue}, // holds the ENI's primary
		{"10.0.0.96/28", ""},
	}
	for _, tc := range tests {
		_, err := f.w.AssignPrivateIpAddresses(AssignInput{ENIID: e.ID, Prefixes: []netip.Prefix{netip.MustParsePrefix(tc.prefix)}})
		wantCode(t, err, tc.code)
	}
	_, err := f.w.AssignPrivateIpAddresses(AssignInput{ENIID: e.ID,
		Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.112/28"), netip.MustParsePrefix("10.0.0.112/28")}})
	wantCode(t, err, CodeInvalidParameterValue)
	// A secondary inside a prefix is refused.
	_, err = f.w.AssignPrivateIpAddresses(AssignInput{ENIID: e.ID, IPs: []netip.Addr{netip.MustParseAddr("10.0.0.70")}, AllowReassignment: true})
	wantCode(t, err, CodeAddressInUse)
}

func TestWorldPrefixFragmentation(t *testing.T) {
	// A /26 has four aligned /28s: the first holds the reserved addresses,
	// the last the broadcast, so only .16/28 and .32/28 can be delegated.
	f := newEngFixture(t, engSetup{subnet: "10.0.0.0/26", instType: "none"})
	in, err := f.w.LaunchInstance("m5.large", f.subnet.ID, netip.MustParseAddr("10.0.0.5"))
	if err != nil {
		t.Fatal(err)
	}
	e := f.createENI(CreateENIInput{PrimaryIP: netip.MustParseAddr("10.0.0.40"),
		PrivateIPs: []netip.Addr{netip.MustParseAddr("10.0.0.20")}})
	f.attach(e.ID, in.ID, 1)
	avail := f.available()
	if avail != 64-5-3 {
		t.Fatalf("available %d, want 56", avail)
	}
	_, err = f.w.AssignPrivateIpAddresses(AssignInput{ENIID: e.ID, PrefixCount: 1})
	wantCode(t, err, CodeInsufficientCidrBlocks)
	// Freeing .20 frees block .16/28: one prefix fits, two do not.
	wantCode(t, f.w.UnassignPrivateIpAddresses(e.ID, []netip.Addr{netip.MustParseAddr("10.0.0.20")}, nil), "")
	_, err = f.w.AssignPrivateIpAddresses(AssignInput{ENIID: e.ID, PrefixCount: 2})
	wantCode(t, err, CodeInsufficientCidrBlocks)
	res, err := f.w.AssignPrivateIpAddresses(AssignInput{ENIID: e.ID, PrefixCount: 1})
	wantCode(t, err, "")
	if len(res.Prefixes) != 1 || res.Prefixes[0].String() != "10.0.0.16/28" {
		t.Fatalf("got %v, want 10.0.0.16/28", res.Prefixes)
	}
	if got := f.available(); got != avail+1-16 {
		t.Fatalf("available %d, want %d: a prefix uses 16 addresses", got, avail+1-16)
	}
}

func TestWorldPrefixesAreAlignedAndFree(t *testing.T) {
	f := newEngFixture(t, engSetup{subnet: "10.0.0.0/22", instType: "c5.4xlarge"})
	e := f.createENI(CreateENIInput{SecondaryIPCount: 20})
	f.attach(e.ID, f.inst.ID, 1)
	res, err := f.w.AssignPrivateIpAddresses(AssignInput{ENIID: e.ID, PrefixCount: 9})
	wantCode(t, err, "")
	cidr := netip.MustParsePrefix("10.0.0.0/22")
	e = f.eni(e.ID)
	for _, p := range res.Prefixes {
		if p.Bits() != 28 || p.Masked() != p || !cidr.Contains(p.Addr()) {
			t.Fatalf("bad prefix %v", p)
		}
		for _, ip := range append([]netip.Addr{e.PrimaryIP, f.inst.PrimaryIP}, e.SecondaryIPs...) {
			if p.Contains(ip) {
				t.Fatalf("prefix %v holds address %v", p, ip)
			}
		}
		if p.Addr() == cidr.Addr() || p.Contains(netip.MustParseAddr("10.0.3.255")) {
			t.Fatalf("prefix %v holds a reserved address", p)
		}
	}
	if !slices.Equal(e.Prefixes, res.Prefixes) {
		t.Fatalf("ENI prefixes %v, assigned %v", e.Prefixes, res.Prefixes)
	}
}

func TestWorldReassignment(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	a := f.createENI(CreateENIInput{PrivateIPs: []netip.Addr{netip.MustParseAddr("10.0.0.30")}})
	b := f.createENI(CreateENIInput{})
	ip := []netip.Addr{netip.MustParseAddr("10.0.0.30")}
	_, err := f.w.AssignPrivateIpAddresses(AssignInput{ENIID: b.ID, IPs: ip})
	wantCode(t, err, CodeAddressInUse)
	_, err = f.w.AssignPrivateIpAddresses(AssignInput{ENIID: b.ID, IPs: []netip.Addr{a.PrimaryIP}, AllowReassignment: true})
	wantCode(t, err, CodeAddressInUse)
	avail := f.available()
	_, err = f.w.AssignPrivateIpAddresses(AssignInput{ENIID: b.ID, IPs: ip, AllowReassignment: true})
	wantCode(t, err, "")
	if got := f.eni(a.ID).SecondaryIPs; len(got) != 0 {
		t.Fatalf("old ENI still has %v", got)
	}
	if got := f.eni(b.ID).SecondaryIPs; !slices.Equal(got, ip) {
		t.Fatalf("new ENI has %v", got)
	}
	if f.available() != avail {
		t.Fatal("a move changed AvailableIPs")
	}
	// Assigning an address the ENI already has changes nothing.
	_, err = f.w.AssignPrivateIpAddresses(AssignInput{ENIID: b.ID, IPs: ip})
	wantCode(t, err, "")
	if got := f.eni(b.ID).SecondaryIPs; len(got) != 1 {
		t.Fatalf("got %v", got)
	}
}

func TestWorldUnassign(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	e := f.createENI(CreateENIInput{SecondaryIPCount: 3})
	f.attach(e.ID, f.inst.ID, 1)
	res, err := f.w.AssignPrivateIpAddresses(AssignInput{ENIID: e.ID, PrefixCount: 2})
	wantCode(t, err, "")
	other := netip.MustParseAddr("10.0.0.250")
	if slices.Contains(e.SecondaryIPs, other) || e.PrimaryIP == other {
		other = netip.MustParseAddr("10.0.0.251")
	}
	tests := []struct {
		name     string
		ips      []netip.Addr
		prefixes []netip.Prefix
		code     string
	}{
		{"the primary", []netip.Addr{e.PrimaryIP}, nil, CodeInvalidParameterValue},
		{"one not on the ENI", []netip.Addr{e.SecondaryIPs[0], other}, nil, CodeInvalidParameterValue},
		{"a prefix not on the ENI", nil, []netip.Prefix{res.Prefixes[0], netip.MustParsePrefix("10.0.0.0/28")}, CodeInvalidParameterValue},
		{"nothing", nil, nil, CodeMissingParameter},
		{"secondaries and a prefix", e.SecondaryIPs[:2], res.Prefixes[:1], ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, avail := f.eni(e.ID), f.available()
			err := f.w.UnassignPrivateIpAddresses(e.ID, tc.ips, tc.prefixes)
			wantCode(t, err, tc.code)
			after := f.eni(e.ID)
			if err != nil && (len(after.SecondaryIPs) != len(before.SecondaryIPs) || len(after.Prefixes) != len(before.Prefixes) || f.available() != avail) {
				t.Fatal("a failed unassign changed something")
			}
			if err == nil && f.available() != avail+2+16 {
				t.Fatalf("available %d, want %d", f.available(), avail+18)
			}
		})
	}
}
