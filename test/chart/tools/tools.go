//go:build tools

// Package tools pins helm for the chart tests: test/chart/build-helm.sh
// builds helm.sh/helm/v3/cmd/helm from this module into a cache outside the
// repository.
package tools

import _ "helm.sh/helm/v3/cmd/helm"
