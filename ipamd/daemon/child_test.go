package daemon_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	cloudaws "github.com/vpc-cni/vpc-cni/cloud/aws"
	"github.com/vpc-cni/vpc-cni/ipamd/config"
	"github.com/vpc-cni/vpc-cni/ipamd/daemon"
	hostfake "github.com/vpc-cni/vpc-cni/ipamd/hostnet/fake"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// The test binary doubles as a child process: with childEnv set, TestMain
// runs a daemon (childDaemon) or idles (childIdle, the reference for
// memory) instead of the tests. A child announces itself on stdout with
// readyPrefix and its endpoints as JSON.
const (
	childEnv    = "IPAMD_TEST_CHILD"
	childDaemon = "daemon"
	childIdle   = "idle"
	readyPrefix = "IPAMD-TEST-READY "
)

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "":
		os.Exit(m.Run())
	case childDaemon:
		os.Exit(runChildDaemon())
	case childIdle:
		announce(daemon.Endpoints{})
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		<-ctx.Done()
		os.Exit(0)
	default:
		fmt.Fprintf(os.Stderr, "%s=%q: want %s or %s\n", childEnv, os.Getenv(childEnv), childDaemon, childIdle)
		os.Exit(2)
	}
}

func announce(ep daemon.Endpoints) {
	b, _ := json.Marshal(ep)
	fmt.Printf("%s%s\n", readyPrefix, b)
}

// runChildDaemon is ipamd as bin/ipamd runs it, but with the fake host and
// the fast tuning of the tests: the configuration from the environment,
// the EC2 and metadata endpoints from the SDK's standard variables.
func runChildDaemon() int {
	cfg, err := config.FromEnviron(os.Environ())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	reg := prometheus.NewRegistry()
	api, md, err := cloudaws.New(ctx, cloudaws.Options{
		QPS: 100000, Burst: 100000, BaseBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Registerer: reg,
	})
	if err != nil {
		log.Error("clients", "error", err.Error())
		return 1
	}
	err = daemon.Run(ctx, cfg, daemon.Deps{
		EC2: api, Metadata: md, Host: hostfake.New(), Registry: reg, Log: log, Tuning: fastTuning(),
		OnReady: announce,
	})
	if err != nil {
		log.Error("ipamd failed", "error", err.Error())
		return 1
	}
	return 0
}

// childEnviron is the environment of a child: the parent's, without any
// variable of ipamd's configuration, plus the SDK's endpoints and
// credentials for the emulator and env.
func childEnviron(c *cloudEnv, mode string, env map[string]string) []string {
	known := map[string]bool{}
	for _, v := range config.Variables() {
		known[v.Name] = true
	}
	var out []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if !known[name] && !strings.HasPrefix(name, config.Prefix) && !strings.HasPrefix(name, "AWS_") {
			out = append(out, kv)
		}
	}
	all := map[string]string{
		childEnv:                            mode,
		"AWS_ENDPOINT_URL_EC2":              c.srv.EC2URL(),
		"AWS_EC2_METADATA_SERVICE_ENDPOINT": c.srv.IMDSURL(),
		"AWS_REGION":                        c.srv.World().Region(),
		"AWS_ACCESS_KEY_ID":                 "AKIDSIM",
		"AWS_SECRET_ACCESS_KEY":             "secret",
	}
	maps.Copy(all, env)
	for k, v := range all {
		out = append(out, k+"="+v)
	}
	return out
}

// process is a child process of the test.
type process struct {
	cmd    *exec.Cmd
	ep     daemon.Endpoints
	mu     sync.Mutex
	stderr strings.Builder
	exited chan error
}

// startProcess starts the test binary as a child in mode and waits for it
// to announce itself.
func startProcess(t testing.TB, c *cloudEnv, mode string, env map[string]string) *process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = childEnviron(c, mode, env)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, exited: make(chan error, 1)}
	cmd.Stderr = writerFunc(func(b []byte) (int, error) {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.stderr.Write(b)
	})
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan daemon.Endpoints, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), readyPrefix); ok {
				var ep daemon.Endpoints
				if json.Unmarshal([]byte(rest), &ep) == nil {
					ready <- ep
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		p.exited <- cmd.Wait()
	}()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("child %d stderr:\n%s", cmd.Process.Pid, p.log())
		}
	})
	select {
	case p.ep = <-ready:
		return p
	case err := <-p.exited:
		p.exited <- err
		t.Fatalf("child exited before it was ready: %v\n%s", err, p.log())
	case <-time.After(waitFor):
		t.Fatalf("child not ready within %s\n%s", waitFor, p.log())
	}
	return nil
}

func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// kill SIGKILLs the child, if it still runs, and waits for it to be gone.
func (p *process) kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case err := <-p.exited:
		p.exited <- err
	case <-time.After(waitFor):
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

// startChild runs ipamd in a child process on the node's configuration
// (its state directory and socket) and returns it as a running daemon
// whose stop is SIGKILL.
func (n *node) startChild(env map[string]string) (*running, *process) {
	n.t.Helper()
	all := map[string]string{
		"VPC_CNI_SOCKET": n.cfg.SocketPath, "VPC_CNI_STATE_DIR": n.cfg.StateDir,
		"METRICS_BIND_ADDRESS": "127.0.0.1:0", "INTROSPECTION_BIND_ADDRESS": "127.0.0.1:0",
	}
	maps.Copy(all, env)
	p := startProcess(n.t, n.cloud, childDaemon, all)
	conn, err := grpc.NewClient("unix://"+p.ep.Socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		n.t.Fatal(err)
	}
	r := &running{t: n.t, n: n, ep: p.ep, conn: conn, client: ipamv1.NewIPAMClient(conn), done: make(chan error, 1)}
	r.cancel = func() { p.kill() }
	go func() {
		err := <-p.exited
		p.exited <- err
		r.done <- err
	}()
	n.t.Cleanup(func() { _ = r.stop() })
	return r, p
}
