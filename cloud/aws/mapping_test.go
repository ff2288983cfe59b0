package aws

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// formHas reports every key=value of want missing from form.
func formMissing(form url.Values, want map[string]string) []string {
	var missing []string
	for k, v := range want {
		if form.Get(k) != v {
			missing = append(missing, fmt.Sprintf("%s=%q (got %q)", k, v, form.Get(k)))
		}
	}
	return missing
}

const instanceTypeXML = `<instanceTypeSet><item>
<instanceType>p5.48xlarge</instanceType><hypervisor>nitro</hypervisor><bareMetal>false</bareMetal>
<vCpuInfo><defaultVCpus>192</defaultVCpus></vCpuInfo><memoryInfo><sizeInMiB>2097152</sizeInMiB></memoryInfo>
<networkInfo><maximumNetworkInterfaces>64</maximumNetworkInterfaces><ipv4AddressesPerInterface>50</ipv4AddressesPerInterface>
<ipv6AddressesPerInterface>50</ipv6AddressesPerInterface><defaultNetworkCardIndex>0</defaultNetworkCardIndex>
<networkCards><item><networkCardIndex>1</networkCardIndex><maximumNetworkInterfaces>2</maximumNetworkInterfaces></item>
<item><networkCardIndex>0</networkCardIndex><maximumNetworkInterfaces>62</maximumNetworkInterfaces></item></networkCards>
</networkInfo></item></instanceTypeSet>`

func TestInstanceType(t *testing.T) {
	f := newFakeEC2(t, func(_ int, action string, form url.Values) reply {
		if form.Get("InstanceType.1") == "p5.48xlarge" {
			return okReply(action, instanceTypeXML)
		}
		return errReply(400, "InvalidInstanceType", "The following supplied instance types do not exist: [x9.huge]", "r")
	})
	o, _ := testOptions(f.srv.URL)
	c := newTestEC2(t, o)
	got, err := c.InstanceType(context.Background(), "p5.48xlarge")
	if err != nil {
		t.Fatal(err)
	}
	want := cloud.InstanceTypeLimits{
		Type: "p5.48xlarge", MaxENIs: 64, IPv4PerENI: 50, IPv6PerENI: 50,
		NetworkCards: []cloud.NetworkCard{{Index: 0, MaxENIs: 62}, {Index: 1, MaxENIs: 2}},
		Hypervisor:   "nitro", VCPUs: 192, MemoryMiB: 2097152,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}

	_, err = c.InstanceType(context.Background(), "x9.huge")
	if !errors.Is(err, cloud.ErrNotFound) || !strings.Contains(err.Error(), "x9.huge") {
		t.Errorf("unknown type: err = %v, want ErrNotFound naming the type", err)
	}
	if errors.Is(err, cloud.ErrInvalidParameter) {
		t.Errorf("unknown type should be not found only: %v", err)
	}
	var ae *cloud.APIError
	if !errors.As(err, &ae) || ae.Code != "InvalidInstanceType" || ae.RequestID != "r" {
		t.Errorf("unknown type: err = %v, want a *cloud.APIError keeping EC2's code and request id", err)
	}
}

func TestInstanceTypeEmptyAnswer(t *testing.T) {
	f := newFakeEC2(t, func(_ int, action string, _ url.Values) reply { return okReply(action, "<instanceTypeSet/>") })
	o, _ := testOptions(f.srv.URL)
	c := newTestEC2(t, o)
	_, err := c.InstanceType(context.Background(), "m5.large")
	if !errors.Is(err, cloud.ErrNotFound) || !strings.Contains(err.Error(), "m5.large") {
		t.Errorf("err = %v, want ErrNotFound naming the type", err)
	}
}

func TestSubnetsPaginate(t *testing.T) {
	f := newFakeEC2(t, func(_ int, action string, form url.Values) reply {
		if form.Get("NextToken") == "" {
			return okReply(action, `<subnetSet><item><subnetId>subnet-a</subnetId><vpcId>vpc-1</vpcId>
<availabilityZone>us-west-2a</availabilityZone><cidrBlock>10.0.0.0/24</cidrBlock><availableIpAddressCount>250</availableIpAddressCount>
<tagSet><item><key>Name</key><value>a</value></item></tagSet></item></subnetSet><nextToken>p2</nextToken>`)
		}
		return okReply(action, `<subnetSet><item><subnetId>subnet-b</subnetId><vpcId>vpc-1</vpcId>
<availabilityZone>us-west-2b</availabilityZone><cidrBlock>10.0.1.0/28</cidrBlock><availableIpAddressCount>11</availableIpAddressCount></item></subnetSet>`)
	})
	o, _ := testOptions(f.srv.URL)
	c := newTestEC2(t, o)
	got, err := c.Subnets(context.Background(), "subnet-a", "subnet-b")
	if err != nil {
		t.Fatal(err)
	}
	want := []cloud.Subnet{
		{ID: "subnet-a", VPCID: "vpc-1", AZ: "us-west-2a", CIDR: netip.MustParsePrefix("10.0.0.0/24"), AvailableIPs: 250, Tags: map[string]string{"Name": "a"}},
		{ID: "subnet-b", VPCID: "vpc-1", AZ: "us-west-2b", CIDR: netip.MustParsePrefix("10.0.1.0/28"), AvailableIPs: 11},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("requests = %d, want 2 pages", len(reqs))
	}
	if m := formMissing(reqs[0], map[string]string{"SubnetId.1": "subnet-a", "SubnetId.2": "subnet-b", "MaxResults": ""}); m != nil {
		t.Errorf("first page form: %v", m)
	}
}

func eniXML(id string, device int) string { return eniXMLOn(id, 0, device) }

// eniXMLOn is an attached ENI at a device index on a network card.
func eniXMLOn(id string, card, device int) string {
	return fmt.Sprintf(`<item><networkInterfaceId>%[1]s</networkInterfaceId><subnetId>subnet-a</subnetId><vpcId>vpc-1</vpcId>
<availabilityZone>us-west-2a</availabilityZone><description>d</description><status>in-use</status>
<macAddress>0a:00:00:00:00:0%[2]d</macAddress><privateIpAddress>10.0.0.1%[2]d</privateIpAddress>
<groupSet><item><groupId>sg-1</groupId><groupName>g</groupName></item></groupSet>
<attachment><attachmentId>attach-%[1]s</attachmentId><instanceId>i-1</instanceId><deviceIndex>%[2]d</deviceIndex>
<networkCardIndex>%[3]d</networkCardIndex><status>attached</status><deleteOnTermination>false</deleteOnTermination></attachment>
<privateIpAddressesSet>
<item><privateIpAddress>10.0.0.2%[2]d</privateIpAddress><primary>false</primary></item>
<item><privateIpAddress>10.0.0.1%[2]d</privateIpAddress><primary>true</primary></item>
</privateIpAddressesSet>
<ipv4PrefixSet><item><ipv4Prefix>10.0.%[2]d.0/28</ipv4Prefix></item></ipv4PrefixSet>
<tagSet><item><key>cluster</key><value>c1</value></item></tagSet></item>`, id, device, card)
}

// TestInstanceENIsOrder: by network card, then device index (which repeats
// across cards on multi-card types), then id.
func TestInstanceENIsOrder(t *testing.T) {
	f := newFakeEC2(t, func(_ int, action string, _ url.Values) reply {
		return okReply(action, "<networkInterfaceSet>"+
			eniXMLOn("eni-d", 1, 0)+eniXMLOn("eni-e", 0, 1)+eniXMLOn("eni-c", 1, 1)+
			eniXMLOn("eni-a", 0, 0)+eniXMLOn("eni-b", 0, 1)+"</networkInterfaceSet>")
	})
	o, _ := testOptions(f.srv.URL)
	c := newTestEC2(t, o)
	enis, err := c.InstanceENIs(context.Background(), "i-1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range enis {
		got = append(got, fmt.Sprintf("%s@%d/%d", e.ID, e.Attachment.NetworkCard, e.Attachment.DeviceIndex))
	}
	want := []string{"eni-a@0/0", "eni-b@0/1", "eni-e@0/1", "eni-d@1/0", "eni-c@1/1"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("InstanceENIs order = %v, want %v", got, want)
	}
}

func TestInstanceENIsPaginateFilterSort(t *testing.T) {
	f := newFakeEC2(t, func(_ int, action string, form url.Values) reply {
		if form.Get("NextToken") == "" {
			return okReply(action, "<networkInterfaceSet>"+eniXML("eni-c", 2)+eniXML("eni-a", 0)+"</networkInterfaceSet><nextToken>t2</nextToken>")
		}
		return okReply(action, "<networkInterfaceSet>"+eniXML("eni-b", 1)+"</networkInterfaceSet>")
	})
	o, _ := testOptions(f.srv.URL)
	o.PageSize = 2
	c := newTestEC2(t, o)
	enis, err := c.InstanceENIs(context.Background(), "i-1")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range enis {
		ids = append(ids, e.ID)
	}
	if want := []string{"eni-a", "eni-b", "eni-c"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ids = %v, want %v (by device index)", ids, want)
	}
	want := cloud.ENI{
		ID: "eni-b", MAC: "0a:00:00:00:00:01", SubnetID: "subnet-a", VPCID: "vpc-1", AZ: "us-west-2a",
		Description: "d", Status: "in-use", PrimaryIP: netip.MustParseAddr("10.0.0.11"),
		SecondaryIPs:   []netip.Addr{netip.MustParseAddr("10.0.0.21")},
		Prefixes:       []netip.Prefix{netip.MustParsePrefix("10.0.1.0/28")},
		SecurityGroups: []string{"sg-1"}, Tags: map[string]string{"cluster": "c1"},
		Attachment: &cloud.Attachment{ID: "attach-eni-b", InstanceID: "i-1", DeviceIndex: 1, State: cloud.Attached},
	}
	if !reflect.DeepEqual(enis[1], want) {
		t.Errorf("got  %+v\nwant %+v", enis[1], want)
	}
	reqs := f.requests()
	if len(reqs) != 2 {
		t.Fatalf("requests = %d, want 2 pages", len(reqs))
	}
	wantForm := map[string]string{
		"Action": "DescribeNetworkInterfaces", "MaxResults": "5", // clamped to EC2's minimum
		"Filter.1.Name": "attachment.instance-id", "Filter.1.Value.1": "i-1",
	}
	if m := formMissing(reqs[0], wantForm); m != nil {
		t.Errorf("first page form: %v", m)
	}
	if got := reqs[1].Get("NextToken"); got != "t2" {
		t.Errorf("second page NextToken = %q", got)
	}
}

func TestENIFilterForm(t *testing.T) {
	f := newFakeEC2(t, func(_ int, action string, _ url.Values) reply { return okReply(action, "<networkInterfaceSet/>") })
	o, _ := testOptions(f.srv.URL)
	c := newTestEC2(t, o)
	_, err := c.ENIs(context.Background(), cloud.ENIFilter{
		IDs: []string{"eni-1", "eni-2"}, SubnetID: "subnet-1", VPCID: "vpc-1", Status: "available",
		Tags: map[string]string{"b": "2", "a": "1"}, TagKeys: []string{"k1", "k2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"NetworkInterfaceId.1": "eni-1", "NetworkInterfaceId.2": "eni-2", "MaxResults": "",
		"Filter.1.Name": "subnet-id", "Filter.1.Value.1": "subnet-1",
		"Filter.2.Name": "vpc-id", "Filter.2.Value.1": "vpc-1",
		"Filter.3.Name": "status", "Filter.3.Value.1": "available",
		"Filter.4.Name": "tag:a", "Filter.4.Value.1": "1",
		"Filter.5.Name": "tag:b", "Filter.5.Value.1": "2",
		"Filter.6.Name": "tag-key", "Filter.6.Value.1": "k1",
		"Filter.7.Name": "tag-key", "Filter.7.Value.1": "k2",
	}
	if m := formMissing(f.requests()[0], want); m != nil {
		t.Errorf("form: %v", m)
	}
}

func TestMutatingForms(t *testing.T) {
	answers := map[string]string{
		"CreateNetworkInterface":          "<networkInterface>" + strings.TrimSuffix(strings.TrimPrefix(eniXML("eni-new", 1), "<item>"), "</item>") + "</networkInterface>",
		"AttachNetworkInterface":          "<attachmentId>eni-attach-1</attachmentId><networkCardIndex>1</networkCardIndex>",
		"AssignPrivateIpAddresses":        "<networkInterfaceId>eni-1</networkInterfaceId><assignedIpv4PrefixSet><item><ipv4Prefix>10.0.2.0/28</ipv4Prefix></item></assignedIpv4PrefixSet>",
		"DetachNetworkInterface":          "<return>true</return>",
		"DeleteNetworkInterface":          "<return>true</return>",
		"ModifyNetworkInterfaceAttribute": "<return>true</return>",
		"UnassignPrivateIpAddresses":      "<return>true</return>",
		"CreateTags":                      "<return>true</return>",
	}
	f := newFakeEC2(t, func(_ int, action string, _ url.Values) reply { return okReply(action, answers[action]) })
	o, _ := testOptions(f.srv.URL)
	c := newTestEC2(t, o)
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		form map[string]string
	}{
		{"create", func() error {
			e, err := c.CreateENI(ctx, cloud.CreateENIRequest{
				SubnetID: "subnet-1", Description: "vpc-cni", SecurityGroups: []string{"sg-1", "sg-2"},
				Prefixes: 2, Tags: map[string]string{"node": "n1", "cluster": "c1"},
			})
			if err == nil && e.ID != "eni-new" {
				err = fmt.Errorf("eni id %q", e.ID)
			}
			return err
		}, map[string]string{
			"SubnetId": "subnet-1", "Description": "vpc-cni", "SecurityGroupId.1": "sg-1", "SecurityGroupId.2": "sg-2",
			"Ipv4PrefixCount": "2", "SecondaryPrivateIpAddressCount": "",
			"TagSpecification.1.ResourceType": "network-interface",
			"TagSpecification.1.Tag.1.Key":    "cluster", "TagSpecification.1.Tag.1.Value": "c1",
			"TagSpecification.1.Tag.2.Key": "node", "TagSpecification.1.Tag.2.Value": "n1",
		}},
		{"attach", func() error {
			id, err := c.AttachENI(ctx, "eni-1", "i-1", 3, 1)
			if err == nil && id != "eni-attach-1" {
				err = fmt.Errorf("attachment id %q", id)
			}
			return err
		}, map[string]string{"NetworkInterfaceId": "eni-1", "InstanceId": "i-1", "DeviceIndex": "3", "NetworkCardIndex": "1"}},
		{"assign prefixes", func() error {
			p, err := c.AssignPrefixes(ctx, "eni-1", 1)
			if err == nil && (len(p) != 1 || p[0] != netip.MustParsePrefix("10.0.2.0/28")) {
				err = fmt.Errorf("prefixes %v", p)
			}
			return err
		}, map[string]string{"NetworkInterfaceId": "eni-1", "Ipv4PrefixCount": "1"}},
		{"detach", func() error { return c.DetachENI(ctx, "eni-attach-1", true) },
			map[string]string{"AttachmentId": "eni-attach-1", "Force": "true"}},
		{"delete", func() error { return c.DeleteENI(ctx, "eni-1") }, map[string]string{"NetworkInterfaceId": "eni-1"}},
		{"delete on termination", func() error { return c.SetDeleteOnTermination(ctx, "eni-1", "eni-attach-1", true) },
			map[string]string{"NetworkInterfaceId": "eni-1", "Attachment.AttachmentId": "eni-attach-1", "Attachment.DeleteOnTermination": "true"}},
		{"unassign ips", func() error {
			return c.UnassignIPs(ctx, "eni-1", []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("10.0.0.6")})
		}, map[string]string{"NetworkInterfaceId": "eni-1", "PrivateIpAddress.1": "10.0.0.5", "PrivateIpAddress.2": "10.0.0.6"}},
		{"unassign prefixes", func() error {
			return c.UnassignPrefixes(ctx, "eni-1", []netip.Prefix{netip.MustParsePrefix("10.0.2.0/28")})
		}, map[string]string{"NetworkInterfaceId": "eni-1", "Ipv4Prefix.1": "10.0.2.0/28"}},
		{"tag", func() error { return c.TagENI(ctx, "eni-1", map[string]string{"k": "v"}) },
			map[string]string{"ResourceId.1": "eni-1", "Tag.1.Key": "k", "Tag.1.Value": "v"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.requests())
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			reqs := f.requests()
			if len(reqs) != before+1 {
				t.Fatalf("requests %d → %d, want one more", before, len(reqs))
			}
			if m := formMissing(reqs[len(reqs)-1], tt.form); m != nil {
				t.Errorf("form: %v", m)
			}
		})
	}
}

func TestMalformedResponseValue(t *testing.T) {
	f := newFakeEC2(t, func(_ int, action string, _ url.Values) reply {
		return okReply(action, `<assignedPrivateIpAddressesSet><item><privateIpAddress>10.0.0.999</privateIpAddress></item></assignedPrivateIpAddressesSet>`)
	})
	o, _ := testOptions(f.srv.URL)
	c := newTestEC2(t, o)
	_, err := c.AssignIPs(context.Background(), "eni-1", 1)
	if err == nil || !strings.Contains(err.Error(), "10.0.0.999") {
		t.Errorf("err = %v, want an error naming the malformed address", err)
	}
}
