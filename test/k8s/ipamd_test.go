package k8s_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/internal/ipamdtest"
	"github.com/vpc-cni/vpc-cni/ipamd/capacity"
	"github.com/vpc-cni/vpc-cni/ipamd/daemon"
	"github.com/vpc-cni/vpc-cni/ipamd/maxpods"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
	"github.com/vpc-cni/vpc-cni/test/k8s"
)

// ipamdWait bounds every wait of these tests: generous, the machine is
// shared; nothing asserts on time.
const ipamdWait = 2 * time.Minute

// TestIpamdOnAPIServer runs ipamd over ec2sim against the real
// kube-apiserver, one ipamd (and ec2sim) per Node, as a user would see it
// through kubectl.
func TestIpamdOnAPIServer(t *testing.T) {
	c := k8s.Start(t)
	t.Run("capacity", func(t *testing.T) { t.Parallel(); testCapacity(t, c) })
	t.Run("subnet exhausted", func(t *testing.T) { t.Parallel(); testSubnetExhausted(t, c) })
	t.Run("churn", func(t *testing.T) { t.Parallel(); testChurn(t, c) })
	t.Run("pod GC", func(t *testing.T) { t.Parallel(); testPodGC(t, c) })
	t.Run("status overwritten", func(t *testing.T) { t.Parallel(); testOverwritten(t, c) })
}

// testOverwritten: vpc-cni.io/pod-ips removed from the Node's status
// behind ipamd's back (as kubelet does to extended resources when it
// registers again) is restored from ipamd's watch of the Node, well before
// its 5-minute read-back.
func testOverwritten(t *testing.T, c *k8s.Cluster) {
	n := startOnNode(t, c, "node-overwritten", nil, daemon.Tuning{})
	n.waitFor(t, "ipamd up", up)
	ctx, cancel := context.WithTimeout(context.Background(), ipamdWait)
	defer cancel()
	patch := []byte(`{"status":{"capacity":{"vpc-cni.io/pod-ips":null},"allocatable":{"vpc-cni.io/pod-ips":null}}}`)
	if _, err := c.Client().CoreV1().Nodes().Patch(ctx, n.name, types.StrategicMergePatchType, patch,
		metav1.PatchOptions{}, "status"); err != nil {
		t.Fatalf("remove pod-ips: %v", err)
	}
	if _, ok := n.get(t).Status.Capacity[capacity.ResourcePodIPs]; ok {
		t.Fatal("the patch did not remove vpc-cni.io/pod-ips")
	}
	start := time.Now()
	n.waitFor(t, "vpc-cni.io/pod-ips restored", func(node *corev1.Node) bool {
		_, ok := node.Status.Capacity[capacity.ResourcePodIPs]
		return ok
	})
	// A change is written within MinInterval (5 s) of the last write; the
	// bound leaves room for a loaded machine and stays far below both the
	// figures' 30 s and the 5-minute read-back.
	if since := time.Since(start); since >= 20*time.Second {
		t.Errorf("restored after %s: not as a change is, within about %s", since, capacity.DefaultMinInterval)
	}
}

// kubeNode is one ipamd on its Node.
type kubeNode struct {
	name  string
	c     *k8s.Cluster
	ipamd *ipamdtest.Ipamd
}

// startOnNode creates the Node and starts ipamd for it (an m5.large in
// 198.18.0.0/24) with a client built as the daemon's main builds it, from
// KUBECONFIG.
func startOnNode(t *testing.T, c *k8s.Cluster, name string, env map[string]string, tune daemon.Tuning) *kubeNode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ipamdWait)
	defer cancel()
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if _, err := c.Client().CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	kube, err := capacity.ClientFromEnv(func(k string) string {
		if k == "KUBECONFIG" {
			return c.Kubeconfig()
		}
		return ""
	})
	if err != nil {
		t.Fatalf("client from KUBECONFIG: %v", err)
	}
	all := map[string]string{"MY_NODE_NAME": name}
	maps.Copy(all, env)
	ip := ipamdtest.Start(t, ipamdtest.Options{InstanceType: "m5.large", SubnetCIDR: "198.18.0.0/24",
		PrimaryIP: "198.18.0.10", Env: all, Tuning: tune, Kubernetes: kube, Wait: ipamdWait})
	return &kubeNode{name: name, c: c, ipamd: ip}
}

// get reads the Node with kubectl, as a user would.
func (n *kubeNode) get(t *testing.T) *corev1.Node {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ipamdWait)
	defer cancel()
	out, err := n.c.Kubectl(ctx, "get", "node", n.name, "-o", "json")
	if err != nil {
		t.Fatal(err)
	}
	var node corev1.Node
	if err := json.Unmarshal(out, &node); err != nil {
		t.Fatalf("kubectl get node -o json: %v", err)
	}
	return &node
}

// waitFor polls the Node until cond holds.
func (n *kubeNode) waitFor(t *testing.T, what string, cond func(*corev1.Node) bool) *corev1.Node {
	t.Helper()
	deadline := time.Now().Add(ipamdWait)
	for {
		node := n.get(t)
		if cond(node) {
			return node
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s: no %s within %s; status: %s", n.name, what, ipamdWait, statusJSON(node))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func statusJSON(node *corev1.Node) string {
	b, _ := json.Marshal(node.Status)
	return string(b)
}

// available is the node's PodIPsAvailable condition, nil if unset.
func available(node *corev1.Node) *corev1.NodeCondition {
	return capacity.Condition(node, capacity.ConditionPodIPsAvailable)
}

// up says whether the node shows ipamd up: NetworkUnavailable False
// (VpcCniIsUp) and PodIPsAvailable True (WarmPoolReady).
func up(node *corev1.Node) bool {
	nu, pa := capacity.Condition(node, corev1.NodeNetworkUnavailable), available(node)
	return nu != nil && nu.Status == corev1.ConditionFalse && nu.Reason == capacity.ReasonUp &&
		pa != nil && pa.Status == corev1.ConditionTrue && pa.Reason == capacity.ReasonWarmPoolReady
}

// add allocates an address for the pod, as the plugin's ADD would.
func (n *kubeNode) add(t *testing.T, id, pod, uid string) (*ipamv1.AddNetworkResponse, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ipamdWait)
	defer cancel()
	return n.ipamd.Client.AddNetwork(ctx, &ipamv1.AddNetworkRequest{ContainerId: id, Ifname: "eth0",
		Netns: "/var/run/netns/cni-" + id, PodNamespace: metav1.NamespaceDefault, PodName: pod, PodUid: uid})
}

func (n *kubeNode) del(t *testing.T, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ipamdWait)
	defer cancel()
	if _, err := n.ipamd.Client.DelNetwork(ctx, &ipamv1.DelNetworkRequest{ContainerId: id, Ifname: "eth0"}); err != nil {
		t.Fatalf("DelNetwork %s: %v", id, err)
	}
}

// held says whether ipamd holds an address for the container.
func (n *kubeNode) held(t *testing.T, id string) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ipamdWait)
	defer cancel()
	resp, err := n.ipamd.Client.CheckNetwork(ctx, &ipamv1.CheckNetworkRequest{ContainerId: id, Ifname: "eth0"})
	if err != nil {
		t.Fatalf("CheckNetwork %s: %v", id, err)
	}
	return resp.GetFound()
}

// testCapacity: after start, vpc-cni.io/pod-ips is the max-pods figure of
// the instance type and configuration, less the 2 host-network pods where
// the addresses are the limit (m5.large: max pods 29, 27 addresses), and
// the max-pods cap where it binds (prefix delegation: 432 addresses, max
// pods 110); NetworkUnavailable is False and PodIPsAvailable True.
func testCapacity(t *testing.T, c *k8s.Cluster) {
	m5, ok := cloud.BuiltinInstanceType("m5.large")
	if !ok {
		t.Fatal("no m5.large in the built-in table")
	}
	for _, tt := range []struct {
		node string
		pd   bool
		want func(maxpods.Result) int
	}{
		{"node-ips", false, func(r maxpods.Result) int { return r.MaxPods - maxpods.HostNetworkPods }},
		{"node-prefixes", true, func(r maxpods.Result) int { return r.MaxPods }},
	} {
		t.Run(tt.node, func(t *testing.T) {
			t.Parallel()
			mp, err := maxpods.Compute(m5, maxpods.Options{PrefixDelegation: tt.pd})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want(mp)
			n := startOnNode(t, c, tt.node, map[string]string{"ENABLE_PREFIX_DELEGATION": fmt.Sprint(tt.pd)}, daemon.Tuning{})
			node := n.waitFor(t, "ipamd up", up)
			for what, list := range map[string]corev1.ResourceList{"capacity": node.Status.Capacity,
				"allocatable": node.Status.Allocatable} {
				if q, ok := list[capacity.ResourcePodIPs]; !ok || q.Value() != int64(want) {
					t.Errorf("%s %s = %s (present %v), want %d (max pods %d)", what, capacity.ResourcePodIPs,
						q.String(), ok, want, mp.MaxPods)
				}
			}
			if msg := available(node).Message; !strings.Contains(msg, fmt.Sprintf("/ %d capacity", want)) {
				t.Errorf("PodIPsAvailable message %q does not give the capacity %d", msg, want)
			}
		})
	}
}

// fillSubnet takes every free address of the instance's subnet in ec2sim,
// as other workloads of a busy VPC would: ENIs with only their primary
// address until EC2 says the subnet is full.
func fillSubnet(t *testing.T, w *sim.World) int {
	t.Helper()
	subnet := w.Snapshot().Subnets[0].ID
	for n := 0; n < 300; n++ {
		_, err := w.CreateNetworkInterface(sim.CreateENIInput{SubnetID: subnet, Description: "another workload"})
		if err != nil {
			if !strings.Contains(err.Error(), "InsufficientFreeAddressesInSubnet") {
				t.Fatalf("fill the subnet: %v", err)
			}
			return n
		}
	}
	t.Fatal("the subnet never filled")
	return 0
}

// testSubnetExhausted: once the subnet is full and pods need the pool to
// grow, PodIPsAvailable turns False with reason SubnetExhausted and an
// Event on the Node says why.
func testSubnetExhausted(t *testing.T, c *k8s.Cluster) {
	n := startOnNode(t, c, "node-full", nil, daemon.Tuning{})
	n.waitFor(t, "ipamd up", up)
	taken := fillSubnet(t, n.ipamd.Sim.World())
	t.Logf("the other workload took %d addresses", taken)
	// Pods until the pool wants to grow and cannot: with WARM_ENI_TARGET=1
	// as soon as the spare ENI is used.
	blocked := func(node *corev1.Node) bool {
		pa := available(node)
		return pa != nil && pa.Status == corev1.ConditionFalse && pa.Reason == capacity.ReasonSubnetExhausted
	}
	var node *corev1.Node
	for i := 0; ; i++ {
		if i == 27 {
			t.Fatalf("27 pods and the node never showed SubnetExhausted: %s", statusJSON(node))
		}
		if _, err := n.add(t, fmt.Sprintf("full-%02d", i), fmt.Sprintf("full-%02d", i), ""); err != nil {
			break // the pool is empty: the condition must show it now
		}
		if node = n.get(t); blocked(node) {
			break
		}
	}
	node = n.waitFor(t, "PodIPsAvailable False SubnetExhausted", blocked)
	if msg := available(node).Message; !strings.Contains(msg, "assigned") || !strings.Contains(msg, "subnet") {
		t.Errorf("PodIPsAvailable message %q: want the cause and the figures", msg)
	}
	if nu := capacity.Condition(node, corev1.NodeNetworkUnavailable); nu == nil || nu.Status != corev1.ConditionFalse {
		t.Errorf("NetworkUnavailable %+v: want it False still (the pool serves what it has)", nu)
	}
	deadline := time.Now().Add(ipamdWait)
	for {
		evs := nodeEvents(t, c.Client(), n.name)
		if len(evs) > 0 {
			if ev := evs[0]; ev.Reason != capacity.ReasonSubnetExhausted || ev.Type != corev1.EventTypeWarning ||
				!strings.Contains(ev.Message, "subnet") {
				t.Errorf("event %s %s %q, want a Warning SubnetExhausted naming the subnet", ev.Type, ev.Reason, ev.Message)
			}
			if len(evs) != 1 {
				t.Errorf("%d events, want 1", len(evs))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no event on node %s within %s", n.name, ipamdWait)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// nodeEvents are the Events recorded on the node.
func nodeEvents(t *testing.T, client kubernetes.Interface, node string) []corev1.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ipamdWait)
	defer cancel()
	l, err := client.CoreV1().Events(metav1.NamespaceDefault).List(ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.kind": "Node", "involvedObject.name": node}.String()})
	if err != nil {
		t.Fatalf("list events: %v", err)
	}
	return l.Items
}

// testChurn: 1000 pods allocated and freed (3 kept at the end, so the
// figures differ from the start) cause at most a handful of Node writes,
// counted as the Node's modifications on a watch, until the Node shows the
// final figures.
func testChurn(t *testing.T, c *k8s.Cluster) {
	const cycles, kept, handful = 1000, 3, 5
	n := startOnNode(t, c, "node-churn", map[string]string{"IP_COOLDOWN_PERIOD": "0"}, daemon.Tuning{})
	before := n.waitFor(t, "ipamd up", up)
	ctx, cancel := context.WithTimeout(context.Background(), 5*ipamdWait)
	defer cancel()
	w, err := c.Client().CoreV1().Nodes().Watch(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("metadata.name", n.name).String(), ResourceVersion: before.ResourceVersion})
	if err != nil {
		t.Fatalf("watch node: %v", err)
	}
	defer w.Stop()
	writes := make(chan int, 1)
	go func() {
		count := 0
		defer func() { writes <- count }()
		for ev := range w.ResultChan() {
			if ev.Type == watch.Modified {
				count++
			}
		}
	}()
	start := time.Now()
	for i := range cycles {
		id := fmt.Sprintf("churn-%04d", i)
		if _, err := n.add(t, id, id, ""); err != nil {
			t.Fatalf("cycle %d: AddNetwork: %v", i, err)
		}
		if i < cycles-kept {
			n.del(t, id)
		}
	}
	t.Logf("%d allocate/free cycles in %s", cycles, time.Since(start).Round(time.Millisecond))
	final := fmt.Sprintf("%d assigned", kept)
	n.waitFor(t, "the final figures", func(node *corev1.Node) bool {
		pa := available(node)
		return pa != nil && strings.HasPrefix(pa.Message, "pool can serve pods: "+final)
	})
	w.Stop()
	got := <-writes
	t.Logf("%d node writes for %d cycles", got, cycles)
	if got == 0 || got > handful {
		t.Errorf("%d node writes for %d allocate/free cycles, want between 1 and %d", got, cycles, handful)
	}
}

// testPodGC: the address of a Pod deleted from the API server is released
// after the grace period; a live Pod's never is.
func testPodGC(t *testing.T, c *k8s.Cluster) {
	const grace = 2 * time.Second
	n := startOnNode(t, c, "node-gc", nil, daemon.Tuning{PodGCGrace: grace, PodGCInterval: 200 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), ipamdWait)
	defer cancel()
	pods := c.Client().CoreV1().Pods(metav1.NamespaceDefault)
	uids := map[string]string{}
	for _, name := range []string{"web-live", "web-gone"} {
		p, err := pods.Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name},
			Spec:       corev1.PodSpec{NodeName: n.name, Containers: []corev1.Container{{Name: "web", Image: "echo"}}},
		}, metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("create pod %s: %v", name, err)
		}
		uids[name] = string(p.UID)
		if _, err := n.add(t, "c-"+name, name, uids[name]); err != nil {
			t.Fatalf("AddNetwork for %s: %v", name, err)
		}
	}
	zero := int64(0)
	if err := pods.Delete(ctx, "web-gone", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		t.Fatalf("delete pod: %v", err)
	}
	deleted := time.Now()
	for n.held(t, "c-web-gone") {
		if time.Since(deleted) > ipamdWait {
			t.Fatalf("the deleted pod's address is still held after %s", ipamdWait)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if since := time.Since(deleted); since < grace {
		t.Errorf("released %s after the pod's delete, before the grace period (%s)", since, grace)
	}
	time.Sleep(3 * grace) // many passes more
	if !n.held(t, "c-web-live") {
		t.Error("the live pod's address was released")
	}
}
