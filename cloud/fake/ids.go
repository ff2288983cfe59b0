package fake

import (
	"strings"
	"unicode/utf8"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// EC2 error codes for ids that are not of the form prefix-hex, and for tags.
const (
	codeENIMalformed      = "InvalidNetworkInterfaceID.Malformed"
	codeSubnetMalformed   = "InvalidSubnetID.Malformed"
	codeInstanceMalformed = "InvalidInstanceID.Malformed"
	codeGroupMalformed    = "InvalidGroupId.Malformed"
	codeInvalidID         = "InvalidID"
	codeTagLimit          = "TagLimitExceeded"
)

// Tag limits EC2 enforces.
const (
	maxTags        = 50
	maxTagKeyLen   = 128
	maxTagValueLen = 256
)

// wellFormed reports whether id is prefix followed by 1 to 17 lowercase hex
// digits, as EC2 ids are (and as ec2sim checks them).
func wellFormed(prefix, id string) bool {
	hex, ok := strings.CutPrefix(id, prefix)
	if !ok || len(hex) == 0 || len(hex) > 17 {
		return false
	}
	for _, r := range hex {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}

// eniLocked finds an ENI for op: Malformed or NotFound otherwise.
func (c *Cloud) eniLocked(op Op, id string) (*cloud.ENI, error) {
	if !wellFormed("eni-", id) {
		return nil, c.apiError(op, codeENIMalformed, "invalid id: %q", id)
	}
	e, ok := c.enis[id]
	if !ok {
		return nil, c.apiError(op, codeENINotFound, "network interface %q does not exist", id)
	}
	return e, nil
}

// subnetLocked finds a subnet for op: Malformed or NotFound otherwise.
func (c *Cloud) subnetLocked(op Op, id string) (*pool, error) {
	if !wellFormed("subnet-", id) {
		return nil, c.apiError(op, codeSubnetMalformed, "invalid id: %q", id)
	}
	p, ok := c.subnets[id]
	if !ok {
		return nil, c.apiError(op, codeSubnetNotFound, "subnet %q does not exist", id)
	}
	return p, nil
}

// checkGroupsLocked checks the form of security group ids.
func (c *Cloud) checkGroupsLocked(op Op, groups []string) error {
	for _, g := range groups {
		if !wellFormed("sg-", g) {
			return c.apiError(op, codeGroupMalformed, "invalid id: %q", g)
		}
	}
	return nil
}

// checkTagsLocked checks tags to be added to a resource that has existing
// ones: keys present and not reserved, lengths, at most 50 tags afterwards.
func (c *Cloud) checkTagsLocked(op Op, existing, add map[string]string) error {
	n := len(existing)
	for k, v := range add {
		switch {
		case k == "":
			return c.apiError(op, codeBadValue, "tag keys must not be empty")
		case strings.HasPrefix(strings.ToLower(k), "aws:"):
			return c.apiError(op, codeBadValue, "tag key %q: the aws: prefix is reserved", k)
		case utf8.RuneCountInString(k) > maxTagKeyLen:
			return c.apiError(op, codeBadValue, "tag key longer than %d characters", maxTagKeyLen)
		case utf8.RuneCountInString(v) > maxTagValueLen:
			return c.apiError(op, codeBadValue, "tag value of %q longer than %d characters", k, maxTagValueLen)
		}
		if _, ok := existing[k]; !ok {
			n++
		}
	}
	if n > maxTags {
		return c.apiError(op, codeTagLimit, "more than %d tags on one resource", maxTags)
	}
	return nil
}
