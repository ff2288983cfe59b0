package k8s

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/internal/k8spki"
)

// stopGrace is how long a process has to exit after SIGTERM before it is
// killed.
const stopGrace = 15 * time.Second

// pollInterval spaces the readiness probes.
const pollInterval = 100 * time.Millisecond

// errPortTaken: a port freePorts chose was taken by someone else before
// the process bound it; Start tries again with other ports.
var errPortTaken = errors.New("port taken meanwhile")

// process is a child of the test: etcd or kube-apiserver.
type process struct {
	name string
	log  string        // its stdout and stderr
	done chan struct{} // closed when it has exited
	err  error         // its exit status, once done
}

// runProcess starts name with its output in dir/<name>.log and registers
// a cleanup that stops it (SIGTERM, then SIGKILL) and, when the test
// failed, logs the end of its log.
func runProcess(t testing.TB, dir, name, path string, args []string) (*process, error) {
	p := &process{name: name, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	logf, err := os.Create(p.log)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	defer logf.Close()
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = procAttr()
	// Pdeathsig fires when the thread that forked the child exits, not
	// the process: fork from a goroutine that keeps its thread to itself
	// until the child is gone.
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("k8s: the end of %s (before it was stopped):\n%s", p.log, p.tail(40))
		}
		p.stop(cmd.Process.Pid)
	})
	return p, nil
}

// stop ends the process group of pid and waits for the process to exit.
func (p *process) stop(pid int) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopGrace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-p.done
	}
}

// exited returns an error naming the process and the end of its log if it
// has exited, else nil.
func (p *process) exited() error {
	select {
	case <-p.done:
		err := fmt.Errorf("%s exited (%v); the end of %s:\n%s", p.name, p.err, p.log, p.tail(20))
		if strings.Contains(p.tail(20), "address already in use") {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return err
	default:
		return nil
	}
}

// tail is the last n lines of the process's log.
func (p *process) tail(n int) string {
	b, err := os.ReadFile(p.log)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// poll calls ready until it reports true, p exits, or ctx ends.
func poll(ctx context.Context, p *process, what string, ready func(context.Context) bool) error {
	for {
		if ready(ctx) {
			return nil
		}
		if err := p.exited(); err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w; the end of %s:\n%s", what, ctx.Err(), p.log, p.tail(20))
		case <-time.After(pollInterval):
		}
	}
}

// waitHTTP waits until url answers 200.
func waitHTTP(ctx context.Context, p *process, url string) error {
	return poll(ctx, p, "wait for "+url, func(ctx context.Context) bool {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return false
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
}

// waitReady waits until the API server's /readyz says ok to the admin.
func (c *Cluster) waitReady(ctx context.Context, p *process) error {
	return poll(ctx, p, "wait for kube-apiserver /readyz", func(ctx context.Context) bool {
		rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		body, err := c.client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(rctx)
		return err == nil && bytes.Equal(bytes.TrimSpace(body), []byte("ok"))
	})
}

// freePorts returns n loopback TCP ports free at the time of the call.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// etcdArgs runs a one-member etcd on loopback with its data in dir/etcd.
func etcdArgs(dir string, clientPort, peerPort int) []string {
	client := fmt.Sprintf("http://127.0.0.1:%d", clientPort)
	peer := fmt.Sprintf("http://127.0.0.1:%d", peerPort)
	return []string{
		"--name=default",
		"--data-dir=" + filepath.Join(dir, "etcd"),
		"--listen-client-urls=" + client,
		"--advertise-client-urls=" + client,
		"--listen-peer-urls=" + peer,
		"--initial-advertise-peer-urls=" + peer,
		"--initial-cluster=default=" + peer,
		"--initial-cluster-state=new",
		"--logger=zap",
		"--log-outputs=stderr",
	}
}

// apiserverArgs runs kube-apiserver on a loopback secure port with client
// certificate authentication, RBAC, and service-account tokens.
func apiserverArgs(dir string, p *k8spki.PKI, etcdURL string, port int) []string {
	return []string{
		"--etcd-servers=" + etcdURL,
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--cert-dir=" + filepath.Join(dir, "apiserver-certs"),
		"--tls-cert-file=" + p.ServeCert,
		"--tls-private-key-file=" + p.ServeKey,
		"--client-ca-file=" + p.CACert,
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + p.SAVerifyPE,
		"--service-account-signing-key-file=" + p.SASignKey,
		"--service-cluster-ip-range=198.19.0.0/24",
		// No controller manager creates service accounts, and the
		// Endpoints of the kubernetes service may not be loopback.
		"--disable-admission-plugins=ServiceAccount",
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--profiling=false",
	}
}
