package sim

import (
	"fmt"
	"net/http"
	"net/netip"
)

// The ENI actions: create, attach, detach, delete, modify.

var (
	specCreateNetworkInterface = newSpec([]string{"SubnetId"}, pDryRun, map[string]qType{
		"SubnetId": qString, "Description": qString, "SecurityGroupId.N": qString,
		"PrivateIpAddress":                      qAddr,
		"PrivateIpAddresses.N.PrivateIpAddress": qAddr,
		"PrivateIpAddresses.N.Primary":          qBool,
		"SecondaryPrivateIpAddressCount":        qInt,
		"Ipv4PrefixCount":                       qInt,
		"Ipv4Prefix.N.Ipv4Prefix":               qPrefix,
		"TagSpecification.N.ResourceType":       qString,
		"TagSpecification.N.Tag.N.Key":          qString,
		"TagSpecification.N.Tag.N.Value":        qString,
		"ClientToken":                           qString,
		// IPv6, EFA, trunking and connection tracking are not modelled.
		"Ipv6AddressCount": qUnsupported, "Ipv6Addresses.N.Ipv6Address": qUnsupported,
		"Ipv6Addresses.N.IsPrimaryIpv6": qUnsupported,
		"Ipv6PrefixCount":               qUnsupported, "Ipv6Prefix.N.Ipv6Prefix": qUnsupported,
		"InterfaceType": qUnsupported, "EnablePrimaryIpv6": qUnsupported,
		"ConnectionTrackingSpecification.TcpEstablishedTimeout": qUnsupported,
		"ConnectionTrackingSpecification.UdpStreamTimeout":      qUnsupported,
		"ConnectionTrackingSpecification.UdpTimeout":            qUnsupported,
		"Operator.Principal":                                    qUnsupported,
	})
	specAttachNetworkInterface = newSpec([]string{"NetworkInterfaceId", "InstanceId", "DeviceIndex"}, pDryRun,
		map[string]qType{
			"NetworkInterfaceId": qString, "InstanceId": qString, "DeviceIndex": qInt,
			"NetworkCardIndex": qInt, "EnaQueueCount": qUnsupported,
			"EnaSrdSpecification.EnaSrdEnabled":                           qUnsupported,
			"EnaSrdSpecification.EnaSrdUdpSpecification.EnaSrdUdpEnabled": qUnsupported,
		})
	specDetachNetworkInterface = newSpec([]string{"AttachmentId"}, pDryRun, map[string]qType{
		"AttachmentId": qString, "Force": qBool,
	})
	specDeleteNetworkInterface = newSpec([]string{"NetworkInterfaceId"}, pDryRun, map[string]qType{
		"NetworkInterfaceId": qString,
	})
	specModifyNetworkInterfaceAttribute = newSpec([]string{"NetworkInterfaceId"}, pDryRun, map[string]qType{
		"NetworkInterfaceId": qString, "Attachment.AttachmentId": qString,
		"Attachment.DeleteOnTermination": qBool, "Description.Value": qString,
		"Attachment.EnaQueueCount": qUnsupported, "Attachment.DefaultEnaQueueCount": qUnsupported,
		"SecurityGroupId.N": qUnsupported, "SourceDestCheck.Value": qUnsupported,
		"EnablePrimaryIpv6": qUnsupported, "AssociatePublicIpAddress": qUnsupported,
		"AssociatedSubnetId.N":                                        qUnsupported,
		"EnaSrdSpecification.EnaSrdEnabled":                           qUnsupported,
		"EnaSrdSpecification.EnaSrdUdpSpecification.EnaSrdUdpEnabled": qUnsupported,
		"ConnectionTrackingSpecification.TcpEstablishedTimeout":       qUnsupported,
		"ConnectionTrackingSpecification.UdpStreamTimeout":            qUnsupported,
		"ConnectionTrackingSpecification.UdpTimeout":                  qUnsupported,
	})
)

type xCreateENI struct {
	RequestID        string `xml:"requestId"`
	NetworkInterface xENI   `xml:"networkInterface"`
	ClientToken      string `xml:"clientToken,omitempty"`
}

// createNetworkInterface creates an ENI, once per ClientToken.
func (a *ec2API) createNetworkInterface(c *ec2Call) (any, error) {
	in, perr := createENIInput(c.q)
	if perr != nil {
		return nil, perr
	}
	var eni ENI
	var err error
	token := c.q.str("ClientToken")
	if token == "" {
		eni, err = a.world.CreateNetworkInterface(in)
	} else {
		eni, err = a.createENIOnce(c.q, token, in)
	}
	if err != nil {
		return nil, err
	}
	return xCreateENI{RequestID: c.reqID, NetworkInterface: a.view.eni(eni), ClientToken: token}, nil
}

// createENIOnce creates an ENI unless the token was used already: then it
// answers the first ENI as it is now (as it was, if it is gone).
func (a *ec2API) createENIOnce(q *query, token string, in CreateENIInput) (ENI, error) {
	if perr := checkClientToken(token); perr != nil {
		return ENI{}, perr
	}
	res, err := a.tokens.once(token, q.fingerprint("ClientToken"), func() (any, error) {
		return a.world.CreateNetworkInterface(in)
	})
	if err != nil {
		return ENI{}, err
	}
	eni, ok := res.(ENI)
	if !ok {
		return ENI{}, fmt.Errorf("client token %q: result is a %T, not an ENI", token, res)
	}
	if now, err := a.world.DescribeNetworkInterfaces([]string{eni.ID}, nil); err == nil && len(now) == 1 {
		eni = now[0]
	}
	return eni, nil
}

// createENIInput reads CreateNetworkInterface's parameters.
func createENIInput(q *query) (CreateENIInput, *APIError) {
	in := CreateENIInput{SubnetID: q.str("SubnetId"), Description: q.str("Description"),
		SecurityGroups: q.strs("SecurityGroupId")}
	var perr *APIError
	if in.SecondaryIPCount, _, perr = q.int("SecondaryPrivateIpAddressCount"); perr != nil {
		return in, perr
	}
	if in.PrefixCount, _, perr = q.int("Ipv4PrefixCount"); perr != nil {
		return in, perr
	}
	if in.Prefixes, perr = q.prefixes("Ipv4Prefix", "Ipv4Prefix"); perr != nil {
		return in, perr
	}
	if in.PrimaryIP, in.PrivateIPs, perr = requestedIPs(q); perr != nil {
		return in, perr
	}
	in.Tags, perr = tagSpecs(q, "network-interface")
	return in, perr
}

// requestedIPs reads PrivateIpAddress and PrivateIpAddresses.N: the primary
// address (the one marked Primary, else PrivateIpAddress, else the first
// listed) and the secondaries.
func requestedIPs(q *query) (netip.Addr, []netip.Addr, *APIError) {
	var primary netip.Addr
	if q.has("PrivateIpAddress") {
		a, err := netip.ParseAddr(q.str("PrivateIpAddress"))
		if err != nil {
			return primary, nil, qBadValue("PrivateIpAddress", q.str("PrivateIpAddress"))
		}
		primary = a
	}
	var rest []netip.Addr
	marked := false
	for _, it := range q.root.child("PrivateIpAddresses").items() {
		n := it.child("PrivateIpAddress")
		if !n.has() {
			return primary, nil, qMissing(it.key + ".PrivateIpAddress")
		}
		a, err := netip.ParseAddr(n.val)
		if err != nil {
			return primary, nil, qBadValue(n.key, n.val)
		}
		if !nodeBool(it.child("Primary")) {
			rest = append(rest, a)
			continue
		}
		if marked || (primary.IsValid() && primary != a) {
			return primary, nil, qErr(http.StatusBadRequest, "InvalidParameterCombination",
				"Only one primary private IP address can be specified.")
		}
		primary, marked = a, true
	}
	if !primary.IsValid() && len(rest) > 0 {
		primary, rest = rest[0], rest[1:]
	}
	return primary, rest, nil
}

// tagSpecs reads TagSpecification.N: each must name the resource type the
// action creates.
func tagSpecs(q *query, resourceType string) ([]Tag, *APIError) {
	var out []Tag
	for _, it := range q.root.child("TagSpecification").items() {
		rt := it.child("ResourceType")
		if !rt.has() {
			return nil, qMissing(it.key + ".ResourceType")
		}
		if rt.val != resourceType {
			return nil, qInvalid(fmt.Sprintf("'%s' is not a valid taggable resource type for this operation.",
				qTruncate(rt.val, 64)))
		}
		tags, perr := nodeTags(it.child("Tag"))
		if perr != nil {
			return nil, perr
		}
		out = append(out, tags...)
	}
	return out, nil
}

type xAttachENI struct {
	RequestID        string `xml:"requestId"`
	AttachmentID     string `xml:"attachmentId"`
	NetworkCardIndex int    `xml:"networkCardIndex"`
}

func (a *ec2API) attachNetworkInterface(c *ec2Call) (any, error) {
	dev, _, perr := c.q.int("DeviceIndex")
	if perr != nil {
		return nil, perr
	}
	card, _, perr := c.q.int("NetworkCardIndex")
	if perr != nil {
		return nil, perr
	}
	id, err := a.world.AttachNetworkInterface(c.q.str("NetworkInterfaceId"), c.q.str("InstanceId"), dev, card)
	if err != nil {
		return nil, err
	}
	return xAttachENI{RequestID: c.reqID, AttachmentID: id, NetworkCardIndex: card}, nil
}

func (a *ec2API) detachNetworkInterface(c *ec2Call) (any, error) {
	if err := a.world.DetachNetworkInterface(c.q.str("AttachmentId"), c.q.bool("Force")); err != nil {
		return nil, err
	}
	return xReturn{RequestID: c.reqID, Return: true}, nil
}

func (a *ec2API) deleteNetworkInterface(c *ec2Call) (any, error) {
	if err := a.world.DeleteNetworkInterface(c.q.str("NetworkInterfaceId")); err != nil {
		return nil, err
	}
	return xReturn{RequestID: c.reqID, Return: true}, nil
}

// modifyNetworkInterfaceAttribute changes one attribute: the attachment's
// DeleteOnTermination, or the description.
func (a *ec2API) modifyNetworkInterfaceAttribute(c *ec2Call) (any, error) {
	q := c.q
	eni := q.str("NetworkInterfaceId")
	att := q.root.child("Attachment")
	desc := q.root.child("Description").child("Value")
	var err error
	switch {
	case att != nil && desc.has():
		return nil, qErr(http.StatusBadRequest, "InvalidParameterCombination",
			"Only one attribute can be modified at a time.")
	case att != nil:
		id, dot := att.child("AttachmentId"), att.child("DeleteOnTermination")
		if !id.has() || id.val == "" {
			return nil, qMissing("Attachment.AttachmentId")
		}
		if !dot.has() {
			return nil, qMissing("Attachment.DeleteOnTermination")
		}
		err = a.world.SetDeleteOnTermination(eni, id.val, nodeBool(dot))
	case desc.has():
		err = a.world.ModifyDescription(eni, desc.val)
	default:
		return nil, qErr(http.StatusBadRequest, "InvalidParameterCombination", "No attributes specified.")
	}
	if err != nil {
		return nil, err
	}
	return xReturn{RequestID: c.reqID, Return: true}, nil
}
