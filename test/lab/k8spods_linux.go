package lab

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vpc-cni/vpc-cni/ipamd/capacity"
	"github.com/vpc-cni/vpc-cni/test/lab/kube"
	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
	"github.com/vpc-cni/vpc-cni/test/lab/report"
)

// The real cluster's echo Deployment (K8S).
const (
	EchoNamespace  = metav1.NamespaceDefault
	EchoDeployment = "echo"
	podsReadyWait  = 3 * time.Minute
)

// Kube is a client of the real cluster's API server as the admin (K8S
// labs only).
func (l *Lab) Kube() (kubernetes.Interface, error) {
	if !l.cfg.K8S {
		return nil, fmt.Errorf("lab %s runs no Kubernetes (LAB_K8S=1 / make lab K8S=1)", l.cfg.Prefix)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.kube == nil {
		c, err := kube.Client(kube.AdminKubeconfig(l.cfg.StateDir), netnsPath(netenv.FabricNS(l.cfg.Prefix)))
		if err != nil {
			return nil, err
		}
		l.kube = c
	}
	return l.kube, nil
}

// kubePods creates the echo Deployment, PodsPerNode pods per node spread
// over the nodes, waits until every pod is ready and records them.
func (u *upRun) kubePods(ctx context.Context, l *Lab) error {
	total := u.cfg.Nodes * u.cfg.PodsPerNode
	if total == 0 {
		return nil
	}
	client, err := l.Kube()
	if err != nil {
		return err
	}
	d := kube.EchoDeployment(EchoNamespace, EchoDeployment, int32(total))
	if _, err := client.AppsV1().Deployments(EchoNamespace).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create the echo Deployment: %w", err)
	}
	err = waitFor(ctx, podsReadyWait, fmt.Sprintf("%d echo pods ready", total), func() (bool, error) {
		pods, err := l.SyncKubePods(ctx)
		return err == nil && len(pods) == total, nil
	})
	if err != nil {
		return err
	}
	l.setTimings(func(t *Timings) { t.FirstPodReady = time.Since(u.start) })
	u.step("%s of the echo Deployment ready, spread over the nodes", plural(total, "pod"))
	return nil
}

// SyncKubePods makes the lab's pods those of the echo Deployment that are
// ready, with their addresses and namespaces, and returns them.
func (l *Lab) SyncKubePods(ctx context.Context) ([]*Pod, error) {
	client, err := l.Kube()
	if err != nil {
		return nil, err
	}
	list, err := client.CoreV1().Pods(EchoNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app=" + EchoDeployment})
	if err != nil {
		return nil, fmt.Errorf("list the echo pods: %w", err)
	}
	var pods []*Pod
	for _, kp := range list.Items {
		p, ok := l.podOf(kp)
		if ok {
			pods = append(pods, p)
		}
	}
	slices.SortFunc(pods, func(a, b *Pod) int {
		if a.Node != b.Node {
			return a.Node - b.Node
		}
		return a.IP.Compare(b.IP)
	})
	for k, p := range pods {
		p.Index = k + 1
	}
	l.mu.Lock()
	l.pods = pods
	l.mu.Unlock()
	return pods, nil
}

// podOf is the lab's view of a ready pod: its node, address, UID and the
// namespace of its echo server's process.
func (l *Lab) podOf(kp corev1.Pod) (*Pod, bool) {
	if kp.DeletionTimestamp != nil || kp.Status.Phase != corev1.PodRunning || !podReady(kp) {
		return nil, false
	}
	ip, err := netip.ParseAddr(kp.Status.PodIP)
	if err != nil {
		return nil, false
	}
	k := slices.IndexFunc(l.nodes, func(n Node) bool { return n.Name == kp.Spec.NodeName })
	if k < 0 {
		return nil, false
	}
	pid, ok := echoPID(kp.Name)
	if !ok {
		return nil, false
	}
	return &Pod{Name: kp.Name, Node: l.nodes[k].Index, UID: string(kp.UID), IP: ip,
		NSPath: filepath.Join(procPath, strconv.Itoa(pid), "ns", "net")}, true
}

func podReady(p corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// echoPID finds the process of the echo server answering as name (its
// command line has --name name).
func echoPID(name string) (int, bool) {
	ents, err := os.ReadDir(procPath)
	if err != nil {
		return 0, false
	}
	want := []byte("\x00--name\x00" + name + "\x00")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join(procPath, e.Name(), "cmdline"))
		if err == nil && bytes.Contains(b, want) && bytes.Contains(b, []byte("labecho")) {
			return pid, true
		}
	}
	return 0, false
}

// kubeReport is the real cluster's section of the report (nil for a
// plain lab); what cannot be read is a note.
func (l *Lab) kubeReport(ctx context.Context) (*report.Kubernetes, string) {
	if !l.cfg.K8S {
		return nil, ""
	}
	client, err := l.Kube()
	if err != nil {
		return nil, err.Error()
	}
	k := &report.Kubernetes{}
	nodes, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Sprintf("kubectl get nodes: %v", err)
	}
	for _, n := range nodes.Items {
		kn := report.KubeNode{Name: n.Name, Pods: n.Status.Capacity.Pods().String()}
		if q, ok := n.Status.Capacity[capacity.ResourcePodIPs]; ok {
			kn.PodIPs = q.String()
		}
		for _, c := range n.Status.Conditions {
			switch c.Type {
			case corev1.NodeReady:
				kn.Ready = string(c.Status)
			case corev1.NodeNetworkUnavailable:
				kn.Network = string(c.Status) + " " + c.Reason
			case capacity.ConditionPodIPsAvailable:
				kn.PodIPsAvailable, kn.Message = string(c.Status)+" "+c.Reason, c.Message
				if !c.LastHeartbeatTime.IsZero() {
					kn.Written = max(time.Since(c.LastHeartbeatTime.Time), time.Second)
				}
			}
		}
		k.Nodes = append(k.Nodes, kn)
	}
	pods, err := client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return k, fmt.Sprintf("kubectl get pods: %v", err)
	}
	for _, p := range pods.Items {
		ready := 0
		for _, cs := range p.Status.ContainerStatuses {
			if cs.Ready {
				ready++
			}
		}
		k.Pods = append(k.Pods, report.KubePod{Namespace: p.Namespace, Name: p.Name,
			Ready: report.ReadyOf(ready, len(p.Spec.Containers)), Status: string(p.Status.Phase),
			IP: p.Status.PodIP, Node: p.Spec.NodeName})
	}
	return k, ""
}
