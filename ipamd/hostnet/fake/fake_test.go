package fake

import (
	"context"
	"errors"
	"net/netip"
	"testing"

	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
)

func testENI(mac string, dev int) hostnet.ENI {
	return hostnet.ENI{
		MAC: mac, DeviceIndex: dev, RouteTable: dev + 1,
		PrimaryIP:  netip.MustParseAddr("198.18.1.20"),
		SubnetCIDR: netip.MustParsePrefix("198.18.1.0/24"), MTU: 9001,
	}
}

func testSNAT() hostnet.SNAT {
	return hostnet.SNAT{
		PrimaryMAC: "02:00:00:00:00:01", PrimaryIP: netip.MustParseAddr("198.18.0.10"),
		VPCCIDRs: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/16")},
		Random:   hostnet.SNATRandomPRNG, VethPrefix: "eni",
	}
}

func TestENIState(t *testing.T) {
	ctx := context.Background()
	h := New()
	a, b := testENI("02:00:00:00:00:AA", 2), testENI("02:00:00:00:00:bb", 1)
	for _, e := range []hostnet.ENI{a, b, a} {
		if err := h.SetupENI(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got := h.ENIs()
	if len(got) != 2 || got[0].DeviceIndex != 1 || got[1].DeviceIndex != 2 {
		t.Fatalf("ENIs() = %+v, want device 1 then 2", got)
	}
	if _, ok := h.ENI("02:00:00:00:00:aa"); !ok {
		t.Error("ENI by lower-case MAC not found")
	}
	if err := h.TeardownENI(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := h.TeardownENI(ctx, a); err != nil {
		t.Fatalf("second teardown: %v", err)
	}
	if got := h.ENIs(); len(got) != 1 || got[0].MAC != b.MAC {
		t.Fatalf("after teardown ENIs() = %+v", got)
	}
	if n := h.Calls(OpSetupENI); n != 3 {
		t.Errorf("Calls(SetupENI) = %d, want 3", n)
	}
}

func TestValidation(t *testing.T) {
	ctx := context.Background()
	h := New()
	bad := testENI("02:00:00:00:00:01", 1)
	bad.RouteTable = 254
	if err := h.SetupENI(ctx, bad); !errors.Is(err, hostnet.ErrInvalid) {
		t.Errorf("SetupENI(table main) = %v, want ErrInvalid", err)
	}
	s := testSNAT()
	s.VPCCIDRs = nil
	if err := h.SetupSNAT(ctx, s); !errors.Is(err, hostnet.ErrInvalid) {
		t.Errorf("SetupSNAT(no VPC CIDRs) = %v, want ErrInvalid", err)
	}
	if _, ok := h.SNAT(); ok {
		t.Error("a rejected SNAT was recorded")
	}
}

func TestRequireENILinks(t *testing.T) {
	ctx := context.Background()
	h := New()
	h.RequireENILinks(true)
	e := testENI("02:00:00:00:00:02", 1)
	if err := h.SetupENI(ctx, e); !errors.Is(err, hostnet.ErrLinkNotFound) {
		t.Fatalf("SetupENI without link = %v, want ErrLinkNotFound", err)
	}
	h.AddENILink("02:00:00:00:00:02")
	if err := h.SetupENI(ctx, e); err != nil {
		t.Fatal(err)
	}
	if err := h.SetupSNAT(ctx, testSNAT()); !errors.Is(err, hostnet.ErrLinkNotFound) {
		t.Fatalf("SetupSNAT without primary link = %v, want ErrLinkNotFound", err)
	}
}

func TestSNATState(t *testing.T) {
	ctx := context.Background()
	h := New()
	s := testSNAT()
	s.Exclude = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	if err := h.SetupSNAT(ctx, s); err != nil {
		t.Fatal(err)
	}
	s.Exclude[0] = netip.MustParsePrefix("198.19.0.0/16") // the caller's slice is not shared
	got, ok := h.SNAT()
	if !ok || got.Exclude[0] != netip.MustParsePrefix("203.0.113.0/24") {
		t.Fatalf("SNAT() = %+v, %v", got, ok)
	}
	if err := h.SetupSNAT(ctx, hostnet.SNAT{External: true}); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.SNAT(); !got.External {
		t.Errorf("SNAT() = %+v, want External", got)
	}
}

func TestFaultsAndLinks(t *testing.T) {
	ctx := context.Background()
	h := New()
	boom := errors.New("boom")
	h.SetFault(OpLinkExists, boom, 2)
	for i := range 2 {
		if _, err := h.LinkExists(ctx, "eni1"); !errors.Is(err, boom) {
			t.Fatalf("call %d: err = %v, want boom", i, err)
		}
	}
	if ok, err := h.LinkExists(ctx, "eni1"); err != nil || ok {
		t.Fatalf("LinkExists = %v, %v; want false, nil", ok, err)
	}
	h.AddLink("eni1")
	if ok, _ := h.LinkExists(ctx, "eni1"); !ok {
		t.Fatal("added link not found")
	}
	h.DelLink("eni1")
	if ok, _ := h.LinkExists(ctx, "eni1"); ok {
		t.Fatal("deleted link still found")
	}
	h.SetFault(OpSetupENI, boom, 0)
	for range 3 {
		if err := h.SetupENI(ctx, testENI("02:00:00:00:00:03", 1)); !errors.Is(err, boom) {
			t.Fatalf("persistent fault: err = %v", err)
		}
	}
	if len(h.ENIs()) != 0 {
		t.Fatal("a failed SetupENI changed state")
	}
	h.ClearFaults()
	if err := h.SetupENI(ctx, testENI("02:00:00:00:00:03", 1)); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := h.SetupSNAT(cctx, testSNAT()); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled SetupSNAT = %v", err)
	}
	if n := h.Calls(OpLinkExists); n != 5 {
		t.Errorf("Calls(LinkExists) = %d, want 5", n)
	}
}
