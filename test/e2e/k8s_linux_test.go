package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/capacity"
	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
	"github.com/vpc-cni/vpc-cni/ipamd/maxpods"
	"github.com/vpc-cni/vpc-cni/test/lab"
	"github.com/vpc-cni/vpc-cni/test/lab/kube"
)

// k8sWait bounds each wait on the real cluster: generous, pods start
// through kubelet, containerd and runc on a shared machine.
const k8sWait = 4 * time.Minute

// TestPrivilegedK8SCluster runs the path users run: kubelet asks
// containerd for pod sandboxes, containerd runs vpc-cni from the conflist
// that ipamd, installed by the chart, wrote. In order, on one cluster of
// two m5.large nodes: a Deployment of 6 echo pods spread over the nodes;
// a node filled to its max pods and one beyond, then emptied and its
// addresses reused after the cooldown; the ipamd pod deleted under running
// pods; every pod deleted and the chart uninstalled, leaving nothing.
func TestPrivilegedK8SCluster(t *testing.T) {
	timed(t)
	needK8s(t)
	stateDir := tempStateDir(t, "e2e20")
	t.Cleanup(k8sLeftovers(t, stateDir)) // after the lab's teardown
	l := startLab(t, 20, labSpec{nodes: 2, pods: 3, k8s: true, stateDir: stateDir,
		ipamdEnv: map[string]string{"IP_COOLDOWN_PERIOD": "5"}})
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	client, err := l.Kube()
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name string
		f    func(context.Context, *testing.T, *testLab, kubernetes.Interface)
	}{
		{"deployment", k8sDeployment},
		{"max pods", k8sMaxPods},
		{"ipamd pod deleted", k8sIpamdDeleted},
		{"delete and uninstall", k8sUninstall},
	}
	for _, s := range steps {
		if !t.Run(s.name, func(t *testing.T) { timed(t); s.f(ctx, t, l, client) }) {
			return // the next steps build on this one
		}
	}
}

// k8sLeftovers returns a check, for after the teardown, that the real
// cluster left nothing the plain lab's checks do not look for: no process
// naming the state directory (containerd's shims, kubelet), no cgroup of
// a container (k8s.io, unless it was there before), no pod namespace
// pinned in the host's /run/netns.
func k8sLeftovers(t *testing.T, stateDir string) func() {
	hadCgroups, _ := filepath.Glob("/sys/fs/cgroup/*/k8s.io")
	return func() {
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, f := range procs {
			b, err := os.ReadFile(f)
			if err == nil && strings.Contains(string(b), stateDir+"/") {
				t.Errorf("after lab down: process %s: %s", filepath.Base(filepath.Dir(f)), strings.ReplaceAll(string(b), "\x00", " "))
			}
		}
		if cg, _ := filepath.Glob("/sys/fs/cgroup/*/k8s.io"); len(hadCgroups) == 0 && len(cg) > 0 {
			t.Errorf("after lab down: container cgroups left: %v", cg)
		}
		if pinned, _ := filepath.Glob("/run/netns/cni-*"); len(pinned) > 0 {
			t.Errorf("after lab down: pod namespaces pinned in the host's /run/netns: %v", pinned)
		}
	}
}

// k8sDeployment: the 6 echo pods run, 3 per node, with VPC addresses of
// their node's ENIs in ec2sim; every pod reaches every other, each node its
// pods, with the sender's address preserved; pod → internet is SNATed.
func k8sDeployment(ctx context.Context, t *testing.T, l *testLab, client kubernetes.Interface) {
	pods := syncPods(ctx, t, l, 6)
	for _, n := range l.Nodes() {
		if got := len(podsOf(pods, n.Index)); got != 3 {
			t.Errorf("%s runs %d echo pods, want 3", n.Name, got)
		}
	}
	placeAll(ctx, t, l, pods)
	checkConnectivity(ctx, t, l, pods)
}

// checkConnectivity runs pod→pod, node→pod and pod→node, and pod→internet
// (SNATed to the node's address) over the pods.
func checkConnectivity(ctx context.Context, t *testing.T, l *testLab, pods []*lab.Pod) {
	t.Helper()
	cs := append(podToPod(pods), nodePod(l.Nodes(), pods)...)
	for _, p := range pods {
		n, err := l.Node(p.Node)
		if err != nil {
			t.Fatal(err)
		}
		cs = append(cs, check("pod→internet (SNAT)", podEnd(p), internetEnd(l.prefix), n.PrimaryIP)...)
	}
	runChecks(ctx, t, cs)
}

// syncPods waits until the echo Deployment has want ready pods and returns
// them.
func syncPods(ctx context.Context, t *testing.T, l *testLab, want int) []*lab.Pod {
	t.Helper()
	var pods []*lab.Pod
	waitUntil(ctx, t, k8sWait, fmt.Sprintf("%d echo pods ready", want), func() (bool, string) {
		var err error
		pods, err = l.SyncKubePods(ctx)
		if err != nil {
			return false, err.Error()
		}
		return len(pods) == want, fmt.Sprintf("%d ready", len(pods))
	})
	return pods
}

// nodePods are the pods bound to the node, hostNetwork ones included.
func nodePods(ctx context.Context, t *testing.T, client kubernetes.Interface, node string) []corev1.Pod {
	t.Helper()
	l, err := client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("spec.nodeName", node).String()})
	if err != nil {
		t.Fatalf("list %s's pods: %v", node, err)
	}
	return l.Items
}

// k8sMaxPods: node1 filled with a Deployment pinned to it up to its max
// pods (29: kubelet's figure assumes 2 host-network pods, the lab has
// one) and one beyond: as many pods run as the node has pod addresses
// (vpc-cni.io/pod-ips, 27), the pod the scheduler placed beyond them stays
// in ContainerCreating with an event naming the limit, the one beyond max
// pods stays Pending, and the echo pods keep working. Scaled down, the
// addresses go back to the pool and, after the cooldown, serve new pods.
func k8sMaxPods(ctx context.Context, t *testing.T, l *testLab, client kubernetes.Interface) {
	limits, _ := cloud.BuiltinInstanceType(lab.DefaultInstanceType)
	mp, err := maxpods.Compute(limits, maxpods.Options{})
	if err != nil {
		t.Fatal(err)
	}
	podIPs := capacity.PodIPsOf(mp)
	node := must(l.Node(1))
	fill := int32(mp.MaxPods - len(nodePods(ctx, t, client, node.Name)) + 1)
	deploy := client.AppsV1().Deployments(lab.EchoNamespace)
	d := kube.EchoDeployment(lab.EchoNamespace, "fill", fill)
	d.Spec.Template.Spec.TopologySpreadConstraints = nil
	d.Spec.Template.Spec.NodeSelector = map[string]string{corev1.LabelHostname: node.Name}
	if _, err := deploy.Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create the fill Deployment: %v", err)
	}
	var stuck string
	waitUntil(ctx, t, k8sWait, fmt.Sprintf("%s full: %d pods with addresses, one stuck at the address limit, one Pending",
		node.Name, podIPs), func() (bool, string) {
		running, creating, pending := 0, []string{}, 0
		for _, p := range nodePods(ctx, t, client, node.Name) {
			switch {
			case p.Spec.HostNetwork:
			case p.Status.Phase == corev1.PodRunning:
				running++
			default:
				creating = append(creating, p.Name)
			}
		}
		unscheduled, err := client.CoreV1().Pods(lab.EchoNamespace).List(ctx, metav1.ListOptions{
			LabelSelector: "app=fill", FieldSelector: "spec.nodeName="})
		if err == nil {
			pending = len(unscheduled.Items)
		}
		stuck = ""
		for _, name := range creating {
			if ev := sandboxFailure(ctx, client, name); strings.Contains(ev, "limit") {
				stuck = name + ": " + ev
			}
		}
		return running == podIPs && len(creating) == 1 && pending == 1 && stuck != "",
			fmt.Sprintf("%d running, not running %v (limit event: %q), %d pending", running, creating, stuck, pending)
	})
	t.Logf("the pod beyond the addresses: %s", stuck)
	checkConnectivity(ctx, t, l, syncPods(ctx, t, l, 6))

	used := map[string]bool{}
	for _, p := range nodePods(ctx, t, client, node.Name) {
		if p.Labels["app"] == "fill" && p.Status.PodIP != "" {
			used[p.Status.PodIP] = true
		}
	}
	scale(ctx, t, client, "fill", 0)
	waitUntil(ctx, t, k8sWait, "the fill pods gone and their addresses released", func() (bool, string) {
		left := 0
		for _, p := range nodePods(ctx, t, client, node.Name) {
			if p.Labels["app"] == "fill" {
				left++
			}
		}
		assigned, err := assignedOn(ctx, l, 1)
		if err != nil {
			return false, err.Error()
		}
		return left == 0 && assigned == 3, fmt.Sprintf("%d fill pods left, ipamd assigns %d addresses (want the 3 echo pods')", left, assigned)
	})
	time.Sleep(6 * time.Second) // IP_COOLDOWN_PERIOD=5
	scale(ctx, t, client, "fill", 2)
	waitUntil(ctx, t, k8sWait, "2 new fill pods on reused addresses", func() (bool, string) {
		var ips []string
		for _, p := range nodePods(ctx, t, client, node.Name) {
			if p.Labels["app"] == "fill" && p.Status.Phase == corev1.PodRunning && p.Status.PodIP != "" {
				ips = append(ips, p.Status.PodIP)
			}
		}
		reused := 0
		for _, ip := range ips {
			if used[ip] {
				reused++
			}
		}
		return len(ips) == 2 && reused == 2, fmt.Sprintf("running on %v, of which %d were fill addresses before", ips, reused)
	})
}

// assignedOn is the number of addresses node i's ipamd has assigned.
func assignedOn(ctx context.Context, l *testLab, i int) (int, error) {
	var enis introspect.ENIsView
	if err := l.Introspect(ctx, i, introspect.PathENIs, &enis); err != nil {
		return 0, err
	}
	n := 0
	for _, e := range enis.ENIs {
		for _, b := range e.Blocks {
			for _, a := range b.Addresses {
				if a.State == introspect.StateAssigned {
					n++
				}
			}
		}
	}
	return n, nil
}

// sandboxFailure is the message of the pod's last FailedCreatePodSandBox
// event, "" if none.
func sandboxFailure(ctx context.Context, client kubernetes.Interface, pod string) string {
	evs, err := client.CoreV1().Events(lab.EchoNamespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.name": pod, "reason": "FailedCreatePodSandBox"}.String()})
	if err != nil || len(evs.Items) == 0 {
		return ""
	}
	return evs.Items[len(evs.Items)-1].Message
}

// scale sets the Deployment's replicas.
func scale(ctx context.Context, t *testing.T, client kubernetes.Interface, name string, replicas int32) {
	t.Helper()
	s, err := client.AppsV1().Deployments(lab.EchoNamespace).GetScale(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("scale %s: %v", name, err)
	}
	s.Spec.Replicas = replicas
	if _, err := client.AppsV1().Deployments(lab.EchoNamespace).UpdateScale(ctx, name, s, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("scale %s to %d: %v", name, replicas, err)
	}
}

// ipamdPod is the ipamd pod on the node.
func ipamdPod(ctx context.Context, t *testing.T, client kubernetes.Interface, node string) (corev1.Pod, bool) {
	t.Helper()
	for _, p := range nodePods(ctx, t, client, node) {
		if p.Namespace == "kube-system" && p.Spec.HostNetwork && p.DeletionTimestamp == nil {
			return p, true
		}
	}
	return corev1.Pod{}, false
}

// k8sIpamdDeleted: the ipamd pod of node1 deleted (the DaemonSet makes a
// new one): the running pods keep their connectivity, the next pods get
// addresses, and no address is held twice (against ec2sim).
func k8sIpamdDeleted(ctx context.Context, t *testing.T, l *testLab, client kubernetes.Interface) {
	scale(ctx, t, client, "fill", 0)
	node := must(l.Node(1))
	old, ok := ipamdPod(ctx, t, client, node.Name)
	if !ok {
		t.Fatalf("no ipamd pod on %s", node.Name)
	}
	if err := client.CoreV1().Pods(old.Namespace).Delete(ctx, old.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete %s: %v", old.Name, err)
	}
	pods := syncPods(ctx, t, l, 6)
	checkConnectivity(ctx, t, l, pods)
	waitUntil(ctx, t, k8sWait, "a new ipamd pod ready on "+node.Name, func() (bool, string) {
		p, ok := ipamdPod(ctx, t, client, node.Name)
		if !ok || p.UID == old.UID {
			return false, "the old pod or none"
		}
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue {
				return true, ""
			}
		}
		return false, p.Name + " not ready"
	})
	checkConnectivity(ctx, t, l, pods)
	scale(ctx, t, client, lab.EchoDeployment, 8)
	pods = syncPods(ctx, t, l, 8)
	placeAll(ctx, t, l, pods) // distinct, each on an ENI of its node
	checkConnectivity(ctx, t, l, pods)
}

// k8sUninstall: every pod deleted, then helm uninstall: no address stays
// assigned in any node's checkpoint, and no pod veth or pod rule is left
// on a node.
func k8sUninstall(ctx context.Context, t *testing.T, l *testLab, client kubernetes.Interface) {
	for _, name := range []string{lab.EchoDeployment, "fill"} {
		if err := client.AppsV1().Deployments(lab.EchoNamespace).Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			t.Fatalf("delete Deployment %s: %v", name, err)
		}
	}
	waitUntil(ctx, t, k8sWait, "every pod gone", func() (bool, string) {
		ps, err := client.CoreV1().Pods(lab.EchoNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(ps.Items) == 0, fmt.Sprintf("%d pods left", len(ps.Items))
	})
	if err := l.HelmUninstall(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(ctx, t, k8sWait, "the ipamd pods gone", func() (bool, string) {
		ps, err := client.CoreV1().Pods("kube-system").List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, err.Error()
		}
		return len(ps.Items) == 0, fmt.Sprintf("%d pods left in kube-system", len(ps.Items))
	})
	for _, n := range l.Nodes() {
		dir := must(l.KubeNodeDir(n.Index))
		b, err := os.ReadFile(filepath.Join(dir, "run-vpc-cni", "ipam.json"))
		if err != nil {
			t.Fatalf("%s's checkpoint: %v", n.Name, err)
		}
		var cp struct {
			Allocations []json.RawMessage `json:"allocations"`
		}
		if err := json.Unmarshal(b, &cp); err != nil {
			t.Fatalf("%s's checkpoint: %v", n.Name, err)
		}
		if len(cp.Allocations) != 0 {
			t.Errorf("%s's checkpoint still assigns %d addresses: %s", n.Name, len(cp.Allocations), cp.Allocations)
		}
		links, rules := podLeftovers(t, n)
		if len(links) > 0 || len(rules) > 0 {
			t.Errorf("%s still has pod veths %v and pod rules %v", n.Name, links, rules)
		}
	}
}

// podLeftovers are the node's host-side pod veths (the veth prefix "eni")
// and pod rules (priorities 512 and 1536).
func podLeftovers(t *testing.T, n lab.Node) (links []string, rules []string) {
	t.Helper()
	err := ns.WithNetNSPath(n.NetNSPath(), func(ns.NetNS) error {
		ls, err := netlink.LinkList()
		if err != nil {
			return err
		}
		for _, l := range ls {
			if strings.HasPrefix(l.Attrs().Name, "eni") {
				links = append(links, l.Attrs().Name)
			}
		}
		rs, err := netlink.RuleList(netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Priority == 512 || r.Priority == 1536 {
				rules = append(rules, fmt.Sprintf("%d: %v → table %d", r.Priority, prefixOf(r), r.Table))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("%s's links and rules: %v", n.Name, err)
	}
	return links, rules
}

func prefixOf(r netlink.Rule) string {
	switch {
	case r.Src != nil:
		return "from " + r.Src.String()
	case r.Dst != nil:
		return "to " + r.Dst.String()
	}
	return "all"
}
