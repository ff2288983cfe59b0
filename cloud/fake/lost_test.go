package fake

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// lostCase is one operation called with SetFaultAfter: call makes the
// call, applied checks its effect in the ground truth.
type lostCase struct {
	call    func() error
	applied func() bool
}

// lostCases builds, for every operation, a call that succeeds on c and a
// check of its effect (reads have none: applied is nil).
func lostCases(t *testing.T, c *Cloud) map[Op]lostCase {
	t.Helper()
	inst := c.Instance()
	md := c.Metadata()
	attached := mustAttach(t, c, 1)
	spare, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID, SecondaryIPs: 1})
	if err != nil {
		t.Fatal(err)
	}
	toDelete, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID})
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := c.AssignPrefixes(bg, inst.PrimaryENI, 1)
	if err != nil {
		t.Fatal(err)
	}
	read := func(f func() error) lostCase { return lostCase{call: f} }
	eni := func(id string) cloud.ENI { e, _ := c.ENI(id); return e }
	var ips []netip.Addr
	var created int
	return map[Op]lostCase{
		OpInstanceType: read(func() error { _, err := c.InstanceType(bg, "m5.large"); return err }),
		OpSubnets:      read(func() error { _, err := c.Subnets(bg, inst.SubnetID); return err }),
		OpInstanceENIs: read(func() error { _, err := c.InstanceENIs(bg, inst.ID); return err }),
		OpENIs:         read(func() error { _, err := c.ENIs(bg, cloud.ENIFilter{}); return err }),
		OpCreateENI: {func() error {
			created = len(c.AllENIs())
			_, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID, Tags: map[string]string{"n": "1"}})
			return err
		}, func() bool { return len(c.AllENIs()) == created+1 }},
		OpAttachENI: {func() error { _, err := c.AttachENI(bg, spare.ID, inst.ID, 2, 0); return err },
			func() bool { return eni(spare.ID).Attachment != nil }},
		OpDetachENI: {func() error { return c.DetachENI(bg, attached.Attachment.ID, false) },
			func() bool { return eni(attached.ID).Attachment == nil }},
		OpDeleteENI: {func() error { return c.DeleteENI(bg, toDelete.ID) },
			func() bool { _, ok := c.ENI(toDelete.ID); return !ok }},
		OpSetDeleteOnTermination: {func() error { return c.SetDeleteOnTermination(bg, attached.ID, attached.Attachment.ID, true) },
			func() bool { a := eni(attached.ID).Attachment; return a == nil || a.DeleteOnTermination }},
		OpAssignIPs: {func() error { _, err := c.AssignIPs(bg, inst.PrimaryENI, 2); return err },
			func() bool { ips = eni(inst.PrimaryENI).SecondaryIPs; return len(ips) == 2 }},
		OpAssignPrefixes: {func() error { _, err := c.AssignPrefixes(bg, inst.PrimaryENI, 1); return err },
			func() bool { return len(eni(inst.PrimaryENI).Prefixes) == 2 }},
		OpUnassignIPs: {func() error { return c.UnassignIPs(bg, inst.PrimaryENI, ips) },
			func() bool { return len(eni(inst.PrimaryENI).SecondaryIPs) == 0 }},
		OpUnassignPrefixes: {func() error { return c.UnassignPrefixes(bg, inst.PrimaryENI, pfx) },
			func() bool { return !slices.Contains(eni(inst.PrimaryENI).Prefixes, pfx[0]) }},
		OpTagENI: {func() error { return c.TagENI(bg, inst.PrimaryENI, map[string]string{"k": "v"}) },
			func() bool { return eni(inst.PrimaryENI).Tags["k"] == "v" }},
		OpMetadataInstance: read(func() error { _, err := md.Instance(bg); return err }),
		OpMetadataENIs:     read(func() error { _, err := md.ENIs(bg); return err }),
		OpMetadataENI:      read(func() error { _, err := md.ENI(bg, inst.PrimaryMAC); return err }),
	}
}

// TestFaultAfterEveryOp: every operation under SetFaultAfter fails with
// the injected error and yet takes effect, as a call whose answer is lost.
// The order runs the unassigns after the assigns they undo.
func TestFaultAfterEveryOp(t *testing.T) {
	c := newFake(t, Options{})
	cases := lostCases(t, c)
	if len(cases) != len(Ops) {
		t.Fatalf("test covers %d ops, the fake has %d", len(cases), len(Ops))
	}
	order := []Op{OpAssignIPs, OpAssignPrefixes, OpUnassignIPs, OpUnassignPrefixes, OpSetDeleteOnTermination, OpDetachENI}
	for _, op := range Ops {
		if !slices.Contains(order, op) {
			order = append(order, op)
		}
	}
	lostErr := context.DeadlineExceeded
	for _, op := range order {
		tc := cases[op]
		c.SetFaultAfter(op, lostErr, 1)
		if err := tc.call(); !errors.Is(err, lostErr) {
			t.Errorf("%s: err = %v, want the injected error", op, err)
		}
		if tc.applied != nil && !tc.applied() {
			t.Errorf("%s: the call whose answer was lost had no effect", op)
		}
		if tc.applied != nil {
			continue
		}
		if err := tc.call(); err != nil {
			t.Errorf("%s: the fault outlived its count: %v", op, err)
		}
	}
}

// TestFaultAfterCount: the fault applies to the given number of calls that
// take effect; calls refused before taking effect do not use it up; 0 is
// every call until cleared.
func TestFaultAfterCount(t *testing.T) {
	for _, tc := range []struct {
		name     string
		times    int
		calls    int
		wantLost int
	}{
		{"once", 1, 3, 1},
		{"twice", 2, 4, 2},
		{"always", 0, 4, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newFake(t, Options{InstanceType: "m5.24xlarge"})
			primary := c.Instance().PrimaryENI
			boom := InjectedError(OpAssignIPs, "InternalError")
			c.SetFaultAfter(OpAssignIPs, boom, tc.times)
			// Refused before taking effect: an unknown ENI, a SetFault fault.
			if _, err := c.AssignIPs(bg, "eni-0000000000000dead", 1); !errors.Is(err, cloud.ErrNotFound) {
				t.Fatalf("unknown ENI: %v", err)
			}
			c.SetFault(OpAssignIPs, InjectedError(OpAssignIPs, "RequestLimitExceeded"), 1)
			if _, err := c.AssignIPs(bg, primary, 1); !errors.Is(err, cloud.ErrThrottled) {
				t.Fatalf("throttled: %v", err)
			}
			lost := 0
			for range tc.calls {
				got, err := c.AssignIPs(bg, primary, 1)
				switch {
				case errors.Is(err, boom):
					lost++
					if got != nil {
						t.Errorf("a lost answer returned %v", got)
					}
				case err != nil:
					t.Fatal(err)
				}
			}
			if lost != tc.wantLost {
				t.Errorf("%d answers lost, want %d", lost, tc.wantLost)
			}
			if e, _ := c.ENI(primary); len(e.SecondaryIPs) != tc.calls {
				t.Errorf("%d addresses assigned, want %d (every call took effect)", len(e.SecondaryIPs), tc.calls)
			}
		})
	}
}

// TestFaultAfterZeroValues: a lost answer tells the caller nothing: no
// ENI, no attachment id.
func TestFaultAfterZeroValues(t *testing.T) {
	c := newFake(t, Options{})
	inst := c.Instance()
	c.SetFaultAfter(OpCreateENI, context.Canceled, 1)
	e, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID, Tags: map[string]string{"token": "t1"}})
	if !errors.Is(err, context.Canceled) || e.ID != "" {
		t.Fatalf("CreateENI = %+v, %v; want no ENI and the injected error", e, err)
	}
	found, err := c.ENIs(bg, cloud.ENIFilter{Tags: map[string]string{"token": "t1"}})
	if err != nil || len(found) != 1 {
		t.Fatalf("the ENI created with the lost answer: %v, %v", found, err)
	}
	c.SetFaultAfter(OpAttachENI, context.DeadlineExceeded, 1)
	att, err := c.AttachENI(bg, found[0].ID, inst.ID, 1, 0)
	if !errors.Is(err, context.DeadlineExceeded) || att != "" {
		t.Fatalf("AttachENI = %q, %v", att, err)
	}
	if got, _ := c.ENI(found[0].ID); got.Attachment == nil {
		t.Fatal("the attach with the lost answer did not attach")
	}
}

func TestFaultAfterClear(t *testing.T) {
	c := newFake(t, Options{})
	subnet := c.Instance().SubnetID
	c.SetFaultAfter(OpSubnets, errors.New("boom"), 0)
	c.SetFaultAfter(OpSubnets, nil, 0)
	if _, err := c.Subnets(bg, subnet); err != nil {
		t.Fatalf("after SetFaultAfter(nil): %v", err)
	}
	c.SetFaultAfter(OpSubnets, errors.New("boom"), 0)
	c.ClearFaults()
	if _, err := c.Subnets(bg, subnet); err != nil {
		t.Fatalf("after ClearFaults: %v", err)
	}
}

// TestAssociateVPCCIDR: a CIDR block associated to the VPC shows in every
// ENI's metadata once the lag has passed, and subnets can be made in it.
func TestAssociateVPCCIDR(t *testing.T) {
	clock := NewClock(time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC))
	c := newFake(t, Options{Now: clock.Now})
	c.SetMetadataLag(5 * time.Second)
	extra := netip.MustParsePrefix("198.19.0.0/16")
	if err := c.AssociateVPCCIDR(extra); err != nil {
		t.Fatal(err)
	}
	shown := func() []netip.Prefix {
		m, err := c.Metadata().ENI(bg, c.Instance().PrimaryMAC)
		if err != nil {
			t.Fatal(err)
		}
		return m.VPCCIDRs
	}
	if got := shown(); slices.Contains(got, extra) {
		t.Errorf("metadata shows %v before the lag passed", got)
	}
	clock.Advance(5 * time.Second)
	if got, want := shown(), []netip.Prefix{DefaultVPCCIDR, extra}; !slices.Equal(got, want) {
		t.Errorf("metadata shows %v, want %v", got, want)
	}
	if _, err := c.AddSubnet(netip.MustParsePrefix("198.19.16.0/20"), nil); err != nil {
		t.Errorf("subnet in the new block: %v", err)
	}
	for _, bad := range []string{"198.18.128.0/17", "2001:db8::/48", "198.20.0.0/8"} {
		if err := c.AssociateVPCCIDR(netip.MustParsePrefix(bad)); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
