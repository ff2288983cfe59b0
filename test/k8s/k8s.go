// Package k8s starts a real kube-apiserver backed by etcd for tests: etcd
// (Debian's etcd-server) and kube-apiserver (built by scripts/k8s-tools.sh
// from the Go module proxy into a cache outside the repository) run on
// loopback ports in the test's temp dir, with a fresh CA, an admin client
// certificate (system:masters) and RBAC on, and stop when the test ends,
// also when it fails.
//
// Nothing else of a cluster runs: no controller manager, scheduler or
// kubelet, so objects such as Nodes and Pods are only records the test
// writes and reads. The ServiceAccount admission plugin is off, so Pods can
// be created in any namespace without a service account object.
package k8s

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/vpc-cni/vpc-cni/internal/k8spki"
	"github.com/vpc-cni/vpc-cni/internal/toolcache"
)

// Version is the Kubernetes release the harness runs, the one
// scripts/k8s-tools.sh builds.
const Version = toolcache.K8sVersion

// startTimeout bounds how long Start waits for etcd and kube-apiserver to
// become ready: generous, the machine is shared.
const startTimeout = 3 * time.Minute

// Cluster is a running etcd and kube-apiserver.
type Cluster struct {
	dir        string // the temp dir: certs, kubeconfig, data, logs
	host       string // https://127.0.0.1:<port>
	kubeconfig string
	pki        *k8spki.PKI
	client     kubernetes.Interface
}

// Start runs etcd and kube-apiserver for t and waits until the API server
// is ready; both stop at the end of t. When the binaries are missing it
// skips t, or fails it when CI=true (.ci/run installs them).
func Start(t testing.TB) *Cluster {
	t.Helper()
	bins, err := findBinaries()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("k8s: %v (CI=true: run .ci/run, which installs etcd-server and runs scripts/k8s-tools.sh)", err)
		}
		t.Skipf("k8s: %v; skipping the real-apiserver test", err)
	}
	dir := t.TempDir()
	for attempt := 1; ; attempt++ {
		// Each attempt in its own dir: a failed one's processes stop
		// only at the end of t.
		sub := filepath.Join(dir, fmt.Sprint(attempt))
		c, err := start(t, bins, sub)
		if err == nil {
			return c
		}
		if !errors.Is(err, errPortTaken) || attempt == startAttempts {
			t.Fatalf("k8s: start: %v", err)
		}
		t.Logf("k8s: start: %v; again with other ports", err)
	}
}

// startAttempts bounds the retries when a chosen port is taken meanwhile.
const startAttempts = 3

func start(t testing.TB, bins binaries, dir string) (*Cluster, error) {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cluster dir: %w", err)
	}
	p, err := k8spki.Make(dir)
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, host: fmt.Sprintf("https://127.0.0.1:%d", ports[2]), pki: p}
	c.kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.kubeconfig, c.pki.Kubeconfig(c.host), 0o600); err != nil {
		return nil, fmt.Errorf("write kubeconfig: %w", err)
	}
	if c.client, err = kubernetes.NewForConfig(c.RestConfig()); err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	etcd, err := runProcess(t, dir, "etcd", bins.etcd, etcdArgs(dir, ports[0], ports[1]))
	if err != nil {
		return nil, err
	}
	etcdURL := fmt.Sprintf("http://127.0.0.1:%d", ports[0])
	if err := waitHTTP(ctx, etcd, etcdURL+"/health"); err != nil {
		return nil, err
	}
	api, err := runProcess(t, dir, "kube-apiserver", bins.apiserver, apiserverArgs(dir, p, etcdURL, ports[2]))
	if err != nil {
		return nil, err
	}
	if err := c.waitReady(ctx, api); err != nil {
		return nil, err
	}
	return c, nil
}

// Kubeconfig is the path of a kubeconfig for the admin user
// (system:masters), for kubectl and other clients.
func (c *Cluster) Kubeconfig() string { return c.kubeconfig }

// Host is the API server's URL, https://127.0.0.1:<port>.
func (c *Cluster) Host() string { return c.host }

// Dir is the cluster's temp dir: certs, kubeconfig, etcd data, and the
// logs etcd.log and kube-apiserver.log.
func (c *Cluster) Dir() string { return c.dir }

// RestConfig is a fresh copy of the admin client's configuration; callers
// may change it (impersonation, rate limits).
func (c *Cluster) RestConfig() *rest.Config {
	return &rest.Config{
		Host: c.host,
		TLSClientConfig: rest.TLSClientConfig{
			CAData:   c.pki.CAPEM,
			CertData: c.pki.AdminCertPEM,
			KeyData:  c.pki.AdminKeyPEM,
		},
		QPS:     100,
		Burst:   200,
		Timeout: 30 * time.Second,
	}
}

// Client is a clientset for the admin user.
func (c *Cluster) Client() kubernetes.Interface { return c.client }

// Kubectl runs kubectl with the admin kubeconfig and returns its combined
// output; an error when kubectl exits non-zero includes that output.
func (c *Cluster) Kubectl(ctx context.Context, args ...string) ([]byte, error) {
	kubectl := filepath.Join(BinDir(), "kubectl")
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"--kubeconfig", c.kubeconfig}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return out, fmt.Errorf("kubectl %v: %w: %s", args, err, out)
	}
	return out, nil
}

// binaries are the executables a cluster runs.
type binaries struct{ etcd, apiserver string }

// BinDir is where scripts/k8s-tools.sh puts kube-apiserver and kubectl:
// $K8S_TOOLS_DIR/bin, else ${XDG_CACHE_HOME:-$HOME/.cache}/vpc-cni/k8s-<Version>/bin.
func BinDir() string { return toolcache.K8sBinDir() }

// findBinaries finds etcd on PATH (or /usr/bin) and kube-apiserver in
// BinDir; the error says how to install what is missing.
func findBinaries() (binaries, error) {
	var b binaries
	var errs []error
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		etcd, err = exec.LookPath("/usr/bin/etcd")
	}
	if err != nil {
		errs = append(errs, errors.New("no etcd on PATH (apt-get install -y etcd-server)"))
	}
	b.etcd = etcd
	b.apiserver = filepath.Join(BinDir(), "kube-apiserver")
	if _, err := os.Stat(b.apiserver); err != nil {
		errs = append(errs, fmt.Errorf("no kube-apiserver %s at %s (build it with scripts/k8s-tools.sh, several minutes the first time)", Version, b.apiserver))
	}
	return b, errors.Join(errs...)
}
