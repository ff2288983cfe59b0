package k8s_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vpc-cni/vpc-cni/test/k8s"
)

// TestAPIServer starts the real cluster, writes a Node and its status
// capacity, reads it back through client-go and kubectl, and checks that
// RBAC is on.
func TestAPIServer(t *testing.T) {
	c := k8s.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	nodes := c.Client().CoreV1().Nodes()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-a"}}
	if _, err := nodes.Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node: %v", err)
	}
	patch := []byte(`{"status":{"capacity":{"vpc-cni.io/pod-ips":"29"},"allocatable":{"vpc-cni.io/pod-ips":"29"}}}`)
	if _, err := nodes.Patch(ctx, "node-a", types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status"); err != nil {
		t.Fatalf("patch node status: %v", err)
	}
	got, err := nodes.Get(ctx, "node-a", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get node: %v", err)
	}
	want := resource.MustParse("29")
	for name, list := range map[string]corev1.ResourceList{"capacity": got.Status.Capacity, "allocatable": got.Status.Allocatable} {
		if q, ok := list["vpc-cni.io/pod-ips"]; !ok || q.Cmp(want) != 0 {
			t.Errorf("node %s vpc-cni.io/pod-ips = %v (present %v), want 29", name, q.String(), ok)
		}
	}
	checkKubectl(ctx, t, c)
	checkRBAC(ctx, t, c)
}

// checkKubectl reads the capacity back with kubectl, as a user would.
func checkKubectl(ctx context.Context, t *testing.T, c *k8s.Cluster) {
	t.Helper()
	out, err := c.Kubectl(ctx, "get", "node", "node-a", "-o", `jsonpath={.status.capacity.vpc-cni\.io/pod-ips}`)
	if err != nil {
		t.Fatalf("%v", err)
	}
	if strings.TrimSpace(string(out)) != "29" {
		t.Errorf("kubectl get node: capacity %q, want 29", out)
	}
}

// checkRBAC: a service account with no bindings may not list nodes, and
// the admin may.
func checkRBAC(ctx context.Context, t *testing.T, c *k8s.Cluster) {
	t.Helper()
	cfg := c.RestConfig()
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:default:nobody"}
	sa, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("impersonating client: %v", err)
	}
	_, err = sa.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if !apierrors.IsForbidden(err) {
		t.Errorf("list nodes as a service account without bindings: err = %v, want Forbidden (is RBAC on?)", err)
	}
	if _, err := c.Client().CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
		t.Errorf("list nodes as admin: %v", err)
	}
}

func TestBinDir(t *testing.T) {
	tests := []struct {
		name, tools, xdg, home, want string
	}{
		{"override", "/opt/k8s", "/x", "/h", "/opt/k8s/bin"},
		{"xdg", "", "/x", "/h", "/x/vpc-cni/k8s-" + k8s.Version + "/bin"},
		{"home", "", "", "/h", "/h/.cache/vpc-cni/k8s-" + k8s.Version + "/bin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("K8S_TOOLS_DIR", tt.tools)
			t.Setenv("XDG_CACHE_HOME", tt.xdg)
			t.Setenv("HOME", tt.home)
			if got := k8s.BinDir(); got != filepath.Clean(tt.want) {
				t.Errorf("BinDir() = %q, want %q", got, tt.want)
			}
		})
	}
}
