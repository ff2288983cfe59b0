package sim

import (
	"errors"
	"net/netip"
	"regexp"
	"sync"
	"testing"
	"time"
)

// engClock is a fake clock the tests advance by hand.
type engClock struct {
	mu sync.Mutex
	t  time.Time
}

func newEngClock() *engClock {
	return &engClock{t: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *engClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *engClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// engFixture is a world with a VPC 10.0.0.0/16, a subnet and one instance.
type engFixture struct {
	t      *testing.T
	w      *World
	clk    *engClock
	vpc    VPC
	subnet Subnet
	inst   Instance
}

type engSetup struct {
	opts     WorldOptions
	subnet   string // CIDR, default 10.0.0.0/24
	instType string // default m5.large; "none" launches nothing
}

func newEngFixture(t *testing.T, s engSetup) *engFixture {
	t.Helper()
	clk := newEngClock()
	opts := s.opts
	opts.Now = clk.Now
	if opts.Seed == 0 {
		opts.Seed = 42
	}
	f := &engFixture{t: t, w: NewWorld(opts), clk: clk}
	var err error
	if f.vpc, err = f.w.CreateVPC(netip.MustParsePrefix("10.0.0.0/16"), nil); err != nil {
		t.Fatal(err)
	}
	cidr := s.subnet
	if cidr == "" {
		cidr = "10.0.0.0/24"
	}
	if f.subnet, err = f.w.CreateSubnet(f.vpc.ID, "us-west-2a", netip.MustParsePrefix(cidr), nil); err != nil {
		t.Fatal(err)
	}
	typ := s.instType
	if typ == "" {
		typ = "m5.large"
	}
	if typ != "none" {
		f.inst = f.launch(typ)
	}
	return f
}

func (f *engFixture) launch(typ string) Instance {
	f.t.Helper()
	in, err := f.w.LaunchInstance(typ, f.subnet.ID, netip.Addr{})
	if err != nil {
		f.t.Fatalf("launch %s: %v", typ, err)
	}
	return in
}

func (f *engFixture) createENI(in CreateENIInput) ENI {
	f.t.Helper()
	if in.SubnetID == "" {
		in.SubnetID = f.subnet.ID
	}
	e, err := f.w.CreateNetworkInterface(in)
	if err != nil {
		f.t.Fatalf("create ENI: %v", err)
	}
	return e
}

func (f *engFixture) attach(eniID, instID string, dev int) string {
	f.t.Helper()
	id, err := f.w.AttachNetworkInterface(eniID, instID, dev, 0)
	if err != nil {
		f.t.Fatalf("attach %s at %d: %v", eniID, dev, err)
	}
	return id
}

func (f *engFixture) eni(id string) ENI {
	f.t.Helper()
	es, err := f.w.DescribeNetworkInterfaces([]string{id}, nil)
	if err != nil || len(es) != 1 {
		f.t.Fatalf("describe %s: %v %v", id, es, err)
	}
	return es[0]
}

func (f *engFixture) available() int {
	f.t.Helper()
	s, err := f.w.DescribeSubnets([]string{f.subnet.ID}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return s[0].AvailableIPs
}

// wantCode fails unless err is an *APIError with the code ("" for nil).
func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var ae *APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want an *APIError %s", err, code)
	}
	if ae.Code != code {
		t.Fatalf("got %s (%s), want %s", ae.Code, ae.Message, code)
	}
	if ae.Status != 400 {
		t.Fatalf("%s has status %d, want 400", code, ae.Status)
	}
}

func TestWorldIDsAndMACs(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	e := f.createENI(CreateENIInput{})
	att := f.attach(e.ID, f.inst.ID, 1)
	for _, c := range []struct{ id, re string }{
		{f.vpc.ID, `^vpc-[0-9a-f]{17}$`},
		{f.subnet.ID, `^subnet-[0-9a-f]{17}$`},
		{f.inst.ID, `^i-[0-9a-f]{17}$`},
		{e.ID, `^eni-[0-9a-f]{17}$`},
		{att, `^eni-attach-[0-9a-f]{17}$`},
		{e.MAC, `^02(:[0-9a-f]{2}){5}$`},
	} {
		if !regexp.MustCompile(c.re).MatchString(c.id) {
			t.Errorf("%q does not match %s", c.id, c.re)
		}
	}
	if e.OwnerID != DefaultAccountID || f.w.Region() != DefaultRegion || !e.SourceDestCheck {
		t.Errorf("defaults: owner %s region %s sdc %v", e.OwnerID, f.w.Region(), e.SourceDestCheck)
	}
}

func TestWorldDeterministicForSeed(t *testing.T) {
	run := func() State {
		f := newEngFixture(t, engSetup{opts: WorldOptions{Seed: 7}})
		e := f.createENI(CreateENIInput{SecondaryIPCount: 5})
		f.attach(e.ID, f.inst.ID, 1)
		if _, err := f.w.AssignPrivateIpAddresses(AssignInput{ENIID: e.ID, PrefixCount: 2}); err != nil {
			t.Fatal(err)
		}
		return f.w.Snapshot()
	}
	a, b := run(), run()
	for i := range a.ENIs {
		x, y := a.ENIs[i], b.ENIs[i]
		if x.ID != y.ID || x.MAC != y.MAC || x.PrimaryIP != y.PrimaryIP ||
			len(x.SecondaryIPs) != len(y.SecondaryIPs) || len(x.Prefixes) != len(y.Prefixes) {
			t.Fatalf("runs differ: %+v vs %+v", x, y)
		}
		for j := range x.SecondaryIPs {
			if x.SecondaryIPs[j] != y.SecondaryIPs[j] {
				t.Fatalf("secondaries differ: %v vs %v", x.SecondaryIPs, y.SecondaryIPs)
			}
		}
	}
}

func TestWorldCreateSubnet(t *testing.T) {
	f := newEngFixture(t, engSetup{instType: "none"})
	tests := []struct {
		name, vpc, cidr, code string
		avail                 int
	}{
		{"ok /24 is taken", f.vpc.ID, "10.0.0.0/24", CodeSubnetConflict, 0},
		{"overlaps an existing subnet", f.vpc.ID, "10.0.0.128/25", CodeSubnetConflict, 0},
		{"outside the VPC", f.vpc.ID, "10.1.0.0/24", CodeSubnetRange, 0},
		{"too small", f.vpc.ID, "10.0.9.0/29", CodeSubnetRange, 0},
		{"too large", f.vpc.ID, "10.0.0.0/15", CodeSubnetRange, 0},
		{"host bits set", f.vpc.ID, "10.0.9.1/24", CodeInvalidParameterValue, 0},
		{"unknown VPC", "vpc-0123456789abcdef0", "10.0.9.0/24", CodeVpcNotFound, 0},
		{"malformed VPC", "vpc-xyz", "10.0.9.0/24", CodeVpcMalformed, 0},
		{"a /28", f.vpc.ID, "10.0.9.0/28", "", 11},
		{"a /16", f.vpc.ID, "10.0.0.0/16", CodeSubnetConflict, 0},
		{"a /20", f.vpc.ID, "10.0.16.0/20", "", 4091},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			sn, err := f.w.CreateSubnet(tc.vpc, "", netip.MustParsePrefix(tc.cidr), nil)
			wantCode(t, err, tc.code)
			if err == nil && (sn.AvailableIPs != tc.avail || sn.AZ != "us-west-2a" || sn.VPCID != tc.vpc) {
				t.Fatalf("got %+v, want %d available in us-west-2a", sn, tc.avail)
			}
		})
	}
}

func TestWorldCreateVPC(t *testing.T) {
	w := NewWorld(WorldOptions{Seed: 1})
	for _, c := range []struct{ cidr, code string }{
		{"10.0.0.0/16", ""}, {"10.0.0.0/8", CodeVpcRange}, {"10.0.0.0/29", CodeVpcRange},
		{"10.0.0.1/16", CodeInvalidParameterValue}, {"10.0.0.0/28", ""},
	} {
		_, err := w.CreateVPC(netip.MustParsePrefix(c.cidr), nil)
		wantCode(t, err, c.code)
	}
	v, _ := w.CreateVPC(netip.MustParsePrefix("198.18.0.0/16"), nil)
	_, err := w.AddVPCCIDR(v.ID, netip.MustParsePrefix("198.18.4.0/24"))
	wantCode(t, err, CodeVpcRange)
	v, err = w.AddVPCCIDR(v.ID, netip.MustParsePrefix("100.64.0.0/16"))
	wantCode(t, err, "")
	if _, err := w.CreateSubnet(v.ID, "", netip.MustParsePrefix("100.64.1.0/24"), nil); err != nil {
		t.Fatalf("subnet in the secondary CIDR: %v", err)
	}
}

func TestWorldReservedNeverHandedOut(t *testing.T) {
	f := newEngFixture(t, engSetup{subnet: "10.0.0.0/28"})
	if got := f.available(); got != 10 { // 16 - 5 reserved - the instance's primary
		t.Fatalf("available %d, want 10", got)
	}
	e := f.createENI(CreateENIInput{SecondaryIPCount: 9})
	if got := f.available(); got != 0 {
		t.Fatalf("available %d after taking everything, want 0", got)
	}
	seen := map[netip.Addr]bool{f.inst.PrimaryIP: true, e.PrimaryIP: true}
	for _, ip := range e.SecondaryIPs {
		seen[ip] = true
	}
	if len(seen) != 11 {
		t.Fatalf("%d distinct addresses handed out, want 11", len(seen))
	}
	for _, r := range []string{"10.0.0.0", "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.15"} {
		if seen[netip.MustParseAddr(r)] {
			t.Errorf("reserved address %s handed out", r)
		}
	}
	_, err := f.w.AssignPrivateIpAddresses(AssignInput{ENIID: e.ID, SecondaryIPCount: 1})
	wantCode(t, err, CodeSubnetExhausted)
	_, err = f.w.CreateNetworkInterface(CreateENIInput{SubnetID: f.subnet.ID})
	wantCode(t, err, CodeSubnetExhausted)
	_, err = f.w.LaunchInstance("m5.large", f.subnet.ID, netip.Addr{})
	wantCode(t, err, CodeSubnetExhausted)
}

func TestWorldExplicitAddresses(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	e := f.createENI(CreateENIInput{PrimaryIP: netip.MustParseAddr("10.0.0.10"),
		PrivateIPs: []netip.Addr{netip.MustParseAddr("10.0.0.11")}})
	if e.PrimaryIP.String() != "10.0.0.10" || len(e.SecondaryIPs) != 1 || e.SecondaryIPs[0].String() != "10.0.0.11" {
		t.Fatalf("got %v %v", e.PrimaryIP, e.SecondaryIPs)
	}
	tests := []struct {
		name string
		in   CreateENIInput
		code string
	}{
		{"reserved primary", CreateENIInput{PrimaryIP: netip.MustParseAddr("10.0.0.2")}, CodeInvalidParameterValue},
		{"broadcast secondary", CreateENIInput{PrivateIPs: []netip.Addr{netip.MustParseAddr("10.0.0.255")}}, CodeInvalidParameterValue},
		{"outside the subnet", CreateENIInput{PrivateIPs: []netip.Addr{netip.MustParseAddr("10.0.1.5")}}, CodeInvalidParameterValue},
		{"in use as primary", CreateENIInput{PrimaryIP: netip.MustParseAddr("10.0.0.10")}, CodeAddressInUse},
		{"in use as secondary", CreateENIInput{PrivateIPs: []netip.Addr{netip.MustParseAddr("10.0.0.11")}}, CodeAddressInUse},
		{"asked twice", CreateENIInput{PrivateIPs: []netip.Addr{netip.MustParseAddr("10.0.0.20"), netip.MustParseAddr("10.0.0.20")}}, CodeInvalidParameterValue},
		{"unknown subnet", CreateENIInput{SubnetID: "subnet-0000000000000000a"}, CodeSubnetNotFound},
		{"malformed security group", CreateENIInput{SecurityGroups: []string{"default"}}, "InvalidGroupId.Malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := f.available()
			if tc.in.SubnetID == "" {
				tc.in.SubnetID = f.subnet.ID
			}
			_, err := f.w.CreateNetworkInterface(tc.in)
			wantCode(t, err, tc.code)
			if f.available() != before {
				t.Fatalf("a failed create changed the subnet: %d -> %d", before, f.available())
			}
		})
	}
}

func TestWorldLaunchAndTerminate(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	_, err := f.w.LaunchInstance("m9.huge", f.subnet.ID, netip.Addr{})
	wantCode(t, err, CodeInvalidParameterValue)
	_, err = f.w.LaunchInstance("m5.large", "subnet-0000000000000000a", netip.Addr{})
	wantCode(t, err, CodeSubnetNotFound)
	in2, err := f.w.LaunchInstance("t3.medium", f.subnet.ID, netip.MustParseAddr("10.0.0.77"))
	wantCode(t, err, "")
	if in2.PrimaryIP.String() != "10.0.0.77" || in2.State != "running" {
		t.Fatalf("got %+v", in2)
	}
	p := f.eni(f.inst.PrimaryENIID)
	if a := p.Attachment; a == nil || a.DeviceIndex != 0 || a.NetworkCardIndex != 0 ||
		a.Status != "attached" || !a.DeleteOnTermination || p.Status != "in-use" || p.PrimaryIP != f.inst.PrimaryIP {
		t.Fatalf("primary ENI %+v attachment %+v", p, p.Attachment)
	}
	if got, ok := f.w.InstanceByIP(f.inst.PrimaryIP); !ok || got.ID != f.inst.ID {
		t.Fatalf("InstanceByIP: %v %v", got, ok)
	}
	if got, ok := f.w.DefaultInstance(); !ok || got.ID != f.inst.ID {
		t.Fatalf("DefaultInstance: %v %v", got, ok)
	}

	keep := f.createENI(CreateENIInput{SecondaryIPCount: 2})
	f.attach(keep.ID, f.inst.ID, 1)
	gone := f.createENI(CreateENIInput{SecondaryIPCount: 2})
	att := f.attach(gone.ID, f.inst.ID, 2)
	wantCode(t, f.w.SetDeleteOnTermination(gone.ID, att, true), "")
	wantCode(t, f.w.SetDeleteOnTermination(gone.ID, "eni-attach-00000000000000000", true), CodeAttachmentNotFound)
	before := f.available()
	wantCode(t, f.w.TerminateInstance(f.inst.ID), "")
	wantCode(t, f.w.TerminateInstance(f.inst.ID), "")
	if got := f.available(); got != before+1+3 {
		t.Fatalf("available %d after terminate, want %d", got, before+4)
	}
	if e := f.eni(keep.ID); e.Attachment != nil || e.Status != "available" {
		t.Fatalf("kept ENI %+v", e)
	}
	for _, id := range []string{gone.ID, f.inst.PrimaryENIID} {
		_, err := f.w.DescribeNetworkInterfaces([]string{id}, nil)
		wantCode(t, err, CodeENINotFound)
	}
	if _, ok := f.w.InstanceByIP(f.inst.PrimaryIP); ok {
		t.Fatal("a terminated instance is found by IP")
	}
	if got, ok := f.w.DefaultInstance(); !ok || got.ID != in2.ID {
		t.Fatalf("DefaultInstance after terminate: %v %v", got, ok)
	}
	ins, err := f.w.DescribeInstances([]string{f.inst.ID}, nil)
	if err != nil || ins[0].State != "terminated" {
		t.Fatalf("terminated instance: %v %v", ins, err)
	}
	_, err = f.w.AttachNetworkInterface(keep.ID, f.inst.ID, 1, 0)
	wantCode(t, err, CodeIncorrectInstanceState)
}

func TestWorldReturnsCopies(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	e := f.createENI(CreateENIInput{SecondaryIPCount: 2, Tags: []Tag{{"k", "v"}}})
	f.attach(e.ID, f.inst.ID, 1)
	got := f.eni(e.ID)
	got.SecondaryIPs[0] = netip.MustParseAddr("1.2.3.4")
	got.Tags[0].Value = "changed"
	got.Attachment.DeviceIndex = 9
	again := f.eni(e.ID)
	if again.SecondaryIPs[0] == got.SecondaryIPs[0] || again.Tags[0].Value != "v" || again.Attachment.DeviceIndex != 1 {
		t.Fatalf("the world shares memory with its callers: %+v", again)
	}
}

// TestWorldSecurityGroupsMustExist checks CreateNetworkInterface takes only
// security groups of the subnet's VPC, as EC2 does.
func TestWorldSecurityGroupsMustExist(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	sg := f.inst.SecurityGroups[0]
	e := f.createENI(CreateENIInput{SecurityGroups: []string{sg}})
	if len(e.SecurityGroups) != 1 || e.SecurityGroups[0] != sg {
		t.Fatalf("groups %v, want [%s]", e.SecurityGroups, sg)
	}
	other, err := f.w.CreateVPC(netip.MustParsePrefix("10.1.0.0/16"), nil)
	wantCode(t, err, "")
	otherSubnet, err := f.w.CreateSubnet(other.ID, "", netip.MustParsePrefix("10.1.0.0/24"), nil)
	wantCode(t, err, "")
	otherENI, err := f.w.CreateNetworkInterface(CreateENIInput{SubnetID: otherSubnet.ID})
	wantCode(t, err, "")
	otherSG := otherENI.SecurityGroups[0]
	for _, groups := range [][]string{{"sg-0123456789abcdef0"}, {sg, "sg-0123456789abcdef0"}, {otherSG}} {
		before := f.available()
		_, err := f.w.CreateNetworkInterface(CreateENIInput{SubnetID: f.subnet.ID, SecurityGroups: groups})
		wantCode(t, err, CodeGroupNotFound)
		missing := groups[len(groups)-1]
		want := "The security group '" + missing + "' does not exist in VPC '" + f.vpc.ID + "'"
		if err.Error() != CodeGroupNotFound+": "+want {
			t.Fatalf("groups %v: %v, want %q", groups, err, want)
		}
		if f.available() != before {
			t.Fatalf("a failed create changed the subnet: %d -> %d", before, f.available())
		}
	}
}
