package daemon_test

import (
	"context"
	"errors"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"

	"github.com/vpc-cni/vpc-cni/ipamd/capacity"
	"github.com/vpc-cni/vpc-cni/ipamd/daemon"
)

const kubeNode = "node-1"

func kubeNodeObject() *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: kubeNode}}
}

// getNode reads the node, failing the test on error.
func getNode(t *testing.T, c kubernetes.Interface) *corev1.Node {
	t.Helper()
	n, err := c.CoreV1().Nodes().Get(context.Background(), kubeNode, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get node: %v", err)
	}
	return n
}

// TestKubernetesReporting: with a Kubernetes client, ipamd sets the
// node's vpc-cni.io/pod-ips to the addresses it can ever hold (m5.large:
// 3 ENIs × 9; with prefix delegation the max pods cap, 110, binds) and
// its conditions once it serves.
func TestKubernetesReporting(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		env  map[string]string
		want int64
	}{
		{"secondary IPs", nil, 27},
		{"prefix delegation", map[string]string{"ENABLE_PREFIX_DELEGATION": "true"}, 110},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := startCloud(t, world{}, nil)
			env := map[string]string{"MY_NODE_NAME": kubeNode}
			for k, v := range tt.env {
				env[k] = v
			}
			n := newNode(t, c, env)
			client := fake.NewClientset(kubeNodeObject())
			n.kube = client
			n.start()
			eventually(t, "the node's status", func() bool {
				node := getNode(t, client)
				q, ok := node.Status.Allocatable[capacity.ResourcePodIPs]
				up := capacity.Condition(node, corev1.NodeNetworkUnavailable)
				avail := capacity.Condition(node, capacity.ConditionPodIPsAvailable)
				return ok && q.Value() == tt.want && up != nil && up.Status == corev1.ConditionFalse &&
					avail != nil && avail.Status == corev1.ConditionTrue
			})
			node := getNode(t, client)
			if q := node.Status.Capacity[capacity.ResourcePodIPs]; q.Value() != tt.want {
				t.Errorf("capacity %s = %s, want %d", capacity.ResourcePodIPs, q.String(), tt.want)
			}
		})
	}
}

// TestKubernetesPodGC: the address of a pod the API server no longer has
// is released after the grace period; a live pod's never is.
func TestKubernetesPodGC(t *testing.T) {
	t.Parallel()
	c := startCloud(t, world{}, nil)
	n := newNode(t, c, map[string]string{"MY_NODE_NAME": kubeNode})
	// addReq(1) is pod-1 (uid-1), addReq(2) pod-2, which the API server
	// does not have.
	live := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "pod-1", UID: "uid-1"},
		Spec: corev1.PodSpec{NodeName: kubeNode}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	n.kube = fake.NewClientset(kubeNodeObject(), live)
	n.tune.PodGCGrace, n.tune.PodGCInterval = 300*time.Millisecond, 50*time.Millisecond
	r := n.start()
	r.add(1)
	r.add(2)
	eventually(t, "pod-2's address released", func() bool { _, held := r.check(2); return !held })
	time.Sleep(5 * n.tune.PodGCGrace) // many passes after the grace
	if _, held := r.check(1); !held {
		t.Error("the live pod-1's address was released")
	}
}

// TestKubernetesNeedsNodeName: a Kubernetes client without MY_NODE_NAME
// stops ipamd before it starts, saying so.
func TestKubernetesNeedsNodeName(t *testing.T) {
	t.Parallel()
	c := startCloud(t, world{}, nil)
	n := newNode(t, c, nil)
	n.kube = fake.NewClientset()
	if _, err := n.tryStart(); !errors.Is(err, daemon.ErrNoNodeName) {
		t.Errorf("Run = %v, want ErrNoNodeName", err)
	}
}

// TestKubernetesUnreachable: an API server that cannot be reached never
// holds back allocation.
func TestKubernetesUnreachable(t *testing.T) {
	t.Parallel()
	c := startCloud(t, world{}, nil)
	n := newNode(t, c, map[string]string{"MY_NODE_NAME": kubeNode})
	client, err := kubernetes.NewForConfig(&rest.Config{Host: "http://127.0.0.1:1", Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	n.kube = client
	r := n.start()
	for i := range 5 {
		r.add(i)
	}
}
