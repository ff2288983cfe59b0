package fake

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// The real client (cloud/aws) rejects some arguments before it calls EC2.
// The fake rejects the same ones the same way: the call is counted, but no
// latency or fault applies, nothing changes, and the error wraps
// cloud.ErrInvalidParameter without being a *cloud.APIError.

// errInvalid is the error of an argument rejected before any call.
func errInvalid(op Op, format string, args ...any) error {
	return fmt.Errorf("fake %s: %s: %w", op.Action(), fmt.Sprintf(format, args...), cloud.ErrInvalidParameter)
}

// checkSubnetIDs requires at least one subnet id, none empty.
func checkSubnetIDs(ids []string) error {
	if len(ids) == 0 || slices.Contains(ids, "") {
		return errInvalid(OpSubnets, "need non-empty subnet ids, got %q", ids)
	}
	return nil
}

// maxCount bounds the address and prefix counts the real client sends.
const maxCount = 1 << 16

// checkName requires a non-empty instance type name.
func checkName(name string) error {
	if name == "" {
		return errInvalid(OpInstanceType, "empty instance type name")
	}
	return nil
}

// checkNonEmpty requires every one of ids to be non-empty.
func checkNonEmpty(op Op, ids ...string) error {
	if slices.Contains(ids, "") {
		return errInvalid(op, "empty id in %q", ids)
	}
	return nil
}

// checkCreateReq checks a CreateENI request as the real client does.
func checkCreateReq(req cloud.CreateENIRequest) error {
	switch {
	case req.SubnetID == "":
		return errInvalid(OpCreateENI, "empty subnet id")
	case req.SecondaryIPs < 0 || req.Prefixes < 0 || req.SecondaryIPs > maxCount || req.Prefixes > maxCount:
		return errInvalid(OpCreateENI, "address count out of range")
	case req.SecondaryIPs > 0 && req.Prefixes > 0:
		return errInvalid(OpCreateENI, "both secondary addresses and prefixes")
	case slices.Contains(req.SecurityGroups, ""):
		return errInvalid(OpCreateENI, "empty security group id")
	}
	return nil
}

// checkAttach requires ids and a device index and network card that are
// not negative.
func checkAttach(eniID, instanceID string, deviceIndex, networkCard int) error {
	if err := checkNonEmpty(OpAttachENI, eniID, instanceID); err != nil {
		return err
	}
	if deviceIndex < 0 || networkCard < 0 {
		return errInvalid(OpAttachENI, "negative device index %d or network card %d", deviceIndex, networkCard)
	}
	return nil
}

// checkAssign requires an ENI id and 1 ≤ n ≤ maxCount.
func checkAssign(op Op, eniID string, n int) error {
	if eniID == "" || n < 1 || n > maxCount {
		return errInvalid(op, "assign %d to %q: need an eni id and 1 ≤ n ≤ %d", n, eniID, maxCount)
	}
	return nil
}

// checkUnassignIPs requires an ENI id and at least one address, all IPv4.
func checkUnassignIPs(eniID string, ips []netip.Addr) error {
	if eniID == "" || len(ips) == 0 {
		return errInvalid(OpUnassignIPs, "need an eni id and addresses")
	}
	for _, ip := range ips {
		if !ip.Is4() {
			return errInvalid(OpUnassignIPs, "%q is not an ipv4 address", ip)
		}
	}
	return nil
}

// checkUnassignPrefixes requires an ENI id and at least one prefix, all
// IPv4.
func checkUnassignPrefixes(eniID string, prefixes []netip.Prefix) error {
	if eniID == "" || len(prefixes) == 0 {
		return errInvalid(OpUnassignPrefixes, "need an eni id and prefixes")
	}
	for _, p := range prefixes {
		if !p.IsValid() || !p.Addr().Is4() {
			return errInvalid(OpUnassignPrefixes, "%q is not an ipv4 prefix", p)
		}
	}
	return nil
}

// checkTags requires an ENI id and at least one tag, no key empty.
func checkTags(eniID string, tags map[string]string) error {
	if eniID == "" || len(tags) == 0 {
		return errInvalid(OpTagENI, "need an eni id and tags")
	}
	if _, ok := tags[""]; ok {
		return errInvalid(OpTagENI, "empty tag key")
	}
	return nil
}
