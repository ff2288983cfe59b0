package report

import (
	"fmt"
	"io"
	"time"
)

// Kubernetes is what a user of the real cluster (K8S) looks at: the nodes
// as `kubectl get nodes` and `kubectl describe node` show them (Ready,
// the pods and vpc-cni.io/pod-ips capacity, the PodIPsAvailable
// condition), and every pod as `kubectl get pods -A -o wide` does.
type Kubernetes struct {
	Nodes []KubeNode `json:"nodes"`
	Pods  []KubePod  `json:"pods"`
}

// KubeNode is one Node.
type KubeNode struct {
	Name    string `json:"name"`
	Ready   string `json:"ready"`   // the Ready condition's status
	Pods    string `json:"pods"`    // capacity pods
	PodIPs  string `json:"podIps"`  // capacity vpc-cni.io/pod-ips
	Network string `json:"network"` // NetworkUnavailable status/reason
	// PodIPsAvailable is the condition's status and reason; Message its
	// message (the figures); Written how long ago ipamd wrote it (ipamd
	// writes the figures alone at most every 30 s), 0 if unknown.
	PodIPsAvailable string        `json:"podIpsAvailable"`
	Message         string        `json:"message"`
	Written         time.Duration `json:"written,omitempty"`
}

// KubePod is one Pod.
type KubePod struct {
	Namespace, Name, Ready, Status, IP, Node string
}

func renderKubernetes(w io.Writer, k *Kubernetes) {
	if k == nil {
		return
	}
	section(w, "KUBERNETES NODES", len(k.Nodes))
	if len(k.Nodes) > 0 {
		t := table(w, "NAME", "READY", "PODS", "VPC-CNI.IO/POD-IPS", "NETWORKUNAVAILABLE", "PODIPSAVAILABLE", "MESSAGE")
		for _, n := range k.Nodes {
			msg := oneLine(n.Message)
			if n.Written > 0 && msg != "" {
				msg += fmt.Sprintf(" (written %s ago)", n.Written.Round(time.Second))
			}
			t.row(n.Name, orDash(n.Ready), orDash(n.Pods), orDash(n.PodIPs), orDash(n.Network), orDash(n.PodIPsAvailable),
				orDash(msg))
		}
		t.flush()
	}
	section(w, "KUBERNETES PODS", len(k.Pods))
	if len(k.Pods) > 0 {
		t := table(w, "NAMESPACE", "NAME", "READY", "STATUS", "IP", "NODE")
		for _, p := range k.Pods {
			t.row(p.Namespace, p.Name, orDash(p.Ready), orDash(p.Status), orDash(p.IP), orDash(p.Node))
		}
		t.flush()
	}
}

// ReadyOf is a pod's READY column: its ready containers of all, e.g. "1/1".
func ReadyOf(ready, total int) string { return fmt.Sprintf("%d/%d", ready, total) }
