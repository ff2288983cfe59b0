package sim

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// imdsENI returns the view's entry for an ENI id, if shown.
func imdsENI(v IMDSView, id string) (IMDSENI, bool) {
	for _, e := range v.ENIs {
		if e.ID == id {
			return e, true
		}
	}
	return IMDSENI{}, false
}

func (f *engFixture) view() IMDSView {
	f.t.Helper()
	v, err := f.w.IMDSView(f.inst.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return v
}

func TestIMDSViewPrimaryFromLaunch(t *testing.T) {
	f := newEngFixture(t, engSetup{opts: WorldOptions{IMDSLag: 5 * time.Second}})
	v := f.view()
	if v.InstanceID != f.inst.ID || v.InstanceType != "m5.large" || v.Region != "us-west-2" ||
		v.AZ != "us-west-2a" || v.PrimaryIP != f.inst.PrimaryIP || len(v.ENIs) != 1 {
		t.Fatalf("view at launch: %+v", v)
	}
	p := v.ENIs[0]
	if p.ID != f.inst.PrimaryENIID || p.MAC != v.PrimaryMAC || p.DeviceIndex != 0 ||
		p.SubnetCIDR.String() != "10.0.0.0/24" || !slices.Equal(p.VPCCIDRs, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")}) ||
		!slices.Equal(p.LocalIPv4s, []netip.Addr{f.inst.PrimaryIP}) || len(p.SecurityGroups) != 1 {
		t.Fatalf("primary ENI in metadata: %+v", p)
	}
	_, err := f.w.IMDSView("i-0000000000000000a")
	wantCode(t, err, CodeInstanceNotFound)
}

func TestIMDSViewLag(t *testing.T) {
	const lag = 5 * time.Second
	f := newEngFixture(t, engSetup{opts: WorldOptions{IMDSLag: lag, AttachDelay: time.Second}})
	e := f.createENI(CreateENIInput{SecondaryIPCount: 1})
	f.attach(e.ID, f.inst.ID, 1) // attached at t=1s, shown from t=6s
	steps := []struct {
		at    time.Duration // since the attach call
		act   func()
		shown bool
		ips   int // addresses shown on the ENI, primary included
		pfx   int
	}{
		{at: 0, shown: false},
		{at: 5900 * time.Millisecond, shown: false},
		{at: 6 * time.Second, shown: true, ips: 2},
		{at: 7 * time.Second, act: func() { f.mustAssign(e.ID, AssignInput{SecondaryIPCount: 2}) }, shown: true, ips: 2},
		{at: 11 * time.Second, shown: true, ips: 2},
		{at: 12 * time.Second, shown: true, ips: 4},
		{at: 13 * time.Second, act: func() { f.mustAssign(e.ID, AssignInput{PrefixCount: 1}) }, shown: true, ips: 4},
		{at: 18 * time.Second, shown: true, ips: 4, pfx: 1},
		{at: 20 * time.Second, act: func() { f.unassignAll(e.ID) }, shown: true, ips: 4, pfx: 1},
		{at: 24900 * time.Millisecond, shown: true, ips: 4, pfx: 1},
		{at: 25 * time.Second, shown: true, ips: 1},
	}
	start := f.clk.Now()
	for i, s := range steps {
		f.clk.Advance(start.Add(s.at).Sub(f.clk.Now()))
		if s.act != nil {
			s.act()
		}
		m, shown := imdsENI(f.view(), e.ID)
		if shown != s.shown || len(m.LocalIPv4s) != s.ips || len(m.Prefixes) != s.pfx {
			t.Fatalf("step %d at %v: shown %v with %d addresses and %d prefixes, want %v %d %d",
				i, s.at, shown, len(m.LocalIPv4s), len(m.Prefixes), s.shown, s.ips, s.pfx)
		}
		if shown && (m.LocalIPv4s[0] != e.PrimaryIP || m.DeviceIndex != 1 || m.MAC != e.MAC) {
			t.Fatalf("step %d: entry %+v", i, m)
		}
	}
}

func TestIMDSViewDetach(t *testing.T) {
	f := newEngFixture(t, engSetup{opts: WorldOptions{IMDSLag: 2 * time.Second, DetachDelay: 3 * time.Second}})
	e := f.createENI(CreateENIInput{})
	att := f.attach(e.ID, f.inst.ID, 1)
	f.clk.Advance(2 * time.Second)
	if _, shown := imdsENI(f.view(), e.ID); !shown {
		t.Fatal("attached ENI not shown after the lag")
	}
	wantCode(t, f.w.DetachNetworkInterface(att, false), "")
	for _, s := range []struct {
		advance time.Duration
		shown   bool
	}{{0, true}, {3 * time.Second, true}, {1999 * time.Millisecond, true}, {time.Millisecond, false}} {
		f.clk.Advance(s.advance)
		if _, shown := imdsENI(f.view(), e.ID); shown != s.shown {
			t.Fatalf("after +%v: shown %v, want %v", s.advance, shown, s.shown)
		}
	}
}

func TestIMDSViewNoLag(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	e := f.createENI(CreateENIInput{})
	f.attach(e.ID, f.inst.ID, 1)
	res := f.mustAssign(e.ID, AssignInput{SecondaryIPCount: 3})
	m, shown := imdsENI(f.view(), e.ID)
	if !shown || !imdsHasAll(m, res.IPs) {
		t.Fatalf("with no lag the view is current: %+v", m)
	}
	v := f.view()
	if len(v.ENIs) != 2 || v.ENIs[0].DeviceIndex != 0 || v.ENIs[1].DeviceIndex != 1 {
		t.Fatalf("ENIs not ordered by device index: %+v", v.ENIs)
	}
	f.w.SetDelays(0, 0, time.Minute)
	f.mustAssign(e.ID, AssignInput{SecondaryIPCount: 1})
	if m, _ := imdsENI(f.view(), e.ID); len(m.LocalIPv4s) != 4 {
		t.Fatalf("a lag set later applies to later changes: %v", m.LocalIPv4s)
	}
}

// imdsHasAll reports whether the entry shows every one of ips.
func imdsHasAll(m IMDSENI, ips []netip.Addr) bool {
	for _, ip := range ips {
		if !slices.Contains(m.LocalIPv4s, ip) {
			return false
		}
	}
	return true
}

func (f *engFixture) mustAssign(eniID string, in AssignInput) AssignResult {
	f.t.Helper()
	in.ENIID = eniID
	res, err := f.w.AssignPrivateIpAddresses(in)
	if err != nil {
		f.t.Fatal(err)
	}
	return res
}

func (f *engFixture) unassignAll(eniID string) {
	f.t.Helper()
	e := f.eni(eniID)
	if err := f.w.UnassignPrivateIpAddresses(eniID, e.SecondaryIPs, e.Prefixes); err != nil {
		f.t.Fatal(err)
	}
}

// TestIMDSViewVPCCIDRAdded: a CIDR block associated with the VPC shows in
// metadata's vpc-ipv4-cidr-blocks after the lag, without any ENI change.
func TestIMDSViewVPCCIDRAdded(t *testing.T) {
	const lag = 5 * time.Second
	f := newEngFixture(t, engSetup{opts: WorldOptions{IMDSLag: lag}})
	added := netip.MustParsePrefix("100.64.0.0/16")
	if _, err := f.w.AddVPCCIDR(f.inst.VPCID, added); err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16"), added}
	if got := f.view().ENIs[0].VPCCIDRs; len(got) != 1 {
		t.Fatalf("at once: VPC CIDRs %v, want only the old block until the lag passes", got)
	}
	f.clk.Advance(lag)
	if got := f.view().ENIs[0].VPCCIDRs; !slices.Equal(got, want) {
		t.Fatalf("after the lag: VPC CIDRs %v, want %v", got, want)
	}
}
