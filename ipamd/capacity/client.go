package capacity

import (
	"errors"
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// ErrNoKubernetes: ipamd runs outside Kubernetes (the lab): KUBECONFIG is
// unset and it is not in a pod. ipamd then runs without reporting.
var ErrNoKubernetes = errors.New("no Kubernetes client configuration (KUBECONFIG unset, not in a cluster)")

// UserAgent is the client's user agent.
const UserAgent = "vpc-cni-ipamd"

// ClientFromEnv returns a client from the kubeconfig file KUBECONFIG names
// when getenv has it, else from the pod's in-cluster configuration (read
// by client-go from the process environment and the service account);
// ErrNoKubernetes when neither is there. It does not contact the API
// server.
func ClientFromEnv(getenv func(string) string) (kubernetes.Interface, error) {
	var cfg *rest.Config
	var err error
	if path := getenv("KUBECONFIG"); path != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %s (from KUBECONFIG): %w", path, err)
		}
	} else {
		cfg, err = rest.InClusterConfig()
		if errors.Is(err, rest.ErrNotInCluster) {
			return nil, ErrNoKubernetes
		}
		if err != nil {
			return nil, fmt.Errorf("in-cluster Kubernetes configuration: %w", err)
		}
	}
	cfg = rest.AddUserAgent(cfg, UserAgent)
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return c, nil
}
