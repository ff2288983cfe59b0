package kube

import (
	"fmt"

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
