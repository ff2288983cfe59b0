package toolcache

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVersionsMatchTheScripts: the versions here are the ones the build
// scripts pin.
func TestVersionsMatchTheScripts(t *testing.T) {
	for script, want := range map[string]string{
		"../../scripts/k8s-tools.sh":     "version=" + K8sVersion + "\n",
		"../../test/chart/build-helm.sh": "version=" + HelmVersion + "\n",
	} {
		b, err := os.ReadFile(script)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), want) {
			t.Errorf("%s does not pin %q", script, strings.TrimSpace(want))
		}
	}
}

func TestPaths(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/x")
	t.Setenv("K8S_TOOLS_DIR", "")
	t.Setenv("HELM", "")
	if got, want := K8sBinDir(), filepath.Join("/x/vpc-cni", "k8s-"+K8sVersion, "bin"); got != want {
		t.Errorf("K8sBinDir() = %s, want %s", got, want)
	}
	if got, want := Helm(), filepath.Join("/x/vpc-cni", "helm-"+HelmVersion, "helm"); got != want {
		t.Errorf("Helm() = %s, want %s", got, want)
	}
	t.Setenv("K8S_TOOLS_DIR", "/opt/k8s")
	t.Setenv("HELM", "/usr/bin/helm")
	if K8sBinDir() != "/opt/k8s/bin" || Helm() != "/usr/bin/helm" {
		t.Errorf("overrides: %s, %s", K8sBinDir(), Helm())
	}
}
