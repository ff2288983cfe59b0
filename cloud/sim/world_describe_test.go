package sim

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func eniIDs(es []ENI) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestWorldDescribeNetworkInterfacesFilters(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	a := f.createENI(CreateENIInput{Description: "aws-K8S-i-1", SecondaryIPCount: 2,
		Tags: []Tag{{"cluster", "lab"}, {"node.k8s.amazonaws.com/instance_id", "i-1"}}})
	b := f.createENI(CreateENIInput{Description: "other", Tags: []Tag{{"cluster", "prod"}}})
	attB := f.attach(b.ID, f.inst.ID, 1)
	prim := f.inst.PrimaryENIID
	tests := []struct {
		name    string
		filters []Filter
		want    []string
		code    string
	}{
		{"none", nil, []string{a.ID, b.ID, prim}, ""},
		{"status available", []Filter{{"status", []string{"available"}}}, []string{a.ID}, ""},
		{"status OR", []Filter{{"status", []string{"available", "in-use"}}}, []string{a.ID, b.ID, prim}, ""},
		{"attachment.instance-id", []Filter{{"attachment.instance-id", []string{f.inst.ID}}}, []string{b.ID, prim}, ""},
		{"attachment.attachment-id", []Filter{{"attachment.attachment-id", []string{attB}}}, []string{b.ID}, ""},
		{"attachment.device-index", []Filter{{"attachment.device-index", []string{"0"}}}, []string{prim}, ""},
		{"attachment.status", []Filter{{"attachment.status", []string{"attached"}}}, []string{b.ID, prim}, ""},
		{"subnet and vpc AND", []Filter{{"subnet-id", []string{f.subnet.ID}}, {"vpc-id", []string{f.vpc.ID}}}, []string{a.ID, b.ID, prim}, ""},
		{"availability-zone", []Filter{{"availability-zone", []string{"us-west-2b"}}}, nil, ""},
		{"description wildcard", []Filter{{"description", []string{"aws-K8S-*"}}}, []string{a.ID}, ""},
		{"mac-address", []Filter{{"mac-address", []string{b.MAC}}}, []string{b.ID}, ""},
		{"private-ip-address secondary", []Filter{{"private-ip-address", []string{a.SecondaryIPs[1].String()}}}, []string{a.ID}, ""},
		{"private-ip-address primary", []Filter{{"private-ip-address", []string{b.PrimaryIP.String()}}}, []string{b.ID}, ""},
		{"tag value", []Filter{{"tag:cluster", []string{"lab"}}}, []string{a.ID}, ""},
		{"tag value wildcard", []Filter{{"tag:cluster", []string{"pr?d"}}}, []string{b.ID}, ""},
		{"tag-key", []Filter{{"tag-key", []string{"node.k8s.amazonaws.com/instance_id"}}}, []string{a.ID}, ""},
		{"tag-key and status", []Filter{{"tag-key", []string{"cluster"}}, {"status", []string{"in-use"}}}, []string{b.ID}, ""},
		{"network-interface-id wildcard", []Filter{{"network-interface-id", []string{"eni-*"}}}, []string{a.ID, b.ID, prim}, ""},
		{"unknown filter", []Filter{{"colour", []string{"red"}}}, nil, CodeInvalidParameterValue},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := f.w.DescribeNetworkInterfaces(nil, tc.filters)
			wantCode(t, err, tc.code)
			want := slices.Clone(tc.want)
			slices.Sort(want)
			if ids := eniIDs(got); !slices.Equal(ids, want) {
				t.Fatalf("got %v, want %v", ids, want)
			}
		})
	}
	_, err := f.w.DescribeNetworkInterfaces([]string{a.ID, "eni-0000000000000000a"}, nil)
	wantCode(t, err, CodeENINotFound)
	got, err := f.w.DescribeNetworkInterfaces([]string{b.ID, a.ID}, []Filter{{"status", []string{"in-use"}}})
	wantCode(t, err, "")
	if ids := eniIDs(got); !slices.Equal(ids, []string{b.ID}) {
		t.Fatalf("ids and filters: got %v", ids)
	}
}

func TestWorldDescribeOthers(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	wantCode(t, f.w.CreateTags([]string{f.inst.ID, f.subnet.ID, f.vpc.ID}, []Tag{{"Name", "lab-1"}}), "")
	t3 := f.launch("t3.medium")

	ins, err := f.w.DescribeInstances(nil, []Filter{{"instance-type", []string{"t3.*"}}})
	if err != nil || len(ins) != 1 || ins[0].ID != t3.ID {
		t.Fatalf("instances by type: %v %v", ins, err)
	}
	ins, err = f.w.DescribeInstances(nil, []Filter{{"tag:Name", []string{"lab-?"}}, {"instance-state-name", []string{"running"}}})
	if err != nil || len(ins) != 1 || ins[0].ID != f.inst.ID {
		t.Fatalf("instances by tag: %v %v", ins, err)
	}
	ins, err = f.w.DescribeInstances(nil, []Filter{{"private-ip-address", []string{t3.PrimaryIP.String()}}})
	if err != nil || len(ins) != 1 || ins[0].ID != t3.ID {
		t.Fatalf("instances by address: %v %v", ins, err)
	}
	ins, _ = f.w.DescribeInstances(nil, nil)
	if len(ins) != 2 || ins[0].ID > ins[1].ID {
		t.Fatalf("instances not sorted: %v", ins)
	}
	_, err = f.w.DescribeInstances([]string{"i-0000000000000000a", "i-0000000000000000b"}, nil)
	wantCode(t, err, CodeInstanceNotFound)
	if !strings.Contains(err.Error(), "i-0000000000000000a, i-0000000000000000b") {
		t.Fatalf("message names both ids: %v", err)
	}
	_, err = f.w.DescribeInstances([]string{"instance-1"}, nil)
	wantCode(t, err, CodeInstanceMalformed)

	sns, err := f.w.DescribeSubnets(nil, []Filter{{"cidr-block", []string{"10.0.0.0/24"}}, {"tag-key", []string{"Name"}}})
	if err != nil || len(sns) != 1 || sns[0].AvailableIPs != 251-2 {
		t.Fatalf("subnets: %v %v", sns, err)
	}
	_, err = f.w.DescribeSubnets([]string{"subnet-0000000000000000a"}, nil)
	wantCode(t, err, CodeSubnetNotFound)
	_, err = f.w.DescribeSubnets(nil, []Filter{{"state", []string{"available"}}})
	wantCode(t, err, CodeInvalidParameterValue)

	vpcs, err := f.w.DescribeVpcs(nil, []Filter{{"cidr-block", []string{"10.0.*"}}})
	if err != nil || len(vpcs) != 1 || vpcs[0].ID != f.vpc.ID {
		t.Fatalf("vpcs: %v %v", vpcs, err)
	}
	_, err = f.w.DescribeVpcs([]string{"vpc-0000000000000000a"}, nil)
	wantCode(t, err, CodeVpcNotFound)
}

func TestWorldDescribeInstanceTypes(t *testing.T) {
	w := NewWorld(WorldOptions{Seed: 1})
	got, err := w.DescribeInstanceTypes([]string{"t3.medium", "m5.large"}, nil)
	if err != nil || len(got) != 2 || got[0].Type != "m5.large" || got[1].Type != "t3.medium" {
		t.Fatalf("by name: %v %v", got, err)
	}
	_, err = w.DescribeInstanceTypes([]string{"m5.large", "x9.tiny"}, nil)
	wantCode(t, err, CodeInvalidInstanceType)
	if !strings.Contains(err.Error(), "do not exist: [x9.tiny]") {
		t.Fatalf("message: %v", err)
	}
	tests := []struct {
		name    string
		filters []Filter
		check   func(t *testing.T, l []string)
	}{
		{"xen", []Filter{{"hypervisor", []string{"xen"}}}, func(t *testing.T, l []string) {
			if !slices.Contains(l, "m4.large") || slices.Contains(l, "m5.large") {
				t.Fatalf("got %v", l)
			}
		}},
		{"10 addresses and 3 ENIs", []Filter{{"network-info.ipv4-addresses-per-interface", []string{"10"}},
			{"network-info.maximum-network-interfaces", []string{"3"}}}, func(t *testing.T, l []string) {
			if !slices.Contains(l, "m5.large") || slices.Contains(l, "t3.medium") {
				t.Fatalf("got %v", l)
			}
		}},
		{"bare metal", []Filter{{"bare-metal", []string{"true"}}, {"instance-type", []string{"*.metal"}}}, func(t *testing.T, l []string) {
			if len(l) == 0 || !slices.IsSorted(l) {
				t.Fatalf("got %v", l)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := w.DescribeInstanceTypes(nil, tc.filters)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, l := range got {
				names = append(names, l.Type)
			}
			tc.check(t, names)
		})
	}
	_, err = w.DescribeInstanceTypes(nil, []Filter{{"memory", []string{"1"}}})
	wantCode(t, err, CodeInvalidParameterValue)
}

func TestWorldTags(t *testing.T) {
	f := newEngFixture(t, engSetup{})
	e := f.createENI(CreateENIInput{Tags: []Tag{{"a", "1"}, {"b", "2"}}})
	many := make([]Tag, 49)
	for i := range many {
		many[i] = Tag{Key: "k" + string(rune('A'+i)), Value: "v"}
	}
	tests := []struct {
		name string
		ids  []string
		tags []Tag
		code string
	}{
		{"overwrite and add", []string{e.ID}, []Tag{{"b", "3"}, {"c", "4"}}, ""},
		{"reserved key", []string{e.ID}, []Tag{{"aws:foo", "x"}}, CodeInvalidParameterValue},
		{"empty key", []string{e.ID}, []Tag{{"", "x"}}, CodeInvalidParameterValue},
		{"unknown prefix", []string{"sg-0123"}, []Tag{{"x", "y"}}, CodeInvalidID},
		{"unknown ENI", []string{e.ID, "eni-0000000000000000a"}, []Tag{{"x", "y"}}, CodeENINotFound},
		{"unknown instance", []string{"i-0000000000000000a"}, []Tag{{"x", "y"}}, CodeInstanceNotFound},
		{"over 50", []string{e.ID}, many, CodeTagLimitExceeded},
		{"no tags", []string{e.ID}, nil, CodeMissingParameter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wantCode(t, f.w.CreateTags(tc.ids, tc.tags), tc.code)
		})
	}
	want := []Tag{{"a", "1"}, {"b", "3"}, {"c", "4"}}
	if got := f.eni(e.ID).Tags; !slices.Equal(got, want) {
		t.Fatalf("tags %v, want %v (failed calls must change nothing)", got, want)
	}
	wantCode(t, f.w.DeleteTags([]string{e.ID}, []DeleteTag{{Key: "a", Value: "nope"}, {Key: "b", DeleteAnyValue: true}}), "")
	want = []Tag{{"a", "1"}, {"c", "4"}}
	if got := f.eni(e.ID).Tags; !slices.Equal(got, want) {
		t.Fatalf("after delete: %v, want %v", got, want)
	}
	wantCode(t, f.w.DeleteTags([]string{e.ID}, []DeleteTag{{Key: "a", Value: "1"}}), "")
	wantCode(t, f.w.DeleteTags([]string{e.ID}, nil), "")
	if got := f.eni(e.ID).Tags; len(got) != 0 {
		t.Fatalf("after deleting all: %v", got)
	}
	wantCode(t, f.w.DeleteTags([]string{"vpc-0000000000000000a"}, nil), CodeVpcNotFound)
	_, err := f.w.CreateVPC(netip.MustParsePrefix("10.9.0.0/16"), []Tag{{"aws:x", "y"}})
	wantCode(t, err, CodeInvalidParameterValue)
}
