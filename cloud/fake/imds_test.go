package fake

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

func TestMetadataImmediateByDefault(t *testing.T) {
	c := newFake(t, Options{})
	md := c.Metadata()
	inst, err := md.Instance(bg)
	if err != nil || inst.ID != c.Instance().ID || inst.PrimaryMAC != c.Instance().PrimaryMAC {
		t.Fatalf("Instance = %+v, %v", inst, err)
	}
	e := mustAttach(t, c, 1)
	ips, _ := c.AssignIPs(bg, e.ID, 2)
	m, err := md.ENI(bg, e.MAC)
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != e.ID || m.DeviceIndex != 1 || m.PrimaryIP() != e.PrimaryIP || !m.HasIPs(ips) ||
		m.SubnetCIDR != inst.SubnetCIDR || !slices.Equal(m.VPCCIDRs, inst.VPCCIDRs) {
		t.Fatalf("ENI metadata = %+v", m)
	}
	all, _ := md.ENIs(bg)
	if len(all) != 2 || all[0].ID != inst.PrimaryENI || all[1].ID != e.ID {
		t.Fatalf("ENIs = %+v", all)
	}
}

// TestMetadataLag steps a manual clock through a series of changes and
// checks what metadata shows at each step.
func TestMetadataLag(t *testing.T) {
	clk := NewClock(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	c := newFake(t, Options{Now: clk.Now})
	c.SetMetadataLag(5 * time.Second)
	md := c.Metadata()
	inst := c.Instance()

	e, _ := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID, SecondaryIPs: 2})
	attID, _ := c.AttachENI(bg, e.ID, inst.ID, 1, 0) // t=0
	clk.Advance(3 * time.Second)
	ips, _ := c.AssignIPs(bg, e.ID, 3) // t=3
	pfx, _ := c.AssignPrefixes(bg, inst.PrimaryENI, 1)

	type seen struct {
		enis     int
		hasIPs   bool
		prefixes bool
	}
	steps := []struct {
		advance time.Duration
		want    seen
	}{
		{0, seen{1, false, false}},                       // t=3: nothing visible yet
		{1900 * time.Millisecond, seen{1, false, false}}, // t=4.9
		{100 * time.Millisecond, seen{2, false, false}},  // t=5: attach visible
		{3 * time.Second, seen{2, true, true}},           // t=8: assigns visible
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		all, err := md.ENIs(bg)
		if err != nil {
			t.Fatal(err)
		}
		got := seen{enis: len(all)}
		if len(all) == 2 {
			got.hasIPs = all[1].HasIPs(ips)
		}
		got.prefixes = all[0].HasPrefixes(pfx)
		if got != s.want {
			t.Fatalf("step %d: metadata shows %+v, want %+v", i, got, s.want)
		}
	}

	// A detach and an unassign lag the same way.
	if err := c.UnassignPrefixes(bg, inst.PrimaryENI, pfx); err != nil {
		t.Fatal(err)
	}
	if err := c.DetachENI(bg, attID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := md.ENI(bg, e.MAC); err != nil {
		t.Fatalf("detached ENI vanished before the lag: %v", err)
	}
	clk.Advance(5 * time.Second)
	if _, err := md.ENI(bg, e.MAC); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("detached ENI after the lag: err = %v, want ErrNotFound", err)
	}
	if m, _ := md.ENI(bg, inst.PrimaryMAC); len(m.Prefixes) != 0 {
		t.Fatalf("unassigned prefix still shown: %v", m.Prefixes)
	}
}

func TestMetadataLagOff(t *testing.T) {
	clk := NewClock(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	c := newFake(t, Options{Now: clk.Now})
	c.SetMetadataLag(time.Minute)
	e := mustAttach(t, c, 1)
	if _, err := c.Metadata().ENI(bg, e.MAC); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound during the lag", err)
	}
	c.SetMetadataLag(0)
	if _, err := c.Metadata().ENI(bg, e.MAC); err != nil {
		t.Fatalf("with no lag: %v", err)
	}
}

func TestMetadataCopies(t *testing.T) {
	c := newFake(t, Options{})
	md := c.Metadata()
	all, _ := md.ENIs(bg)
	all[0].IPv4s[0] = all[0].IPv4s[0].Next()
	again, _ := md.ENIs(bg)
	if again[0].IPv4s[0] != c.Instance().PrimaryIP {
		t.Fatal("caller's change leaked into metadata")
	}
}
