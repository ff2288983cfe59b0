// Package kube is the lab's real Kubernetes cluster (make lab K8S=1): the
// control plane's command lines (etcd, kube-apiserver, kube-scheduler,
// kube-controller-manager, run in the fabric namespace), each real node's
// layout and configuration (containerd and kubelet in the node's network
// namespace and a mount namespace of its own, in which the CNI directories
// and /run/vpc-cni are the node's), the node supervisor `lab kubenode`
// runs (RunNode), the lab's images (pause, echo server), the chart's
// values, and a client that reaches the API server inside the fabric.
// The orchestration (when each runs) is package lab's.
package kube

import (
	"net/netip"
	"path/filepath"
	"strconv"
)

// APIServerAddr is kube-apiserver's address, on the fabric's loopback: in
// the VPC's range but outside the nodes' subnet, like the ENIs of a
// private cluster endpoint; every node reaches it through the fabric.
var APIServerAddr = netip.MustParseAddr("198.18.255.254")

// APIServerPort is kube-apiserver's secure port.
const APIServerPort = 6443

// APIServerURL is the API server's URL.
func APIServerURL() string {
	return "https://" + netip.AddrPortFrom(APIServerAddr, APIServerPort).String()
}

// ServiceCIDR is the cluster's service range (nothing serves it: the lab
// runs no kube-proxy).
const ServiceCIDR = "10.100.0.0/24"

// Images the lab builds and imports into every node's containerd.
const (
	PauseImage = "vpclab/pause:1"
	EchoImage  = "vpclab/echo:1"
)

// ClusterDir is the control plane's directory under the lab's state
// directory: pki/, etcd/, admin.kubeconfig.
func ClusterDir(stateDir string) string { return filepath.Join(stateDir, "k8s") }

// AdminKubeconfig is the admin kubeconfig's path.
func AdminKubeconfig(stateDir string) string {
	return filepath.Join(ClusterDir(stateDir), "admin.kubeconfig")
}

// Node is one real node's layout: everything under Dir (the lab's node
// directory) + "/k8s".
type Node struct {
	// Name is the Kubernetes node name (and ipamd's MY_NODE_NAME).
	Name      string
	PrimaryIP netip.Addr
	// NetNS is the node's network namespace path.
	NetNS string
	// Dir is the node's k8s directory.
	Dir string
	// MaxPods is kubelet's --max-pods (ipamd max-pods' figure).
	MaxPods int
}

// NewNode is the layout of a node whose lab directory is nodeDir.
func NewNode(name string, ip netip.Addr, netns, nodeDir string, maxPods int) Node {
	return Node{Name: name, PrimaryIP: ip, NetNS: netns, Dir: NodeDir(nodeDir), MaxPods: maxPods}
}

// NodeDir is the real node's directory in the lab node's directory.
func NodeDir(nodeDir string) string { return filepath.Join(nodeDir, "k8s") }

// runVpcCNI is the node's directory bound over /run/vpc-cni: ipamd's
// socket and checkpoint, seen from the host.
const runVpcCNI = "run-vpc-cni"

// IpamdSocket is, on the host, the socket the chart's ipamd serves on the
// node whose lab directory is nodeDir (/run/vpc-cni/ipamd.sock inside).
func IpamdSocket(nodeDir string) string {
	return filepath.Join(NodeDir(nodeDir), runVpcCNI, "ipamd.sock")
}

// Paths of a node, all on the host: containerd's root, state and socket
// (the shims' command lines name the socket, which is how a teardown
// after a crash finds them), kubelet's root, its configuration files.
func (n Node) ContainerdRoot() string   { return filepath.Join(n.Dir, "containerd", "root") }
func (n Node) ContainerdState() string  { return filepath.Join(n.Dir, "containerd", "state") }
func (n Node) ContainerdSocket() string { return filepath.Join(n.Dir, "containerd", "containerd.sock") }
func (n Node) ContainerdConfig() string { return filepath.Join(n.Dir, "containerd.toml") }
func (n Node) KubeletRoot() string      { return filepath.Join(n.Dir, "kubelet") }
func (n Node) KubeletConfig() string    { return filepath.Join(n.Dir, "kubelet.yaml") }
func (n Node) CreatedDirsFile() string  { return filepath.Join(n.Dir, createdDirsName) }

// createdDirsName lists the host directories a node created as mount
// targets (/opt/cni/bin on a host without one), deepest first.
const createdDirsName = "created-dirs"

// Mount is a bind mount of the node's mount namespace: Source (on the
// host, under the node's directory) over Target.
type Mount struct{ Source, Target string }

// Mounts are the node's own directories at the paths the chart, the
// runtime and kubelet use: the CNI bin and conf directories, ipamd's
// /run/vpc-cni, the plugin's log directory, the pods' logs, and
// /run/netns (where containerd pins pod namespaces: they stay out of the
// host's `ip netns`).
func (n Node) Mounts() []Mount {
	m := func(src, dst string) Mount { return Mount{Source: filepath.Join(n.Dir, src), Target: dst} }
	return []Mount{
		m("cni-bin", "/opt/cni/bin"),
		m("cni-conf", "/etc/cni/net.d"),
		m(runVpcCNI, "/run/vpc-cni"),
		m("log-vpc-cni", "/var/log/vpc-cni"),
		m("log-pods", "/var/log/pods"),
		m("log-containers", "/var/log/containers"),
		m("netns", "/run/netns"),
	}
}

// ContainerdTOML is the node's containerd configuration: its own root, state
// and sockets; the CRI with the lab's pause image, oom_score_adj
// restricted (this machine refuses a negative one) and the CNI
// directories at their usual paths (the node's own, in its mount
// namespace); runc with cgroupfs.
func (n Node) ContainerdTOML() []byte {
	q := strconv.Quote
	return []byte(`version = 2
root = ` + q(n.ContainerdRoot()) + `
state = ` + q(n.ContainerdState()) + `

[grpc]
  address = ` + q(n.ContainerdSocket()) + `

[ttrpc]
  address = ` + q(n.ContainerdSocket()+".ttrpc") + `

[debug]
  level = "info"

[plugins."io.containerd.internal.v1.opt"]
  path = ` + q(filepath.Join(n.Dir, "containerd", "opt")) + `

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ` + q(PauseImage) + `
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/opt/cni/bin"
    conf_dir = "/etc/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
    runtime_type = "io.containerd.runc.v2"
`)
}

// KubeletYAML is the node's kubelet configuration: what works on this
// machine (cgroupfs, no QoS cgroups, no allocatable enforcement, no swap
// or cgroup v1 refusal, no local storage isolation), the node's containerd,
// its ports on its primary address and loopback, client certificates of
// the cluster's CA, and max pods.
func (n Node) KubeletYAML(clientCA string) []byte {
	q := strconv.Quote
	return []byte(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: cgroupfs
cgroupsPerQOS: false
enforceNodeAllocatable: []
failSwapOn: false
failCgroupV1: false
localStorageCapacityIsolation: false
containerRuntimeEndpoint: ` + q("unix://"+n.ContainerdSocket()) + `
address: ` + q(n.PrimaryIP.String()) + `
healthzBindAddress: 127.0.0.1
readOnlyPort: 0
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: ` + q(clientCA) + `}
authorization: {mode: AlwaysAllow}
maxPods: ` + strconv.Itoa(n.MaxPods) + `
clusterDomain: cluster.local
resolvConf: /dev/null
serializeImagePulls: false
imageGCHighThresholdPercent: 100
evictionHard: {}
`)
}
