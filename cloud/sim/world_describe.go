package sim

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// Filter names each Describe action accepts (tag filters aside).
var (
	instanceFilters = newFilterSet("instance-id", "instance-type", "private-ip-address", "subnet-id",
		"vpc-id", "availability-zone", "instance-state-name", "network-interface.network-interface-id")
	subnetFilters = newFilterSet("subnet-id", "vpc-id", "availability-zone", "cidr-block",
		"cidr", "cidrBlock", "available-ip-address-count", "owner-id")
	vpcFilters = newFilterSet("vpc-id", "cidr-block", "cidr", "cidr-block-association.cidr-block", "owner-id")
	eniFilters = newFilterSet("network-interface-id", "attachment.instance-id", "attachment.attachment-id",
		"attachment.device-index", "attachment.network-card-index", "attachment.status",
		"attachment.delete-on-termination", "status", "subnet-id", "vpc-id", "availability-zone",
		"description", "mac-address", "private-ip-address", "addresses.private-ip-address",
		"ipv4-prefix.ipv4-prefix", "owner-id", "group-id")
	typeFilters = newFilterSet("instance-type", "hypervisor", "bare-metal",
		"network-info.ipv4-addresses-per-interface", "network-info.maximum-network-interfaces")
)

// pick returns the records named by ids (every record when ids is empty),
// sorted by id; any unknown id fails the whole call with k's NotFound.
func pick[R any](k kind, m map[string]R, ids []string) ([]R, error) {
	if len(ids) == 0 {
		return sortedByID(m), nil
	}
	var missing []string
	found := map[string]R{}
	for _, id := range ids {
		if err := checkID(k, id); err != nil {
			return nil, err
		}
		if r, ok := m[id]; ok {
			found[id] = r
		} else if !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, notFound(k, missing)
	}
	return sortedByID(found), nil
}

// DescribeInstances describes instances by id and filters, ordered by id.
func (w *World) DescribeInstances(ids []string, filters []Filter) ([]Instance, error) {
	defer w.lock()()
	if err := instanceFilters.check(filters); err != nil {
		return nil, err
	}
	recs, err := pick(kindInstance, w.instances, ids)
	if err != nil {
		return nil, err
	}
	recs = applyFilters(recs, filters, instanceField)
	out := make([]Instance, 0, len(recs))
	for _, r := range recs {
		out = append(out, copyInstance(r.Instance))
	}
	return out, nil
}

func instanceField(in *instRec, name string) []string {
	switch name {
	case "instance-id":
		return []string{in.ID}
	case "instance-type":
		return []string{in.Type}
	case "private-ip-address":
		return []string{in.PrimaryIP.String()}
	case "subnet-id":
		return []string{in.SubnetID}
	case "vpc-id":
		return []string{in.VPCID}
	case "availability-zone":
		return []string{in.AZ}
	case "instance-state-name":
		return []string{in.State}
	case "network-interface.network-interface-id":
		return slices.Sorted(maps.Keys(in.enis))
	}
	return tagFields(in.Tags, name)
}

// DescribeInstanceTypes describes instance types from the built-in table,
// ordered by name.
func (w *World) DescribeInstanceTypes(types []string, filters []Filter) ([]cloud.InstanceTypeLimits, error) {
	if err := typeFilters.check(filters); err != nil {
		return nil, err
	}
	names := cloud.BuiltinInstanceTypeNames()
	if len(types) > 0 {
		var missing []string
		for _, t := range types {
			if !slices.Contains(names, t) && !slices.Contains(missing, t) {
				missing = append(missing, t)
			}
		}
		if len(missing) > 0 {
			return nil, errf(CodeInvalidInstanceType,
				"The following supplied instance types do not exist: [%s]", strings.Join(missing, ", "))
		}
		names = slices.DeleteFunc(names, func(n string) bool { return !slices.Contains(types, n) })
	}
	out := make([]cloud.InstanceTypeLimits, 0, len(names))
	for _, n := range names {
		if l, ok := cloud.BuiltinInstanceType(n); ok {
			out = append(out, l)
		}
	}
	return applyFilters(out, filters, typeField), nil
}

func typeField(l cloud.InstanceTypeLimits, name string) []string {
	switch name {
	case "instance-type":
		return []string{l.Type}
	case "hypervisor":
		return []string{l.Hypervisor}
	case "bare-metal":
		return []string{strconv.FormatBool(l.BareMetal)}
	case "network-info.ipv4-addresses-per-interface":
		return []string{strconv.Itoa(l.IPv4PerENI)}
	case "network-info.maximum-network-interfaces":
		return []string{strconv.Itoa(l.MaxENIs)}
	}
	return nil
}

// DescribeSubnets describes subnets by id and filters, ordered by id.
func (w *World) DescribeSubnets(ids []string, filters []Filter) ([]Subnet, error) {
	defer w.lock()()
	if err := subnetFilters.check(filters); err != nil {
		return nil, err
	}
	recs, err := pick(kindSubnet, w.subnets, ids)
	if err != nil {
		return nil, err
	}
	out := make([]Subnet, 0, len(recs))
	for _, r := range recs {
		out = append(out, r.view())
	}
	return applyFilters(out, filters, w.subnetField), nil
}

func (w *World) subnetField(s Subnet, name string) []string {
	switch name {
	case "subnet-id":
		return []string{s.ID}
	case "vpc-id":
		return []string{s.VPCID}
	case "availability-zone":
		return []string{s.AZ}
	case "cidr-block", "cidr", "cidrBlock":
		return []string{s.CIDR.String()}
	case "available-ip-address-count":
		return []string{strconv.Itoa(s.AvailableIPs)}
	case "owner-id":
		return []string{w.account}
	}
	return tagFields(s.Tags, name)
}

// DescribeVpcs describes VPCs by id and filters, ordered by id.
func (w *World) DescribeVpcs(ids []string, filters []Filter) ([]VPC, error) {
	defer w.lock()()
	if err := vpcFilters.check(filters); err != nil {
		return nil, err
	}
	recs, err := pick(kindVPC, w.vpcs, ids)
	if err != nil {
		return nil, err
	}
	out := make([]VPC, 0, len(recs))
	for _, r := range recs {
		out = append(out, copyVPC(r.VPC))
	}
	return applyFilters(out, filters, w.vpcField), nil
}

func (w *World) vpcField(v VPC, name string) []string {
	switch name {
	case "vpc-id":
		return []string{v.ID}
	case "cidr-block", "cidr":
		return []string{v.CIDRs[0].String()}
	case "cidr-block-association.cidr-block":
		return stringsOf(v.CIDRs)
	case "owner-id":
		return []string{w.account}
	}
	return tagFields(v.Tags, name)
}

// DescribeNetworkInterfaces describes ENIs by id and filters, ordered by id.
func (w *World) DescribeNetworkInterfaces(ids []string, filters []Filter) ([]ENI, error) {
	defer w.lock()()
	if err := eniFilters.check(filters); err != nil {
		return nil, err
	}
	recs, err := pick(kindENI, w.enis, ids)
	if err != nil {
		return nil, err
	}
	out := make([]ENI, 0, len(recs))
	for _, r := range recs {
		out = append(out, copyENI(r.ENI))
	}
	return applyFilters(out, filters, eniField), nil
}

func eniField(e ENI, name string) []string {
	if v, ok := attachmentField(e.Attachment, name); ok {
		return v
	}
	switch name {
	case "network-interface-id":
		return []string{e.ID}
	case "status":
		return []string{e.Status}
	case "subnet-id":
		return []string{e.SubnetID}
	case "vpc-id":
		return []string{e.VPCID}
	case "availability-zone":
		return []string{e.AZ}
	case "description":
		return []string{e.Description}
	case "mac-address":
		return []string{e.MAC}
	case "private-ip-address", "addresses.private-ip-address":
		return append([]string{e.PrimaryIP.String()}, stringsOf(e.SecondaryIPs)...)
	case "ipv4-prefix.ipv4-prefix":
		return stringsOf(e.Prefixes)
	case "owner-id":
		return []string{e.OwnerID}
	case "group-id":
		return e.SecurityGroups
	}
	return tagFields(e.Tags, name)
}

// attachmentField answers the attachment.* filters; an unattached ENI has
// no value for any of them.
func attachmentField(a *Attachment, name string) ([]string, bool) {
	if !strings.HasPrefix(name, "attachment.") {
		return nil, false
	}
	if a == nil {
		return nil, true
	}
	switch name {
	case "attachment.instance-id":
		return []string{a.InstanceID}, true
	case "attachment.attachment-id":
		return []string{a.ID}, true
	case "attachment.device-index":
		return []string{strconv.Itoa(a.DeviceIndex)}, true
	case "attachment.network-card-index":
		return []string{strconv.Itoa(a.NetworkCardIndex)}, true
	case "attachment.status":
		return []string{a.Status}, true
	case "attachment.delete-on-termination":
		return []string{strconv.FormatBool(a.DeleteOnTermination)}, true
	}
	return nil, true
}

func stringsOf[T fmt.Stringer](xs []T) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = x.String()
	}
	return out
}
