package ipam_test

import (
	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	"github.com/vpc-cni/vpc-cni/ipamd/manager"
)

// The pool manager is the service's Pool.
var _ ipam.Pool = (*manager.Manager)(nil)

// It tells the class of its cause, and the cause, class and permanence
// at once.
var (
	_ ipam.BlockedClasser = (*manager.Manager)(nil)
	_ ipam.BlockedStater  = (*manager.Manager)(nil)
)
