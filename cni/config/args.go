package config

import (
	"fmt"
	"strings"
)

// The CNI_ARGS keys the Kubernetes runtimes (containerd, CRI-O) set.
const (
	argNamespace = "K8S_POD_NAMESPACE"
	argName      = "K8S_POD_NAME"
	argUID       = "K8S_POD_UID"
	argInfraID   = "K8S_POD_INFRA_CONTAINER_ID"
)

// ParseArgs decodes CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME,
// K8S_POD_UID, K8S_POD_INFRA_CONTAINER_ID; others are ignored, as the
// runtime may pass more). The form is "K=V;K=V"; a pair without '=' or
// with an empty key, or one of these keys given twice, is an error
// wrapping ErrArgs.
func ParseArgs(cniArgs string) (PodArgs, error) {
	var a PodArgs
	if cniArgs == "" {
		return a, nil
	}
	fields := map[string]*string{
		argNamespace: &a.Namespace, argName: &a.Name, argUID: &a.UID, argInfraID: &a.InfraID,
	}
	seen := map[string]bool{}
	for i, pair := range strings.Split(cniArgs, ";") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok || k == "" {
			return PodArgs{}, fmt.Errorf("%w: pair %d %q is not KEY=VALUE; the runtime sets CNI_ARGS as K=V;K=V",
				ErrArgs, i+1, clip([]byte(pair)))
		}
		dst, ours := fields[k]
		if !ours {
			continue
		}
		if seen[k] {
			return PodArgs{}, fmt.Errorf("%w: %s is given more than once", ErrArgs, k)
		}
		seen[k] = true
		*dst = v
	}
	return a, nil
}
