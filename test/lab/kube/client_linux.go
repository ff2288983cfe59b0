package kube

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
)

// Client is a client of the lab's API server as the admin, from the host:
// its connections are made inside the fabric namespace (fabricNS, a path),
// the only place APIServerAddr is reachable from.
func Client(kubeconfig, fabricNS string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	cfg.Dial = netenv.DialIn(fabricNS)
	cfg.QPS, cfg.Burst = 50, 100
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return c, nil
}

// ChartValues are the chart's values for the lab: the local image (never
// pulled) and env, ipamd's environment: the lab's cloud endpoints and
// credentials, the API server's address in place of the kubernetes
// service's (the lab runs no kube-proxy), and the lab's ipamd variables.
func ChartValues(env map[string]string) ([]byte, error) {
	all := map[string]string{
		"KUBERNETES_SERVICE_HOST": APIServerAddr.String(),
		"KUBERNETES_SERVICE_PORT": fmt.Sprint(APIServerPort),
	}
	for _, k := range slices.Sorted(maps.Keys(env)) {
		all[k] = env[k]
	}
	// JSON is YAML: helm reads it as a values file.
	b, err := json.MarshalIndent(map[string]any{
		"image": map[string]any{"pullPolicy": "Never"},
		"env":   all,
	}, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("chart values: %w", err)
	}
	return b, nil
}
