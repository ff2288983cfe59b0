package chart

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/test/k8s"
)

// TestChartOnAPIServer applies the rendered chart to a real kube-apiserver
// (test/k8s): first with --dry-run=server (defaults and prefix
// delegation), then for real, and asks the API server what the chart's
// ServiceAccount may do.
func TestChartOnAPIServer(t *testing.T) {
	helm(t) // skip before starting a cluster when helm is missing
	c := k8s.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	waitNamespace(ctx, t, c, "kube-system")

	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"defaults", nil},
		{"prefix-delegation", []string{"--set", "env.ENABLE_PREFIX_DELEGATION=true"}},
	} {
		file := filepath.Join(dir, tc.name+".yaml")
		out := runHelm(t, append([]string{"template", "vpc-cni", chartDir, "--namespace", "kube-system"}, tc.args...)...)
		if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Kubectl(ctx, "apply", "--dry-run=server", "-f", file); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	if _, err := c.Kubectl(ctx, "apply", "-f", filepath.Join(dir, "defaults.yaml")); err != nil {
		t.Fatal(err)
	}
	sa := "system:serviceaccount:kube-system:vpc-cni"
	for _, tc := range []struct {
		verb, resource, sub string
		want                string
	}{
		{"patch", "nodes", "status", "yes"},
		{"list", "pods", "", "yes"},
		{"watch", "nodes", "", "yes"},
		{"create", "events", "", "yes"},
		{"delete", "nodes", "", "no"},
		{"patch", "nodes", "", "no"},
		{"get", "secrets", "", "no"},
		{"delete", "pods", "", "no"},
	} {
		args := []string{"auth", "can-i", tc.verb, tc.resource, "--as=" + sa}
		if tc.sub != "" {
			args = append(args, "--subresource="+tc.sub)
		}
		// can-i exits 1 when the answer is no: the answer is the output's
		// last line (warnings come before it).
		out, _ := c.Kubectl(ctx, args...)
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		if got := lines[len(lines)-1]; got != tc.want {
			t.Errorf("can %s %s %s %s: %q, want %s", sa, tc.verb, tc.resource, tc.sub, out, tc.want)
		}
	}
}

// waitNamespace waits for the API server's own controller to create ns.
func waitNamespace(ctx context.Context, t *testing.T, c *k8s.Cluster, ns string) {
	t.Helper()
	for {
		if _, err := c.Kubectl(ctx, "get", "namespace", ns); err == nil {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("namespace %s never appeared", ns)
		case <-time.After(200 * time.Millisecond):
		}
	}
}
