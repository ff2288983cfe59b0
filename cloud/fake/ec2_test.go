package fake

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud"
)

var bg = context.Background()

// mustAttach creates and attaches a secondary ENI at deviceIndex on card 0.
func mustAttach(t *testing.T, c *Cloud, deviceIndex int) cloud.ENI {
	t.Helper()
	e, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: c.Instance().SubnetID})
	if err != nil {
		t.Fatalf("CreateENI: %v", err)
	}
	if _, err := c.AttachENI(bg, e.ID, c.Instance().ID, deviceIndex, 0); err != nil {
		t.Fatalf("AttachENI: %v", err)
	}
	got, _ := c.ENI(e.ID)
	return got
}

// TestErrorKinds drives the fake into every kind of failure it models and
// checks both the EC2 code and the sentinel kind callers branch on.
func TestErrorKinds(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		do   func(t *testing.T, c *Cloud) error
		code string
		kind error
	}{
		{"ENI limit", Options{}, func(t *testing.T, c *Cloud) error {
			mustAttach(t, c, 1)
			mustAttach(t, c, 2)
			e, _ := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: c.Instance().SubnetID})
			_, err := c.AttachENI(bg, e.ID, c.Instance().ID, 3, 0)
			return err
		}, "AttachmentLimitExceeded", cloud.ErrENILimit},
		{"address limit", Options{}, func(t *testing.T, c *Cloud) error {
			_, err := c.AssignIPs(bg, c.Instance().PrimaryENI, 10) // 1 primary + 10 > 10
			return err
		}, "PrivateIpAddressLimitExceeded", cloud.ErrAddressLimit},
		{"prefix counts as one slot", Options{}, func(t *testing.T, c *Cloud) error {
			if _, err := c.AssignPrefixes(bg, c.Instance().PrimaryENI, 9); err != nil {
				t.Fatalf("9 prefixes on m5.large: %v", err)
			}
			_, err := c.AssignIPs(bg, c.Instance().PrimaryENI, 1)
			return err
		}, "PrivateIpAddressLimitExceeded", cloud.ErrAddressLimit},
		{"create over the unattached limit", Options{}, func(t *testing.T, c *Cloud) error {
			_, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: c.Instance().SubnetID, SecondaryIPs: 50})
			return err
		}, "PrivateIpAddressLimitExceeded", cloud.ErrAddressLimit},
		{"over the limit in a full subnet", Options{SubnetCIDR: prefix("198.18.0.0/28")}, func(t *testing.T, c *Cloud) error {
			if _, err := c.OccupyN(c.Instance().SubnetID, 10); err != nil {
				t.Fatal(err)
			}
			_, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: c.Instance().SubnetID, SecondaryIPs: 50})
			return err
		}, "PrivateIpAddressLimitExceeded", cloud.ErrAddressLimit},
		{"attach over the address limit", Options{}, func(t *testing.T, c *Cloud) error {
			e, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: c.Instance().SubnetID, SecondaryIPs: 10})
			if err != nil {
				t.Fatalf("create with 11 addresses, unattached: %v", err)
			}
			_, err = c.AttachENI(bg, e.ID, c.Instance().ID, 1, 0)
			return err
		}, "PrivateIpAddressLimitExceeded", cloud.ErrAddressLimit},
		{"attach prefixes to Xen", Options{InstanceType: "m4.large"}, func(t *testing.T, c *Cloud) error {
			e, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: c.Instance().SubnetID, Prefixes: 1})
			if err != nil {
				t.Fatalf("create with a prefix, unattached: %v", err)
			}
			_, err = c.AttachENI(bg, e.ID, c.Instance().ID, 1, 0)
			return err
		}, "InvalidParameterValue", cloud.ErrInvalidParameter},
		{"subnet exhausted", Options{SubnetCIDR: prefix("198.18.0.0/28")}, func(t *testing.T, c *Cloud) error {
			// 16 - 5 reserved - 1 primary = 10 free.
			_, err := c.AssignIPs(bg, c.Instance().PrimaryENI, 9)
			if err != nil {
				t.Fatalf("9 of 10 free: %v", err)
			}
			_, err = c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: c.Instance().SubnetID, SecondaryIPs: 1})
			return err
		}, "InsufficientFreeAddressesInSubnet", cloud.ErrSubnetExhausted},
		{"no /28 in a full subnet", Options{SubnetCIDR: prefix("198.18.0.0/28")}, func(t *testing.T, c *Cloud) error {
			if _, err := c.OccupyN(c.Instance().SubnetID, 10); err != nil {
				t.Fatal(err)
			}
			_, err := c.AssignPrefixes(bg, c.Instance().PrimaryENI, 1)
			return err
		}, "InsufficientFreeAddressesInSubnet", cloud.ErrSubnetExhausted},
		{"prefix fragmented", Options{SubnetCIDR: prefix("198.18.0.0/26")}, func(t *testing.T, c *Cloud) error {
			// Blocks .0/28 and .48/28 hold reserves; spoil .16/28 and .32/28.
			if err := c.Occupy(c.Instance().SubnetID, addr("198.18.0.20"), addr("198.18.0.40")); err != nil {
				t.Fatal(err)
			}
			_, err := c.AssignPrefixes(bg, c.Instance().PrimaryENI, 1)
			return err
		}, "InsufficientCidrBlocks", cloud.ErrPrefixFragmented},
		{"prefixes on Xen", Options{InstanceType: "m4.large"}, func(t *testing.T, c *Cloud) error {
			_, err := c.AssignPrefixes(bg, c.Instance().PrimaryENI, 1)
			return err
		}, "InvalidParameterValue", cloud.ErrInvalidParameter},
		{"delete attached", Options{}, func(t *testing.T, c *Cloud) error {
			return c.DeleteENI(bg, mustAttach(t, c, 1).ID)
		}, "InvalidNetworkInterface.InUse", cloud.ErrInUse},
		{"attach attached", Options{}, func(t *testing.T, c *Cloud) error {
			e := mustAttach(t, c, 1)
			_, err := c.AttachENI(bg, e.ID, c.Instance().ID, 2, 0)
			return err
		}, "InvalidNetworkInterface.InUse", cloud.ErrInUse},
		{"device index taken", Options{}, func(t *testing.T, c *Cloud) error {
			e, _ := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: c.Instance().SubnetID})
			_, err := c.AttachENI(bg, e.ID, c.Instance().ID, 0, 0)
			return err
		}, "InvalidParameterValue", cloud.ErrInvalidParameter},
		{"no such network card", Options{}, func(t *testing.T, c *Cloud) error {
			e, _ := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: c.Instance().SubnetID})
			_, err := c.AttachENI(bg, e.ID, c.Instance().ID, 1, 1)
			return err
		}, "InvalidParameterValue", cloud.ErrInvalidParameter},
		{"detach primary", Options{}, func(t *testing.T, c *Cloud) error {
			p, _ := c.ENI(c.Instance().PrimaryENI)
			return c.DetachENI(bg, p.Attachment.ID, true)
		}, "OperationNotPermitted", cloud.ErrInvalidParameter},
		{"ENI not found", Options{}, func(t *testing.T, c *Cloud) error {
			_, err := c.AssignIPs(bg, "eni-00000000000000bad", 1)
			return err
		}, "InvalidNetworkInterfaceID.NotFound", cloud.ErrNotFound},
		{"ENI id filter not found", Options{}, func(t *testing.T, c *Cloud) error {
			_, err := c.ENIs(bg, cloud.ENIFilter{IDs: []string{"eni-00000000000000bad"}})
			return err
		}, "InvalidNetworkInterfaceID.NotFound", cloud.ErrNotFound},
		{"attachment not found", Options{}, func(t *testing.T, c *Cloud) error {
			return c.DetachENI(bg, "eni-attach-000000000000000bad", false)
		}, "InvalidAttachmentID.NotFound", cloud.ErrNotFound},
		{"subnet not found", Options{}, func(t *testing.T, c *Cloud) error {
			_, err := c.Subnets(bg, "subnet-00000000000000bad")
			return err
		}, "InvalidSubnetID.NotFound", cloud.ErrNotFound},
		{"instance not found", Options{}, func(t *testing.T, c *Cloud) error {
			e, _ := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: c.Instance().SubnetID})
			_, err := c.AttachENI(bg, e.ID, "i-00000000000000bad", 1, 0)
			return err
		}, "InvalidInstanceID.NotFound", cloud.ErrNotFound},
		{"unassign a foreign address", Options{}, func(t *testing.T, c *Cloud) error {
			return c.UnassignIPs(bg, c.Instance().PrimaryENI, []netip.Addr{addr("198.18.0.200")})
		}, "InvalidParameterValue", cloud.ErrInvalidParameter},
		{"unassign the primary address", Options{}, func(t *testing.T, c *Cloud) error {
			return c.UnassignIPs(bg, c.Instance().PrimaryENI, []netip.Addr{c.Instance().PrimaryIP})
		}, "InvalidParameterValue", cloud.ErrInvalidParameter},
		{"wrong attachment for delete-on-termination", Options{}, func(t *testing.T, c *Cloud) error {
			return c.SetDeleteOnTermination(bg, c.Instance().PrimaryENI, "eni-attach-000000000000000bad", false)
		}, "InvalidAttachmentID.NotFound", cloud.ErrNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkAPIError(t, tt.do(t, newFake(t, tt.opts)), tt.code, tt.kind)
		})
	}
}

// checkAPIError fails the test unless err is a *cloud.APIError with the
// given EC2 code and sentinel kind, and a request id.
func checkAPIError(t *testing.T, err error, code string, kind error) {
	t.Helper()
	var apiErr *cloud.APIError
	if !errors.As(err, &apiErr) {
		t.Fatalf("err = %v, want *cloud.APIError %s", err, code)
	}
	if apiErr.Code != code || apiErr.Kind != kind || apiErr.RequestID == "" {
		t.Errorf("err = %+v, want code %s kind %v", apiErr, code, kind)
	}
	if kind != nil && !errors.Is(err, kind) {
		t.Errorf("errors.Is(%v) = false", kind)
	}
}

func TestAddressesDeterministic(t *testing.T) {
	c := newFake(t, Options{})
	primary := c.Instance().PrimaryENI
	ips, err := c.AssignIPs(bg, primary, 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.Addr{addr("198.18.0.5"), addr("198.18.0.6"), addr("198.18.0.7")}; !slices.Equal(ips, want) {
		t.Fatalf("AssignIPs = %v, want %v", ips, want)
	}
	// The first /28 holds the reserves and the taken addresses: the first
	// free aligned blocks are .16 and .32.
	pfx, err := c.AssignPrefixes(bg, primary, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := []netip.Prefix{prefix("198.18.0.16/28"), prefix("198.18.0.32/28")}; !slices.Equal(pfx, want) {
		t.Fatalf("AssignPrefixes = %v, want %v", pfx, want)
	}
	if err := c.UnassignIPs(bg, primary, ips[1:2]); err != nil {
		t.Fatal(err)
	}
	again, _ := c.AssignIPs(bg, primary, 2)
	if want := []netip.Addr{addr("198.18.0.6"), addr("198.18.0.8")}; !slices.Equal(again, want) {
		t.Fatalf("after release AssignIPs = %v, want %v (lowest free first)", again, want)
	}
	sub, _ := c.Subnet(c.Instance().SubnetID)
	if want := 4091 - 1 - 4 - 32; sub.AvailableIPs != want {
		t.Fatalf("AvailableIPs = %d, want %d", sub.AvailableIPs, want)
	}
	if err := c.UnassignPrefixes(bg, primary, pfx); err != nil {
		t.Fatal(err)
	}
	if sub, _ = c.Subnet(sub.ID); sub.AvailableIPs != 4091-1-4 {
		t.Fatalf("prefixes not returned to the subnet: %d free", sub.AvailableIPs)
	}
	e, _ := c.ENI(primary)
	if len(e.Prefixes) != 0 || len(e.SecondaryIPs) != 4 {
		t.Fatalf("ENI after releases = %+v", e)
	}
}

func TestCreateENIFailureTakesNothing(t *testing.T) {
	c := newFake(t, Options{SubnetCIDR: prefix("198.18.0.0/26")})
	subID := c.Instance().SubnetID
	before, _ := c.Subnet(subID)
	// .16 and .32 are the only free /28 blocks; three cannot fit.
	_, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: subID, Prefixes: 3})
	if !errors.Is(err, cloud.ErrPrefixFragmented) {
		t.Fatalf("err = %v, want ErrPrefixFragmented", err)
	}
	after, _ := c.Subnet(subID)
	if after.AvailableIPs != before.AvailableIPs || len(c.AllENIs()) != 1 {
		t.Fatalf("failed create leaked: %d -> %d free, %d ENIs", before.AvailableIPs, after.AvailableIPs, len(c.AllENIs()))
	}
}

func TestLifecycle(t *testing.T) {
	c := newFake(t, Options{})
	inst := c.Instance()
	e, err := c.CreateENI(bg, cloud.CreateENIRequest{
		SubnetID: inst.SubnetID, Description: "pods", SecondaryIPs: 4, Tags: map[string]string{"owner": "node-1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if e.Status != cloud.ENIAvailable || e.Attachment != nil || len(e.SecondaryIPs) != 4 ||
		!slices.Equal(e.SecurityGroups, inst.SecurityGroups) || e.Tags["owner"] != "node-1" {
		t.Fatalf("created ENI = %+v", e)
	}
	attID, err := c.AttachENI(bg, e.ID, inst.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SetDeleteOnTermination(bg, e.ID, attID, true); err != nil {
		t.Fatal(err)
	}
	if err := c.TagENI(bg, e.ID, map[string]string{"owner": "node-2", "cluster": "lab"}); err != nil {
		t.Fatal(err)
	}
	got, _ := c.ENI(e.ID)
	if got.Status != cloud.ENIInUse || got.Attachment.ID != attID || !got.Attachment.DeleteOnTermination ||
		got.Attachment.State != cloud.Attached || got.Tags["owner"] != "node-2" || got.Tags["cluster"] != "lab" {
		t.Fatalf("attached ENI = %+v", got)
	}
	listed, _ := c.InstanceENIs(bg, inst.ID)
	if len(listed) != 2 || listed[0].ID != inst.PrimaryENI || listed[1].ID != e.ID {
		t.Fatalf("InstanceENIs = %v", listed)
	}
	if err := c.DetachENI(bg, attID, false); err != nil {
		t.Fatal(err)
	}
	if got, _ = c.ENI(e.ID); got.Status != cloud.ENIAvailable || got.Attachment != nil || len(got.SecondaryIPs) != 4 {
		t.Fatalf("detached ENI = %+v", got)
	}
	if err := c.DetachENI(bg, attID, false); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("second detach err = %v, want ErrNotFound", err)
	}
	if err := c.DeleteENI(bg, e.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteENI(bg, e.ID); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("second delete err = %v, want ErrNotFound", err)
	}
	if sub, _ := c.Subnet(inst.SubnetID); sub.AvailableIPs != 4090 {
		t.Fatalf("delete did not free the addresses: %d free", sub.AvailableIPs)
	}
}

func TestMultiCardLimits(t *testing.T) {
	c := newFake(t, Options{InstanceType: "c6in.32xlarge"})
	inst := c.Instance()
	attach := func(idx, card int) error {
		e, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID})
		if err != nil {
			return err
		}
		_, err = c.AttachENI(bg, e.ID, inst.ID, idx, card)
		return err
	}
	for idx := 1; idx < 8; idx++ { // card 0 takes 8 with the primary
		if err := attach(idx, 0); err != nil {
			t.Fatalf("card 0 index %d: %v", idx, err)
		}
	}
	if err := attach(8, 0); !errors.Is(err, cloud.ErrENILimit) {
		t.Fatalf("ninth on card 0 err = %v, want ErrENILimit", err)
	}
	if err := attach(0, 1); err != nil {
		t.Fatalf("device index 0 on card 1: %v", err)
	}
	if err := attach(1, 0); !errors.Is(err, cloud.ErrInvalidParameter) {
		t.Fatalf("device index 1 on card 0 again: err = %v, want ErrInvalidParameter", err)
	}
}

// TestInstanceENIsOrder: ordered by network card, then device index, then
// id, whatever the order of creation and attachment.
func TestInstanceENIsOrder(t *testing.T) {
	c := newFake(t, Options{InstanceType: "c6in.32xlarge"})
	inst := c.Instance()
	type slot struct{ card, idx int }
	for _, s := range []slot{{1, 0}, {0, 3}, {1, 2}, {0, 1}, {0, 2}} {
		e, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.AttachENI(bg, e.ID, inst.ID, s.idx, s.card); err != nil {
			t.Fatalf("attach at %+v: %v", s, err)
		}
	}
	enis, err := c.InstanceENIs(bg, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	var got []slot
	for _, e := range enis {
		got = append(got, slot{e.Attachment.NetworkCard, e.DeviceIndex()})
	}
	want := []slot{{0, 0}, {0, 1}, {0, 2}, {0, 3}, {1, 0}, {1, 2}}
	if !slices.Equal(got, want) {
		t.Fatalf("InstanceENIs order = %v, want %v", got, want)
	}
	// Metadata lists the same ENIs in the same order.
	mds, err := c.Metadata().ENIs(bg)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, m := range mds {
		got = append(got, slot{m.NetworkCard, m.DeviceIndex})
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Metadata ENIs order = %v, want %v", got, want)
	}
}

func TestENIFilter(t *testing.T) {
	c := newFake(t, Options{})
	inst := c.Instance()
	other, err := c.AddSubnet(prefix("198.18.16.0/20"), nil)
	if err != nil {
		t.Fatal(err)
	}
	leaked, _ := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: other.ID, Tags: map[string]string{"node": "n1", "managed": ""}})
	mine := mustAttach(t, c, 1)
	_ = c.TagENI(bg, mine.ID, map[string]string{"node": "n2", "managed": ""})
	tests := []struct {
		name string
		f    cloud.ENIFilter
		want []string
	}{
		{"all", cloud.ENIFilter{}, []string{inst.PrimaryENI, leaked.ID, mine.ID}},
		{"ids", cloud.ENIFilter{IDs: []string{mine.ID, inst.PrimaryENI}}, []string{inst.PrimaryENI, mine.ID}},
		{"instance", cloud.ENIFilter{InstanceID: inst.ID}, []string{inst.PrimaryENI, mine.ID}},
		{"subnet", cloud.ENIFilter{SubnetID: other.ID}, []string{leaked.ID}},
		{"vpc", cloud.ENIFilter{VPCID: inst.VPCID}, []string{inst.PrimaryENI, leaked.ID, mine.ID}},
		{"other vpc", cloud.ENIFilter{VPCID: "vpc-00000000000000bad"}, nil},
		{"available", cloud.ENIFilter{Status: cloud.ENIAvailable}, []string{leaked.ID}},
		{"tag value", cloud.ENIFilter{Tags: map[string]string{"node": "n2"}}, []string{mine.ID}},
		{"tag key", cloud.ENIFilter{TagKeys: []string{"managed"}}, []string{leaked.ID, mine.ID}},
		{"leaked", cloud.ENIFilter{Status: cloud.ENIAvailable, TagKeys: []string{"managed"}, Tags: map[string]string{"node": "n1"}}, []string{leaked.ID}},
		{"no match", cloud.ENIFilter{InstanceID: inst.ID, SubnetID: other.ID}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.ENIs(bg, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, e := range got {
				ids = append(ids, e.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("ENIs(%+v) = %v, want %v", tt.f, ids, tt.want)
			}
		})
	}
	if none, err := c.InstanceENIs(bg, "i-00000000000000bad"); err != nil || len(none) != 0 {
		t.Fatalf("InstanceENIs(unknown) = %v, %v; want none", none, err)
	}
}

func TestOccupyVacate(t *testing.T) {
	c := newFake(t, Options{SubnetCIDR: prefix("198.18.0.0/28")})
	subID := c.Instance().SubnetID
	tests := []struct {
		name    string
		do      func() error
		wantErr bool
	}{
		{"reserved", func() error { return c.Occupy(subID, addr("198.18.0.1")) }, true},
		{"outside", func() error { return c.Occupy(subID, addr("198.18.1.5")) }, true},
		{"taken by the primary", func() error { return c.Occupy(subID, c.Instance().PrimaryIP) }, true},
		{"free", func() error { return c.Occupy(subID, addr("198.18.0.9")) }, false},
		{"twice", func() error { return c.Occupy(subID, addr("198.18.0.9")) }, true},
		{"vacate an ENI's address", func() error { return c.Vacate(subID, c.Instance().PrimaryIP) }, true},
		{"vacate", func() error { return c.Vacate(subID, addr("198.18.0.9")) }, false},
		{"no subnet", func() error { return c.Occupy("subnet-x", addr("198.18.0.9")) }, true},
		{"too many", func() error { _, err := c.OccupyN(subID, 11); return err }, true},
	}
	for _, tt := range tests {
		if err := tt.do(); (err != nil) != tt.wantErr {
			t.Errorf("%s: err = %v, want error %v", tt.name, err, tt.wantErr)
		}
	}
	if s, _ := c.Subnet(subID); s.AvailableIPs != 10 {
		t.Fatalf("AvailableIPs = %d, want 10", s.AvailableIPs)
	}
}

// TestUnattachedAddressLimit: as in ec2sim, an ENI with no attachment may
// hold up to 50 addresses and prefixes of any type; the instance type's
// limits apply from attach on, and an ENI the instance cannot carry stays
// available, holding its addresses, until someone deletes it.
func TestUnattachedAddressLimit(t *testing.T) {
	c := newFake(t, Options{InstanceType: "m4.large"}) // Xen, 10 per ENI
	inst := c.Instance()
	e, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID, SecondaryIPs: 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.AssignIPs(bg, e.ID, 29); err != nil {
		t.Fatalf("up to 50 addresses unattached: %v", err)
	}
	if _, err := c.AssignPrefixes(bg, e.ID, 1); !errors.Is(err, cloud.ErrAddressLimit) {
		t.Fatalf("a 51st slot: err = %v, want ErrAddressLimit", err)
	}
	if _, err := c.AttachENI(bg, e.ID, inst.ID, 1, 0); !errors.Is(err, cloud.ErrAddressLimit) {
		t.Fatalf("attach 50 addresses to a 10-address type: err = %v, want ErrAddressLimit", err)
	}
	got, ok := c.ENI(e.ID)
	if !ok || got.Status != cloud.ENIAvailable || got.Attachment != nil || len(got.SecondaryIPs) != 49 {
		t.Fatalf("after a refused attach the ENI = %+v, %v; want it available with its addresses", got, ok)
	}
	if err := c.UnassignIPs(bg, e.ID, got.SecondaryIPs[:40]); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AttachENI(bg, e.ID, inst.ID, 1, 0); err != nil {
		t.Fatalf("attach 10 addresses: %v", err)
	}
	if _, err := c.AssignIPs(bg, e.ID, 1); !errors.Is(err, cloud.ErrAddressLimit) {
		t.Fatalf("assign beyond the type's limit once attached: err = %v, want ErrAddressLimit", err)
	}
}
