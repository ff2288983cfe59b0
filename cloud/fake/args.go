package fake

import (
	"fmt"
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
