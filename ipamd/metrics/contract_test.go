package metrics_test

import (
	"github.com/vpc-cni/vpc-cni/ipamd/manager"
	"github.com/vpc-cni/vpc-cni/ipamd/metrics"
)

// Metrics is the manager's Observer (asserted here so that the package
// itself does not import the manager).
var _ manager.Observer = (*metrics.Metrics)(nil)
