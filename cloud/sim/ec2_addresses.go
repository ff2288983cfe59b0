package sim

// The address actions (secondary IPv4 addresses and /28 prefixes) and the
// tag actions.

var (
	specAssignPrivateIPAddresses = newSpec([]string{"NetworkInterfaceId"}, map[string]qType{
		"NetworkInterfaceId": qString, "PrivateIpAddress.N": qAddr,
		"SecondaryPrivateIpAddressCount": qInt, "Ipv4Prefix.N": qPrefix, "Ipv4PrefixCount": qInt,
		"AllowReassignment": qBool,
	})
	specUnassignPrivateIPAddresses = newSpec([]string{"NetworkInterfaceId"}, map[string]qType{
		"NetworkInterfaceId": qString, "PrivateIpAddress.N": qAddr, "Ipv4Prefix.N": qPrefix,
	})
	specCreateTags = newSpec([]string{"ResourceId", "Tag"}, pDryRun, map[string]qType{
		"ResourceId.N": qString, "Tag.N.Key": qString, "Tag.N.Value": qString,
	})
	specDeleteTags = newSpec([]string{"ResourceId"}, pDryRun, map[string]qType{
		"ResourceId.N": qString, "Tag.N.Key": qString, "Tag.N.Value": qString,
	})
)

type xAssign struct {
	RequestID                     string           `xml:"requestId"`
	NetworkInterfaceID            string           `xml:"networkInterfaceId"`
	AssignedPrivateIPAddressesSet xItems[xAddress] `xml:"assignedPrivateIpAddressesSet"`
	AssignedIpv4PrefixSet         xItems[xPrefix]  `xml:"assignedIpv4PrefixSet"`
}

func (a *ec2API) assignPrivateIPAddresses(c *ec2Call) (any, error) {
	q := c.q
	in := AssignInput{ENIID: q.str("NetworkInterfaceId"), AllowReassignment: q.bool("AllowReassignment")}
	var perr *APIError
	if in.IPs, perr = q.addrs("PrivateIpAddress"); perr != nil {
		return nil, perr
	}
	if in.Prefixes, perr = q.prefixes("Ipv4Prefix", ""); perr != nil {
		return nil, perr
	}
	if in.SecondaryIPCount, _, perr = q.int("SecondaryPrivateIpAddressCount"); perr != nil {
		return nil, perr
	}
	if in.PrefixCount, _, perr = q.int("Ipv4PrefixCount"); perr != nil {
		return nil, perr
	}
	res, err := a.world.AssignPrivateIpAddresses(in)
	if err != nil {
		return nil, err
	}
	ips := make([]xAddress, 0, len(res.IPs))
	for _, ip := range res.IPs {
		ips = append(ips, xAddress{PrivateIPAddress: ip.String()})
	}
	id := res.ENIID
	if id == "" {
		id = in.ENIID
	}
	return xAssign{RequestID: c.reqID, NetworkInterfaceID: id,
		AssignedPrivateIPAddressesSet: xmlSet(ips), AssignedIpv4PrefixSet: xmlPrefixes(res.Prefixes)}, nil
}

func (a *ec2API) unassignPrivateIPAddresses(c *ec2Call) (any, error) {
	ips, perr := c.q.addrs("PrivateIpAddress")
	if perr != nil {
		return nil, perr
	}
	prefixes, perr := c.q.prefixes("Ipv4Prefix", "")
	if perr != nil {
		return nil, perr
	}
	if err := a.world.UnassignPrivateIpAddresses(c.q.str("NetworkInterfaceId"), ips, prefixes); err != nil {
		return nil, err
	}
	return xReturn{RequestID: c.reqID, Return: true}, nil
}

func (a *ec2API) createTags(c *ec2Call) (any, error) {
	tags, perr := nodeTags(c.q.root.child("Tag"))
	if perr != nil {
		return nil, perr
	}
	if err := a.world.CreateTags(c.q.strs("ResourceId"), tags); err != nil {
		return nil, err
	}
	return xReturn{RequestID: c.reqID, Return: true}, nil
}

// deleteTags deletes tags: a tag given without a value goes whatever its
// value, one given with a value (even empty) only when the value matches.
func (a *ec2API) deleteTags(c *ec2Call) (any, error) {
	var tags []DeleteTag
	for _, it := range c.q.root.child("Tag").items() {
		key := it.child("Key")
		if !key.has() {
			return nil, qMissing(it.key + ".Key")
		}
		val := it.child("Value")
		tags = append(tags, DeleteTag{Key: key.val, Value: val.str(), DeleteAnyValue: !val.has()})
	}
	if err := a.world.DeleteTags(c.q.strs("ResourceId"), tags); err != nil {
		return nil, err
	}
	return xReturn{RequestID: c.reqID, Return: true}, nil
}
