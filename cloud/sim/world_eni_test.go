package sim

import (
	"net/netip"
	"testing"
	"time"
)

func TestWorldAttachDetachLifecycle(t *testing.T) {
	f := newEngFixture(t, engSetup{opts: WorldOptions{AttachDelay: 2 * time.Second, DetachDelay: 3 * time.Second}})
	e := f.createENI(CreateENIInput{SecondaryIPCount: 2})
	if e.Status != "available" || e.Attachment != nil {
		t.Fatalf("new ENI %+v", e)
	}
	att := f.attach(e.ID, f.inst.ID, 1)
	steps := []struct {
		advance        time.Duration
		eniStatus, att string
		attachmentGone bool
	}{
		{0, "attaching", "attaching", false},
		{1999 * time.Millisecond, "attaching", "attaching", false},
		{time.Millisecond, "in-use", "attached", false},
	}
	for i, s := range steps {
		f.clk.Advance(s.advance)
		got := f.eni(e.ID)
		if got.Status != s.eniStatus || got.Attachment == nil || got.Attachment.Status != s.att || got.Attachment.ID != att {
			t.Fatalf("step %d: status %s attachment %+v", i, got.Status, got.Attachment)
		}
	}
	wantCode(t, f.w.DeleteNetworkInterface(e.ID), CodeENIInUse)
	wantCode(t, f.w.DetachNetworkInterface(att, false), "")
	got := f.eni(e.ID)
	if got.Status != "detaching" || got.Attachment.Status != "detaching" {
		t.Fatalf("after detach: %s %+v", got.Status, got.Attachment)
	}
	wantCode(t, f.w.DeleteNetworkInterface(e.ID), CodeENIInUse)
	wantCode(t, f.w.DetachNetworkInterface(att, true), "") // already detaching: nothing to do
	f.clk.Advance(3 * time.Second)
	got = f.eni(e.ID)
	if got.Status != "available" || got.Attachment != nil {
		t.Fatalf("after the detach delay: %s %+v", got.Status, got.Attachment)
	}
	wantCode(t, f.w.DetachNetworkInterface(att, false), CodeAttachmentNotFound)
	avail := f.available()
	wantCode(t, f.w.DeleteNetworkInterface(e.ID), "")
	if f.available() != avail+3 {
		t.Fatalf("delete freed %d addresses, want 3", f.available()-avail)
	}
	wantCode(t, f.w.DeleteNetworkInterface(e.ID), CodeENINotFound)
	wantCode(t, f.w.DeleteNetworkInterface("eni-xyz"), CodeENIMalformed)
	wantCode(t, f.w.DeleteNetworkInterface("i-0123"), CodeENIMalformed)
}

func TestWorldPrimaryNotDetachable(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	p := f.eni(f.inst.PrimaryENIID)
	wantCode(t, f.w.DetachNetworkInterface(p.Attachment.ID, true), CodeOperationNotPermitted)
	wantCode(t, f.w.DeleteNetworkInterface(p.ID), CodeENIInUse)
	wantCode(t, f.w.DetachNetworkInterface("eni-attach-0000000000000000a", false), CodeAttachmentNotFound)
}

func TestWorldAttachChecks(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	other, err := f.w.CreateSubnet(f.vpc.ID, "us-west-2b", netip.MustParsePrefix("10.0.1.0/24"), nil)
	if err != nil {
		t.Fatal(err)
	}
	vpc2, _ := f.w.CreateVPC(netip.MustParsePrefix("10.1.0.0/16"), nil)
	sn2, _ := f.w.CreateSubnet(vpc2.ID, "us-west-2a", netip.MustParsePrefix("10.1.0.0/24"), nil)
	otherAZ := f.createENI(CreateENIInput{SubnetID: other.ID})
	otherVPC := f.createENI(CreateENIInput{SubnetID: sn2.ID})
	e1, e2, e3 := f.createENI(CreateENIInput{}), f.createENI(CreateENIInput{}), f.createENI(CreateENIInput{})
	tests := []struct {
		name, eni, inst string
		dev, card       int
		code            string
	}{
		{"unknown instance", e1.ID, "i-0000000000000000a", 1, 0, CodeInstanceNotFound},
		{"unknown ENI", "eni-0000000000000000a", f.inst.ID, 1, 0, CodeENINotFound},
		{"other AZ", otherAZ.ID, f.inst.ID, 1, 0, CodeInvalidParameterValue},
		{"other VPC", otherVPC.ID, f.inst.ID, 1, 0, CodeInvalidParameterValue},
		{"device index in use", e1.ID, f.inst.ID, 0, 0, CodeInvalidParameterValue},
		{"no such network card", e1.ID, f.inst.ID, 1, 1, CodeInvalidParameterValue},
		{"negative device index", e1.ID, f.inst.ID, -1, 0, CodeInvalidParameterValue},
		{"second ENI", e1.ID, f.inst.ID, 1, 0, ""},
		{"already attached", e1.ID, f.inst.ID, 2, 0, CodeENIInUse},
		{"third ENI", e2.ID, f.inst.ID, 5, 0, ""},
		{"a fourth is over m5.large's 3", e3.ID, f.inst.ID, 2, 0, CodeAttachmentLimitExceeded},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := f.w.AttachNetworkInterface(tc.eni, tc.inst, tc.dev, tc.card)
			wantCode(t, err, tc.code)
		})
	}
}

func TestWorldAttachPerNetworkCard(t *testing.T) {
	f := newEngFixture(t, engSetup{subnet: "10.0.0.0/20", instType: "p4d.24xlarge"})
	l, _ := f.w.DescribeInstanceTypes([]string{"p4d.24xlarge"}, nil)
	if len(l[0].NetworkCards) < 2 {
		t.Fatalf("p4d.24xlarge: want several network cards in the table, got %+v", l[0].NetworkCards)
	}
	perCard := l[0].ENIsOnCard(1)
	for i := range perCard {
		e := f.createENI(CreateENIInput{})
		if _, err := f.w.AttachNetworkInterface(e.ID, f.inst.ID, i, 1); err != nil {
			t.Fatalf("ENI %d on card 1: %v", i, err)
		}
	}
	e := f.createENI(CreateENIInput{})
	_, err := f.w.AttachNetworkInterface(e.ID, f.inst.ID, perCard, 1)
	wantCode(t, err, CodeAttachmentLimitExceeded)
	// Card 0 still has room, and device index 1 is free there.
	_, err = f.w.AttachNetworkInterface(e.ID, f.inst.ID, 1, 0)
	wantCode(t, err, "")
}

func TestWorldDeleteOnTerminationAndDescription(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	e := f.createENI(CreateENIInput{Description: "old"})
	wantCode(t, f.w.SetDeleteOnTermination(e.ID, "eni-attach-0000000000000000a", true), CodeAttachmentNotFound)
	att := f.attach(e.ID, f.inst.ID, 1)
	wantCode(t, f.w.SetDeleteOnTermination(e.ID, att, true), "")
	wantCode(t, f.w.ModifyDescription(e.ID, "new"), "")
	got := f.eni(e.ID)
	if !got.Attachment.DeleteOnTermination || got.Description != "new" {
		t.Fatalf("got %+v %+v", got, got.Attachment)
	}
	wantCode(t, f.w.ModifyDescription("eni-0000000000000000a", "x"), CodeENINotFound)
}
