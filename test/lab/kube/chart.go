package kube

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
)

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
