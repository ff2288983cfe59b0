// Package toolcache says where the tools built from the Go module proxy
// live: scripts/k8s-tools.sh's Kubernetes binaries and
// test/chart/build-helm.sh's helm, cached outside the repository so fresh
// clones reuse them. test/k8s, test/chart and the lab's real cluster find
// them here.
package toolcache

import (
	"os"
	"path/filepath"
)

// The pinned releases the scripts build.
const (
	K8sVersion  = "v1.32.13"
	HelmVersion = "v3.17.4"
)

// Dir is ${XDG_CACHE_HOME:-$HOME/.cache}/vpc-cni.
func Dir() string {
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, _ := os.UserHomeDir()
		cache = filepath.Join(home, ".cache")
	}
	return filepath.Join(cache, "vpc-cni")
}

// K8sBinDir is where scripts/k8s-tools.sh puts the Kubernetes binaries:
// $K8S_TOOLS_DIR/bin, else Dir()/k8s-<K8sVersion>/bin.
func K8sBinDir() string {
	if d := os.Getenv("K8S_TOOLS_DIR"); d != "" {
		return filepath.Join(d, "bin")
	}
	return filepath.Join(Dir(), "k8s-"+K8sVersion, "bin")
}

// Helm is test/chart/build-helm.sh's helm: $HELM, else
// Dir()/helm-<HelmVersion>/helm.
func Helm() string {
	if h := os.Getenv("HELM"); h != "" {
		return h
	}
	return filepath.Join(Dir(), "helm-"+HelmVersion, "helm")
}
