package ipam_test

import (
	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	"github.com/vpc-cni/vpc-cni/ipamd/manager"
)

// The pool manager is the service's Pool.
var _ ipam.Pool = (*manager.Manager)(nil)
