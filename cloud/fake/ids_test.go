package fake

import (
	"fmt"
	"strings"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// TestIDsAndTags: ids not of EC2's form and bad tags fail with the codes
// ec2sim (and EC2) answer, so with the kinds cloud.KindOf gives them.
func TestIDsAndTags(t *testing.T) {
	tests := []struct {
		name string
		do   func(t *testing.T, c *Cloud) error
		code string
		kind error
	}{
		{"malformed ENI id", func(t *testing.T, c *Cloud) error {
			_, err := c.AssignIPs(bg, "eni-missing", 1)
			return err
		}, "InvalidNetworkInterfaceID.Malformed", cloud.ErrInvalidParameter},
		{"malformed ENI id in a filter", func(t *testing.T, c *Cloud) error {
			_, err := c.ENIs(bg, cloud.ENIFilter{IDs: []string{"eni-0ABC"}})
			return err
		}, "InvalidNetworkInterfaceID.Malformed", cloud.ErrInvalidParameter},
		{"malformed subnet id", func(t *testing.T, c *Cloud) error {
			_, err := c.Subnets(bg, "subnet-x")
			return err
		}, "InvalidSubnetID.Malformed", cloud.KindOf("InvalidSubnetID.Malformed")},
		{"malformed subnet id to create in", func(t *testing.T, c *Cloud) error {
			_, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: "pods"})
			return err
		}, "InvalidSubnetID.Malformed", cloud.KindOf("InvalidSubnetID.Malformed")},
		{"malformed instance id", func(t *testing.T, c *Cloud) error {
			e, _ := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: c.Instance().SubnetID})
			_, err := c.AttachENI(bg, e.ID, "i-node1", 1, 0)
			return err
		}, "InvalidInstanceID.Malformed", cloud.KindOf("InvalidInstanceID.Malformed")},
		{"malformed security group", func(t *testing.T, c *Cloud) error {
			_, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: c.Instance().SubnetID, SecurityGroups: []string{"default"}})
			return err
		}, "InvalidGroupId.Malformed", cloud.KindOf("InvalidGroupId.Malformed")},
		{"tag what is not an ENI id", func(t *testing.T, c *Cloud) error {
			return c.TagENI(bg, "eni-missing", map[string]string{"k": "v"})
		}, "InvalidID", cloud.ErrNotFound},
		{"tag an unknown ENI", func(t *testing.T, c *Cloud) error {
			return c.TagENI(bg, "eni-00000000000000bad", map[string]string{"k": "v"})
		}, "InvalidNetworkInterfaceID.NotFound", cloud.ErrNotFound},
		{"reserved tag key", func(t *testing.T, c *Cloud) error {
			return c.TagENI(bg, c.Instance().PrimaryENI, map[string]string{"AWS:owner": "me"})
		}, "InvalidParameterValue", cloud.ErrInvalidParameter},
		{"tag value too long", func(t *testing.T, c *Cloud) error {
			return c.TagENI(bg, c.Instance().PrimaryENI, map[string]string{"k": strings.Repeat("v", 257)})
		}, "InvalidParameterValue", cloud.ErrInvalidParameter},
		{"empty tag key on create", func(t *testing.T, c *Cloud) error {
			_, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: c.Instance().SubnetID, Tags: map[string]string{"": "v"}})
			return err
		}, "InvalidParameterValue", cloud.ErrInvalidParameter},
		{"too many tags", func(t *testing.T, c *Cloud) error {
			tags := map[string]string{}
			for i := range 50 {
				tags[fmt.Sprint("k", i)] = "v"
			}
			if err := c.TagENI(bg, c.Instance().PrimaryENI, tags); err != nil {
				t.Fatalf("50 tags: %v", err)
			}
			return c.TagENI(bg, c.Instance().PrimaryENI, map[string]string{"k0": "w", "one-more": "v"})
		}, "TagLimitExceeded", cloud.KindOf("TagLimitExceeded")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkAPIError(t, tt.do(t, newFake(t, Options{})), tt.code, tt.kind)
		})
	}
}
