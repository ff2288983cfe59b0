package sim

import (
	"cmp"
	"net/http"
	"slices"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// The Describe actions: ids and filters go to the World; the answer is
// ordered by id and paged.

var (
	specDescribeInstances = newSpec(nil, pDryRun, pFilters, pPaging, map[string]qType{
		"InstanceId.N": qString, "IncludeManagedResources": qBool,
	})
	specDescribeInstanceTypes = newSpec(nil, pDryRun, pFilters, pPaging, map[string]qType{
		"InstanceType.N": qString, "IncludeUnsupportedInRegion": qBool,
	})
	specDescribeSubnets = newSpec(nil, pDryRun, pFilters, pPaging, map[string]qType{
		"SubnetId.N": qString,
	})
	specDescribeVpcs = newSpec(nil, pDryRun, pFilters, pPaging, map[string]qType{
		"VpcId.N": qString,
	})
	specDescribeNetworkInterfaces = newSpec(nil, pDryRun, pFilters, pPaging, map[string]qType{
		"NetworkInterfaceId.N": qString, "IncludeManagedResources": qBool,
	})
)

// EC2's MaxResults ranges.
var (
	pageInstances     = pageRule{min: 5, max: 1000}
	pageInstanceTypes = pageRule{min: 5, max: 100, defaultSize: 100}
	pageSubnets       = pageRule{min: 5, max: 1000}
	pageVpcs          = pageRule{min: 5, max: 1000}
	pageENIs          = pageRule{min: 5, max: 1000}
)

// sortedKeys sorts items by key and returns the keys.
func sortedKeys[T any](items []T, key func(T) string) []string {
	slices.SortStableFunc(items, func(a, b T) int { return cmp.Compare(key(a), key(b)) })
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = key(it)
	}
	return keys
}

// notWithIDs refuses MaxResults together with a list of ids, as EC2 does
// for some actions.
func notWithIDs(q *query, idParam, listName string) *APIError {
	if q.has("MaxResults") && len(q.strs(idParam)) > 0 {
		return qErr(http.StatusBadRequest, "InvalidParameterCombination",
			"The parameter "+listName+" cannot be used with the parameter maxResults")
	}
	return nil
}

type xDescribeInstances struct {
	RequestID      string               `xml:"requestId"`
	ReservationSet xItems[xReservation] `xml:"reservationSet"`
	NextToken      string               `xml:"nextToken,omitempty"`
}

func (a *ec2API) describeInstances(c *ec2Call) (any, error) {
	filters, perr := c.q.filters()
	if perr != nil {
		return nil, perr
	}
	if perr := notWithIDs(c.q, "InstanceId", "instancesSet"); perr != nil {
		return nil, perr
	}
	insts, err := a.world.DescribeInstances(c.q.strs("InstanceId"), filters)
	if err != nil {
		return nil, err
	}
	keys := sortedKeys(insts, func(i Instance) string { return i.ID })
	start, end, next, perr := a.page(c.q, pageInstances, keys)
	if perr != nil {
		return nil, perr
	}
	insts = insts[start:end]
	enis, err := a.attachedENIs(insts)
	if err != nil {
		return nil, err
	}
	res := make([]xReservation, 0, len(insts))
	for _, in := range insts {
		res = append(res, a.view.reservation(in, enis[in.ID]))
	}
	return xDescribeInstances{RequestID: c.reqID, ReservationSet: xmlSet(res), NextToken: next}, nil
}

// attachedENIs returns the ENIs attached to each instance, by device index.
func (a *ec2API) attachedENIs(insts []Instance) (map[string][]ENI, error) {
	ids := make([]string, 0, len(insts))
	for _, in := range insts {
		if in.State != "terminated" {
			ids = append(ids, in.ID)
		}
	}
	out := map[string][]ENI{}
	if len(ids) == 0 {
		return out, nil
	}
	enis, err := a.world.DescribeNetworkInterfaces(nil, []Filter{{Name: "attachment.instance-id", Values: ids}})
	if err != nil {
		return nil, err
	}
	for _, e := range enis {
		if e.Attachment != nil {
			out[e.Attachment.InstanceID] = append(out[e.Attachment.InstanceID], e)
		}
	}
	for _, list := range out {
		slices.SortFunc(list, func(x, y ENI) int {
			return cmp.Or(cmp.Compare(x.Attachment.NetworkCardIndex, y.Attachment.NetworkCardIndex),
				cmp.Compare(x.Attachment.DeviceIndex, y.Attachment.DeviceIndex))
		})
	}
	return out, nil
}

type xDescribeInstanceTypes struct {
	RequestID       string                `xml:"requestId"`
	InstanceTypeSet xItems[xInstanceType] `xml:"instanceTypeSet"`
	NextToken       string                `xml:"nextToken,omitempty"`
}

func (a *ec2API) describeInstanceTypes(c *ec2Call) (any, error) {
	filters, perr := c.q.filters()
	if perr != nil {
		return nil, perr
	}
	types, err := a.world.DescribeInstanceTypes(c.q.strs("InstanceType"), filters)
	if err != nil {
		return nil, err
	}
	keys := sortedKeys(types, func(l cloud.InstanceTypeLimits) string { return l.Type })
	start, end, next, perr := a.page(c.q, pageInstanceTypes, keys)
	if perr != nil {
		return nil, perr
	}
	out := make([]xInstanceType, 0, end-start)
	for _, l := range types[start:end] {
		out = append(out, instanceTypeXML(l))
	}
	return xDescribeInstanceTypes{RequestID: c.reqID, InstanceTypeSet: xmlSet(out), NextToken: next}, nil
}

type xDescribeSubnets struct {
	RequestID string          `xml:"requestId"`
	SubnetSet xItems[xSubnet] `xml:"subnetSet"`
	NextToken string          `xml:"nextToken,omitempty"`
}

func (a *ec2API) describeSubnets(c *ec2Call) (any, error) {
	filters, perr := c.q.filters()
	if perr != nil {
		return nil, perr
	}
	subnets, err := a.world.DescribeSubnets(c.q.strs("SubnetId"), filters)
	if err != nil {
		return nil, err
	}
	keys := sortedKeys(subnets, func(s Subnet) string { return s.ID })
	start, end, next, perr := a.page(c.q, pageSubnets, keys)
	if perr != nil {
		return nil, perr
	}
	out := make([]xSubnet, 0, end-start)
	for _, s := range subnets[start:end] {
		out = append(out, a.view.subnet(s))
	}
	return xDescribeSubnets{RequestID: c.reqID, SubnetSet: xmlSet(out), NextToken: next}, nil
}

type xDescribeVpcs struct {
	RequestID string       `xml:"requestId"`
	VpcSet    xItems[xVPC] `xml:"vpcSet"`
	NextToken string       `xml:"nextToken,omitempty"`
}

func (a *ec2API) describeVpcs(c *ec2Call) (any, error) {
	filters, perr := c.q.filters()
	if perr != nil {
		return nil, perr
	}
	vpcs, err := a.world.DescribeVpcs(c.q.strs("VpcId"), filters)
	if err != nil {
		return nil, err
	}
	keys := sortedKeys(vpcs, func(v VPC) string { return v.ID })
	start, end, next, perr := a.page(c.q, pageVpcs, keys)
	if perr != nil {
		return nil, perr
	}
	out := make([]xVPC, 0, end-start)
	for _, v := range vpcs[start:end] {
		out = append(out, a.view.vpc(v))
	}
	return xDescribeVpcs{RequestID: c.reqID, VpcSet: xmlSet(out), NextToken: next}, nil
}

type xDescribeENIs struct {
	RequestID           string       `xml:"requestId"`
	NetworkInterfaceSet xItems[xENI] `xml:"networkInterfaceSet"`
	NextToken           string       `xml:"nextToken,omitempty"`
}

func (a *ec2API) describeNetworkInterfaces(c *ec2Call) (any, error) {
	filters, perr := c.q.filters()
	if perr != nil {
		return nil, perr
	}
	if perr := notWithIDs(c.q, "NetworkInterfaceId", "NetworkInterfaceIds"); perr != nil {
		return nil, perr
	}
	enis, err := a.world.DescribeNetworkInterfaces(c.q.strs("NetworkInterfaceId"), filters)
	if err != nil {
		return nil, err
	}
	keys := sortedKeys(enis, func(e ENI) string { return e.ID })
	start, end, next, perr := a.page(c.q, pageENIs, keys)
	if perr != nil {
		return nil, perr
	}
	out := make([]xENI, 0, end-start)
	for _, e := range enis[start:end] {
		out = append(out, a.view.eni(e))
	}
	return xDescribeENIs{RequestID: c.reqID, NetworkInterfaceSet: xmlSet(out), NextToken: next}, nil
}
