package fake

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// TestArgumentChecks: the arguments the real client rejects before calling
// EC2 fail the same way here, ahead of any injected fault, with no effect.
func TestArgumentChecks(t *testing.T) {
	c := newFake(t, Options{})
	inst := c.Instance()
	p := inst.PrimaryENI
	pAtt := c.AllENIs()[0].Attachment.ID
	v6 := netip.MustParseAddr("2001:db8::1")
	tests := []struct {
		name string
		op   Op
		do   func() error
	}{
		{"type: empty name", OpInstanceType, func() error { _, err := c.InstanceType(bg, ""); return err }},
		{"subnets: none", OpSubnets, func() error { _, err := c.Subnets(bg); return err }},
		{"instance ENIs: empty id", OpInstanceENIs, func() error { _, err := c.InstanceENIs(bg, ""); return err }},
		{"ENIs: empty id", OpENIs, func() error { _, err := c.ENIs(bg, cloud.ENIFilter{IDs: []string{p, ""}}); return err }},
		{"create: no subnet", OpCreateENI, func() error { _, err := c.CreateENI(bg, cloud.CreateENIRequest{}); return err }},
		{"create: negative count", OpCreateENI, func() error {
			_, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID, SecondaryIPs: -1})
			return err
		}},
		{"create: huge count", OpCreateENI, func() error {
			_, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID, Prefixes: 1<<16 + 1})
			return err
		}},
		{"create: both kinds", OpCreateENI, func() error {
			_, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID, SecondaryIPs: 1, Prefixes: 1})
			return err
		}},
		{"create: empty group", OpCreateENI, func() error {
			_, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID, SecurityGroups: []string{""}})
			return err
		}},
		{"attach: empty ENI", OpAttachENI, func() error { _, err := c.AttachENI(bg, "", inst.ID, 1, 0); return err }},
		{"attach: empty instance", OpAttachENI, func() error { _, err := c.AttachENI(bg, p, "", 1, 0); return err }},
		{"attach: negative index", OpAttachENI, func() error { _, err := c.AttachENI(bg, p, inst.ID, -1, 0); return err }},
		{"attach: negative card", OpAttachENI, func() error { _, err := c.AttachENI(bg, p, inst.ID, 1, -1); return err }},
		{"detach: empty id", OpDetachENI, func() error { return c.DetachENI(bg, "", true) }},
		{"delete: empty id", OpDeleteENI, func() error { return c.DeleteENI(bg, "") }},
		{"delete-on-termination: empty ENI", OpSetDeleteOnTermination, func() error { return c.SetDeleteOnTermination(bg, "", pAtt, false) }},
		{"delete-on-termination: empty attachment", OpSetDeleteOnTermination, func() error { return c.SetDeleteOnTermination(bg, p, "", false) }},
		{"assign: zero", OpAssignIPs, func() error { _, err := c.AssignIPs(bg, p, 0); return err }},
		{"assign: huge", OpAssignIPs, func() error { _, err := c.AssignIPs(bg, p, 1<<16+1); return err }},
		{"assign: empty id", OpAssignIPs, func() error { _, err := c.AssignIPs(bg, "", 1); return err }},
		{"prefixes: negative", OpAssignPrefixes, func() error { _, err := c.AssignPrefixes(bg, p, -1); return err }},
		{"prefixes: empty id", OpAssignPrefixes, func() error { _, err := c.AssignPrefixes(bg, "", 1); return err }},
		{"unassign: nothing", OpUnassignIPs, func() error { return c.UnassignIPs(bg, p, nil) }},
		{"unassign: IPv6", OpUnassignIPs, func() error { return c.UnassignIPs(bg, p, []netip.Addr{v6}) }},
		{"unassign: empty id", OpUnassignIPs, func() error { return c.UnassignIPs(bg, "", []netip.Addr{inst.PrimaryIP}) }},
		{"unassign prefixes: nothing", OpUnassignPrefixes, func() error { return c.UnassignPrefixes(bg, p, nil) }},
		{"unassign prefixes: zero prefix", OpUnassignPrefixes, func() error { return c.UnassignPrefixes(bg, p, []netip.Prefix{{}}) }},
		{"unassign prefixes: empty id", OpUnassignPrefixes, func() error {
			return c.UnassignPrefixes(bg, "", []netip.Prefix{prefix("198.18.0.16/28")})
		}},
		{"tag: no tags", OpTagENI, func() error { return c.TagENI(bg, p, nil) }},
		{"tag: empty key", OpTagENI, func() error { return c.TagENI(bg, p, map[string]string{"": "v"}) }},
		{"tag: empty id", OpTagENI, func() error { return c.TagENI(bg, "", map[string]string{"k": "v"}) }},
	}
	before, _ := c.Subnet(inst.SubnetID)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.SetFault(tt.op, errors.New("boom"), 0)
			defer c.SetFault(tt.op, nil, 0)
			calls := c.Calls(tt.op)
			err := tt.do()
			var apiErr *cloud.APIError
			if !errors.Is(err, cloud.ErrInvalidParameter) || errors.As(err, &apiErr) {
				t.Fatalf("err = %v, want a client-side ErrInvalidParameter", err)
			}
			if c.Calls(tt.op) != calls+1 {
				t.Fatalf("Calls(%s) = %d, want %d", tt.op, c.Calls(tt.op), calls+1)
			}
		})
	}
	after, _ := c.Subnet(inst.SubnetID)
	if all := c.AllENIs(); len(all) != 1 || len(all[0].Tags) != 0 || after.AvailableIPs != before.AvailableIPs {
		t.Fatalf("rejected calls had an effect: %d ENIs %+v, %d -> %d free", len(all), all[0], before.AvailableIPs, after.AvailableIPs)
	}
}
