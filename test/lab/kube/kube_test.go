package kube

import (
	"encoding/json"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/vpc-cni/vpc-cni/internal/k8spki"
)

func testNode(t *testing.T) Node {
	return NewNode("node1", netip.MustParseAddr("198.18.0.11"), "/var/run/netns/vpclab-node1", t.TempDir(), 29)
}

// TestMounts: the fixed paths the chart, containerd and kubelet use are
// each bound from the node's own directory.
func TestMounts(t *testing.T) {
	n := testNode(t)
	var targets []string
	for _, m := range n.Mounts() {
		if !strings.HasPrefix(m.Source, n.Dir+"/") {
			t.Errorf("mount %s from %s: not under the node's directory %s", m.Target, m.Source, n.Dir)
		}
		targets = append(targets, m.Target)
	}
	for _, want := range []string{"/opt/cni/bin", "/etc/cni/net.d", "/run/vpc-cni", "/run/netns", "/var/log/pods"} {
		if !slices.Contains(targets, want) {
			t.Errorf("no mount over %s (have %v)", want, targets)
		}
	}
}

// TestKubeletYAML: the configuration is YAML kubelet reads, with what this
// machine needs and the node's own runtime socket, address and max pods.
func TestKubeletYAML(t *testing.T) {
	n := testNode(t)
	var c map[string]any
	if err := yaml.Unmarshal(n.KubeletYAML("/ca.crt"), &c); err != nil {
		t.Fatalf("kubelet.yaml: %v", err)
	}
	for k, want := range map[string]any{
		"kind": "KubeletConfiguration", "cgroupDriver": "cgroupfs", "cgroupsPerQOS": false, "failSwapOn": false,
		"failCgroupV1": false, "containerRuntimeEndpoint": "unix://" + n.ContainerdSocket(), "address": "198.18.0.11",
		"maxPods": float64(29),
	} {
		if c[k] != want {
			t.Errorf("%s = %v, want %v", k, c[k], want)
		}
	}
	toml := string(n.ContainerdTOML())
	for _, want := range []string{`address = "` + n.ContainerdSocket() + `"`, `sandbox_image = "vpclab/pause:1"`,
		"restrict_oom_score_adj = true", `root = "` + n.ContainerdRoot() + `"`} {
		if !strings.Contains(toml, want) {
			t.Errorf("containerd.toml lacks %s:\n%s", want, toml)
		}
	}
}

// TestChartValues: the local image is never pulled; ipamd's environment
// has the lab's variables and the API server in place of the kubernetes
// service.
func TestChartValues(t *testing.T) {
	b, err := ChartValues(map[string]string{"WARM_IP_TARGET": "3", "AWS_REGION": "us-west-2"})
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Image struct{ PullPolicy string } `json:"image"`
		Env   map[string]string           `json:"env"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if v.Image.PullPolicy != "Never" || v.Env["WARM_IP_TARGET"] != "3" || v.Env["AWS_REGION"] != "us-west-2" ||
		v.Env["KUBERNETES_SERVICE_HOST"] != APIServerAddr.String() || v.Env["KUBERNETES_SERVICE_PORT"] != "6443" {
		t.Errorf("values: %s", b)
	}
}

// TestEchoDeployment: replicas spread over the nodes, the local echo
// image, a readiness probe on the echo port, no service-account token.
func TestEchoDeployment(t *testing.T) {
	d := EchoDeployment("default", "echo", 6)
	s := d.Spec.Template.Spec
	if *d.Spec.Replicas != 6 || len(s.TopologySpreadConstraints) != 1 || s.TopologySpreadConstraints[0].MaxSkew != 1 ||
		*s.AutomountServiceAccountToken || s.Containers[0].Image != EchoImage ||
		s.Containers[0].ReadinessProbe.TCPSocket.Port.IntValue() != EchoPort {
		t.Errorf("deployment %+v", d.Spec)
	}
	if d.Spec.Selector.MatchLabels["app"] != "echo" || d.Spec.Template.Labels["app"] != "echo" {
		t.Errorf("labels: selector %v, pods %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}
}

// TestControlPlaneArgs: kube-apiserver serves on the fabric address with
// the PKI's files and reaches kubelets by address.
func TestControlPlaneArgs(t *testing.T) {
	p, err := k8spki.Make(t.TempDir(), APIServerAddr.AsSlice())
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Join(APIServerArgs(t.TempDir(), p), " ")
	for _, want := range []string{"--bind-address=198.18.255.254", "--secure-port=6443", "--tls-cert-file=" + p.ServeCert,
		"--kubelet-preferred-address-types=InternalIP", "--authorization-mode=Node,RBAC", "--etcd-servers=" + EtcdURL()} {
		if !strings.Contains(args, want) {
			t.Errorf("kube-apiserver %s lacks %s", args, want)
		}
	}
	if cm := strings.Join(ControllerManagerArgs("/k", p), " "); !strings.Contains(cm, "--root-ca-file="+p.CACert) {
		t.Errorf("kube-controller-manager %s: no root CA (pods' kube-root-ca.crt)", cm)
	}
}

// TestLabImages: the pause and echo images are written from the static
// binaries; a missing binary is an error saying what builds it.
func TestLabImages(t *testing.T) {
	bin := t.TempDir()
	if _, err := LabImages(bin, t.TempDir()); err == nil || !strings.Contains(err.Error(), "make lab K8S=1") {
		t.Errorf("no binaries: %v, want an error naming make lab K8S=1", err)
	}
	if err := os.MkdirAll(ImageBinDir(bin), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"labpause", "labecho"} {
		if err := os.WriteFile(filepath.Join(ImageBinDir(bin), b), []byte("\x7fELF"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	imgs, err := LabImages(bin, out)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]string{}
	for _, img := range imgs {
		refs[img.Ref] = img.File
	}
	for _, ref := range []string{PauseImage, EchoImage} {
		if _, err := os.Stat(refs[ref]); err != nil {
			t.Errorf("image %s: %v", ref, err)
		}
	}
	if refs["vpc-cni/vpc-cni:0.7.0"] != filepath.Join(bin, "vpc-cni-image.tar") {
		t.Errorf("the vpc-cni image is not make image's archive: %v", refs)
	}
}
