package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/internal/k8spki"
	"github.com/vpc-cni/vpc-cni/internal/toolcache"
	"github.com/vpc-cni/vpc-cni/ipamd/maxpods"
	"github.com/vpc-cni/vpc-cni/test/lab/kube"
	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
)

// Process names of the real cluster (K8S).
const (
	procEtcd       = "etcd"
	procAPIServer  = "kube-apiserver"
	procScheduler  = "kube-scheduler"
	procControllMg = "kube-controller-manager"
)

func procKubenode(i int) string { return "kubenode-" + nodeName(i) }

// Deadlines of the real cluster's waits: generous, the machine is shared.
const (
	apiServerWait = 90 * time.Second
	nodeReadyWait = 3 * time.Minute
	helmTimeout   = 3 * time.Minute
)

// k8sTools are the binaries the real cluster runs, found at Up.
type k8sTools struct {
	etcd, apiserver, scheduler, controllerManager, kubelet, kubectl, helm string
	containerd, ctr, runc                                                 string
}

// findK8sTools finds every binary of the real cluster; the error lists
// each missing one and how to get it.
func findK8sTools(binDir string) (k8sTools, error) {
	var t k8sTools
	var errs []error
	look := func(dst *string, name, hint string, paths ...string) {
		for _, p := range paths {
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
				*dst = p
				return
			}
		}
		if p, err := exec.LookPath(name); err == nil && len(paths) == 0 {
			*dst = p
			return
		}
		errs = append(errs, fmt.Errorf("no %s (%s)", name, hint))
	}
	k8s := func(name string) string { return filepath.Join(toolcache.K8sBinDir(), name) }
	const build = "make lab K8S=1 builds it with scripts/k8s-tools.sh"
	look(&t.apiserver, "kube-apiserver", build, k8s("kube-apiserver"))
	look(&t.scheduler, "kube-scheduler", build, k8s("kube-scheduler"))
	look(&t.controllerManager, "kube-controller-manager", build, k8s("kube-controller-manager"))
	look(&t.kubelet, "kubelet", build, k8s("kubelet"))
	look(&t.kubectl, "kubectl", build, k8s("kubectl"))
	look(&t.helm, "helm", "make lab K8S=1 builds it with test/chart/build-helm.sh", toolcache.Helm())
	look(&t.etcd, "etcd", "apt-get install etcd-server")
	look(&t.containerd, "containerd", "apt-get install containerd")
	look(&t.ctr, "ctr", "apt-get install containerd")
	look(&t.runc, "runc", "apt-get install runc")
	for _, f := range []string{filepath.Join(binDir, "vpc-cni-image.tar"),
		filepath.Join(kube.ImageBinDir(binDir), "labpause"), filepath.Join(kube.ImageBinDir(binDir), "labecho")} {
		if _, err := os.Stat(f); err != nil {
			errs = append(errs, fmt.Errorf("no %s (make lab K8S=1 builds it)", f))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return t, fmt.Errorf("the real cluster needs: %w", err)
	}
	return t, nil
}

// K8sToolsMissing says what a real cluster (K8S) lacks on this machine,
// with binDir the lab's binaries; nil when it can run.
func K8sToolsMissing(binDir string) error {
	_, err := findK8sTools(binDir)
	return err
}

// kubeCluster brings up the real cluster in place of the plain ipamds:
// the control plane, containerd and kubelet on every node, ipamd by the
// chart; it returns once every node is Ready (ipamd wrote the conflist).
// Each node's ipamd socket is then the one its mount namespace shows at
// /run/vpc-cni.
func (u *upRun) kubeCluster(ctx context.Context, l *Lab) error {
	client, err := u.controlPlane(ctx, u.tools)
	if err != nil {
		return err
	}
	for k := range l.nodes {
		l.nodes[k].Socket = kube.IpamdSocket(l.nodes[k].Dir)
	}
	if err := u.kubeNodes(l, u.tools); err != nil {
		return err
	}
	if err := u.waitNodesWithoutNetwork(ctx, l, client); err != nil {
		return err
	}
	if err := u.installChart(ctx, u.tools); err != nil {
		return err
	}
	return u.waitNodesReady(ctx, l, client)
}

// controlPlane starts etcd, kube-apiserver, kube-scheduler and
// kube-controller-manager in the fabric, kube-apiserver on
// kube.APIServerAddr, and waits until the API server is ready.
func (u *upRun) controlPlane(ctx context.Context, t k8sTools) (kubernetes.Interface, error) {
	p := u.cfg.Prefix
	dir := kube.ClusterDir(u.cfg.StateDir)
	if err := os.MkdirAll(filepath.Join(dir, "pki"), 0o700); err != nil {
		return nil, err
	}
	pki, err := k8spki.Make(filepath.Join(dir, "pki"), net.IP(kube.APIServerAddr.AsSlice()))
	if err != nil {
		return nil, err
	}
	kubeconfig := kube.AdminKubeconfig(u.cfg.StateDir)
	if err := writeFileAtomic(kubeconfig, pki.Kubeconfig(kube.APIServerURL()), 0o600); err != nil {
		return nil, err
	}
	if err := netenv.AddFabricAddr(p, kube.APIServerAddr); err != nil {
		return nil, err
	}
	fabric := netenv.FabricNS(p)
	for _, proc := range []process{
		{name: procEtcd, netns: fabric, argv: append([]string{t.etcd}, kube.EtcdArgs(dir)...)},
		{name: procAPIServer, netns: fabric, argv: append([]string{t.apiserver}, kube.APIServerArgs(dir, pki)...)},
		{name: procScheduler, netns: fabric, argv: append([]string{t.scheduler}, kube.SchedulerArgs(kubeconfig)...)},
		{name: procControllMg, netns: fabric, argv: append([]string{t.controllerManager}, kube.ControllerManagerArgs(kubeconfig, pki)...)},
	} {
		if _, err := u.cfg.start(proc); err != nil {
			return nil, err
		}
	}
	client, err := kube.Client(kubeconfig, netnsPath(fabric))
	if err != nil {
		return nil, err
	}
	err = waitFor(ctx, apiServerWait, "kube-apiserver to be ready", func() (bool, error) {
		for _, name := range []string{procEtcd, procAPIServer} {
			if _, ok := u.cfg.readPid(name); !ok {
				return false, u.cfg.exited(name)
			}
		}
		body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && string(body) == "ok", nil
	})
	if err != nil {
		return nil, err
	}
	u.step("control plane up in %s: kube-apiserver at %s", fabric, kube.APIServerURL())
	return client, nil
}

// kubeNodes starts every node's kubenode (containerd and kubelet in the
// node's namespace and a mount namespace of its own).
func (u *upRun) kubeNodes(l *Lab, t k8sTools) error {
	images, err := kube.LabImages(u.cfg.BinDir, kube.ClusterDir(u.cfg.StateDir))
	if err != nil {
		return err
	}
	imagesArg := ""
	for _, img := range images {
		if imagesArg != "" {
			imagesArg += ","
		}
		imagesArg += img.Ref + "=" + img.File
	}
	ic, err := u.cfg.ipamdConfig()
	if err != nil {
		return err
	}
	limits, _ := cloud.BuiltinInstanceType(u.cfg.InstanceType)
	mp, err := maxpods.Compute(limits, maxpods.Options{PrefixDelegation: ic.PrefixDelegation, MaxENI: ic.MaxENI})
	if err != nil {
		return fmt.Errorf("kubelet's max pods: %w", err)
	}
	for _, n := range l.nodes {
		_, err := u.cfg.start(process{
			name: procKubenode(n.Index), netns: n.NetNS, ownMounts: true,
			argv: []string{filepath.Join(u.cfg.BinDir, "lab"), "kubenode",
				"--name", n.Name, "--ip", n.PrimaryIP.String(), "--netns", n.NetNSPath(), "--dir", n.Dir,
				"--max-pods", strconv.Itoa(mp.MaxPods), "--kubeconfig", kube.AdminKubeconfig(u.cfg.StateDir),
				"--client-ca", filepath.Join(kube.ClusterDir(u.cfg.StateDir), "pki", "ca.crt"),
				"--images", imagesArg, "--log-dir", filepath.Join(u.cfg.StateDir, logsDir),
				"--containerd", t.containerd, "--ctr", t.ctr, "--kubelet", t.kubelet},
		})
		if err != nil {
			return err
		}
	}
	u.step("containerd and kubelet starting on %s (max pods %d)", plural(len(l.nodes), "node"), mp.MaxPods)
	return nil
}

// installChart installs charts/vpc-cni with helm into kube-system: ipamd
// on every node, with the lab's cloud endpoints and ipamd variables.
func (u *upRun) installChart(ctx context.Context, t k8sTools) error {
	env := map[string]string{
		"AWS_REGION": labRegion, "AWS_ENDPOINT_URL_EC2": ec2URL, "AWS_EC2_METADATA_SERVICE_ENDPOINT": imdsURL,
		"AWS_ACCESS_KEY_ID": "lab", "AWS_SECRET_ACCESS_KEY": "lab", "CLUSTER_NAME": u.cfg.Prefix,
	}
	maps.Copy(env, u.cfg.IpamdEnv)
	values, err := kube.ChartValues(env)
	if err != nil {
		return err
	}
	file := filepath.Join(kube.ClusterDir(u.cfg.StateDir), "values.json")
	if err := writeFileAtomic(file, values, 0o644); err != nil {
		return err
	}
	chart, err := chartDir()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, helmTimeout)
	defer cancel()
	out, err := u.cfg.inFabric(ctx, t.helm, "--kubeconfig", kube.AdminKubeconfig(u.cfg.StateDir),
		"install", "vpc-cni", chart, "--namespace", "kube-system", "--values", file)
	if err != nil {
		return fmt.Errorf("helm install: %w: %s", err, out)
	}
	u.step("helm install vpc-cni (charts/vpc-cni) into kube-system")
	return nil
}

// chartDir finds charts/vpc-cni in the working directory or one of its
// parents (a checkout: make lab runs at its root, the tests below it).
func chartDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		c := filepath.Join(dir, "charts", "vpc-cni")
		if _, err := os.Stat(filepath.Join(c, "Chart.yaml")); err == nil {
			return c, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("charts/vpc-cni not found: run the lab in the repository (make lab K8S=1)")
		}
		dir = parent
	}
}

// inFabric runs a command in the fabric namespace and returns its output.
func (c Config) inFabric(ctx context.Context, argv ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", netenv.FabricNS(c.Prefix)}, argv...)...)
	return cmd.CombinedOutput()
}

// waitNodesWithoutNetwork waits until kubelet registered every node, and
// checks that each is NotReady because the runtime has no network
// configuration yet: before ipamd runs, no pod may land on a node.
func (u *upRun) waitNodesWithoutNetwork(ctx context.Context, l *Lab, client kubernetes.Interface) error {
	for _, n := range l.nodes {
		var why string
		err := waitFor(ctx, nodeReadyWait, n.Name+" registered by its kubelet", func() (bool, error) {
			if _, ok := u.cfg.readPid(procKubenode(n.Index)); !ok {
				return false, u.cfg.exited(procKubenode(n.Index))
			}
			node, err := client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, c := range node.Status.Conditions {
				if c.Type != corev1.NodeReady {
					continue
				}
				if c.Status == corev1.ConditionTrue {
					return false, fmt.Errorf("%s is Ready before ipamd wrote a conflist: pods could land on it unaddressed", n.Name)
				}
				why = c.Message
				return strings.Contains(why, "network"), nil
			}
			return false, nil
		})
		if err != nil {
			return err
		}
		u.step("%s registered, NotReady until ipamd: %s", n.Name, why)
	}
	return nil
}

// waitNodesReady waits until every node is Ready: kubelet registered and
// the runtime's network configured, that is ipamd wrote the conflist.
func (u *upRun) waitNodesReady(ctx context.Context, l *Lab, client kubernetes.Interface) error {
	errs := make([]error, len(l.nodes))
	var wg sync.WaitGroup
	for k, n := range l.nodes {
		wg.Go(func() {
			errs[k] = waitFor(ctx, nodeReadyWait, n.Name+" Ready", func() (bool, error) {
				if _, ok := u.cfg.readPid(procKubenode(n.Index)); !ok {
					return false, u.cfg.exited(procKubenode(n.Index))
				}
				node, err := client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
				if err != nil {
					return false, nil
				}
				for _, c := range node.Status.Conditions {
					if c.Type == corev1.NodeReady {
						return c.Status == corev1.ConditionTrue, nil
					}
				}
				return false, nil
			})
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	u.step("%s Ready (ipamd wrote the conflist)", plural(len(l.nodes), "node"))
	return nil
}

// Kubectl runs kubectl as the admin of the real cluster of the lab with
// this prefix and state directory ("" = /run/<prefix>), in the fabric
// namespace (the only place the API server is reachable from), with the
// caller's stdio: `sudo bin/lab kubectl get pods -o wide`.
func Kubectl(ctx context.Context, prefix, stateDir string, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if stateDir == "" {
		stateDir = DefaultStateDir(prefix)
	}
	kubeconfig := kube.AdminKubeconfig(stateDir)
	if _, err := os.Stat(kubeconfig); err != nil {
		return fmt.Errorf("no real cluster in %s (bring one up with make lab K8S=1): %w", stateDir, err)
	}
	kubectl := filepath.Join(toolcache.K8sBinDir(), "kubectl")
	cmd := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", netenv.FabricNS(prefix), kubectl,
		"--kubeconfig", kubeconfig}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, stderr
	return cmd.Run()
}

// HelmUninstall removes the chart's release (ipamd from every node), as a
// user would with helm uninstall; the host's plugin, conflist and
// /run/vpc-cni stay, as documented in docs/chart.md.
func (l *Lab) HelmUninstall(ctx context.Context) error {
	if !l.cfg.K8S {
		return fmt.Errorf("lab %s runs no Kubernetes", l.cfg.Prefix)
	}
	ctx, cancel := context.WithTimeout(ctx, helmTimeout)
	defer cancel()
	out, err := l.cfg.inFabric(ctx, toolcache.Helm(), "--kubeconfig", kube.AdminKubeconfig(l.cfg.StateDir),
		"uninstall", "vpc-cni", "--namespace", "kube-system", "--wait")
	if err != nil {
		return fmt.Errorf("helm uninstall: %w: %s", err, out)
	}
	return nil
}

// KubeNodeDir is the directory of node i's real node (K8S): its
// run-vpc-cni/ holds ipamd's socket and checkpoint (ipam.json).
func (l *Lab) KubeNodeDir(i int) (string, error) {
	n, err := l.Node(i)
	if err != nil {
		return "", err
	}
	return kube.NodeDir(n.Dir), nil
}
