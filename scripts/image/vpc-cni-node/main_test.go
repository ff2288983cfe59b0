package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/vpc-cni/vpc-cni/cni/conflist"
)

// serveHealth starts a standard health server on a unix socket in a short
// temporary directory and returns the socket and the server.
func serveHealth(t *testing.T) (string, *health.Server) {
	t.Helper()
	dir, err := os.MkdirTemp("", "vcn")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "ipamd.sock")
	lis, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	hs := health.NewServer()
	s := grpc.NewServer()
	healthpb.RegisterHealthServer(s, hs)
	go s.Serve(lis)
	t.Cleanup(s.Stop)
	return sock, hs
}

func runArgs(environ []string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, environ, &out, &errb)
	return code, out.String(), errb.String()
}

func TestProbes(t *testing.T) {
	sock, hs := serveHealth(t)
	env := []string{"VPC_CNI_SOCKET=" + sock}
	confDir := t.TempDir()
	conf := filepath.Join(confDir, conflist.FileName)

	hs.SetServingStatus("", healthpb.HealthCheckResponse_NOT_SERVING)
	if code, _, e := runArgs(env, "alive"); code != exitOK {
		t.Fatalf("alive while NOT_SERVING: exit %d, %s", code, e)
	}
	code, _, e := runArgs(env, "ready", "--conflist-dir", confDir)
	if code != exitFailed || !strings.Contains(e, "NOT_SERVING") {
		t.Fatalf("ready while NOT_SERVING: exit %d, %q", code, e)
	}
	if _, err := os.Stat(conf); !os.IsNotExist(err) {
		t.Fatalf("conflist written before ipamd serves: %v", err)
	}

	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	for i := 0; i < 2; i++ { // the second run finds the file current
		if code, _, e := runArgs(env, "ready", "--conflist-dir", confDir); code != exitOK {
			t.Fatalf("ready while SERVING: exit %d, %s", code, e)
		}
	}
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), sock) || !strings.Contains(string(b), `"cniVersion": "1.0.0"`) {
		t.Errorf("conflist does not name the socket %s and declare 1.0.0:\n%s", sock, b)
	}
	// A runtime that speaks 1.1.0 (containerd 2): the list is rewritten.
	if code, _, e := runArgs(env, "ready", "--conflist-dir", confDir, "--cni-version", "1.1.0"); code != exitOK {
		t.Fatalf("ready --cni-version 1.1.0: exit %d, %s", code, e)
	}
	if b, _ := os.ReadFile(conf); !strings.Contains(string(b), `"cniVersion": "1.1.0"`) {
		t.Errorf("conflist after --cni-version 1.1.0:\n%s", b)
	}
	code, _, e = runArgs(env, "ready", "--conflist-dir", confDir, "--cni-version", "0.3.1")
	if code == exitOK || !strings.Contains(e, "cniVersion") {
		t.Errorf("ready --cni-version 0.3.1: exit %d, %q; want a failure naming cniVersion", code, e)
	}
}

func TestProbeNothingListening(t *testing.T) {
	env := []string{"VPC_CNI_SOCKET=" + filepath.Join(t.TempDir(), "none.sock")}
	for _, cmd := range []string{"alive", "ready"} {
		if code, _, e := runArgs(env, cmd); code != exitFailed || !strings.Contains(e, "is ipamd running") {
			t.Errorf("%s with no ipamd: exit %d, %q", cmd, code, e)
		}
	}
}

func TestInstallPlugin(t *testing.T) {
	src := filepath.Join(t.TempDir(), "vpc-cni")
	if err := os.WriteFile(src, []byte("new plugin"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vpc-cni"), []byte("old"), 0o755); err != nil {
		t.Fatal(err)
	}
	if code, _, e := runArgs(nil, "install-plugin", src, dir); code != exitOK {
		t.Fatalf("install-plugin: exit %d, %s", code, e)
	}
	fi, err := os.Stat(filepath.Join(dir, "vpc-cni"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "vpc-cni"))
	if string(b) != "new plugin" || fi.Mode().Perm() != 0o755 {
		t.Errorf("installed %q mode %v, want the new plugin, 0755", b, fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the plugin", len(entries))
	}
	if code, _, e := runArgs(nil, "install-plugin", src, filepath.Join(dir, "missing")); code != exitFailed || !strings.Contains(e, "not a directory") {
		t.Errorf("into a missing directory: exit %d, %q", code, e)
	}
}

// TestInstallIfMissing: the loopback plugin is installed where the node
// has none, and a node's own is kept; vpc-cni is always replaced.
func TestInstallIfMissing(t *testing.T) {
	srcDir := t.TempDir()
	for name, body := range map[string]string{"vpc-cni": "ours", "loopback": "our loopback"} {
		if err := os.WriteFile(filepath.Join(srcDir, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"install-plugin", "--if-missing", filepath.Join(srcDir, "loopback"), filepath.Join(srcDir, "vpc-cni")}
	bare, withOwn := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(withOwn, "loopback"), []byte("the node's"), 0o755); err != nil {
		t.Fatal(err)
	}
	for dir, wantLoopback := range map[string]string{bare: "our loopback", withOwn: "the node's"} {
		if code, _, e := runArgs(nil, append(args, dir)...); code != exitOK {
			t.Fatalf("install-plugin into %s: exit %d, %s", dir, code, e)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "loopback")); string(b) != wantLoopback {
			t.Errorf("loopback = %q, want %q", b, wantLoopback)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "vpc-cni")); string(b) != "ours" {
			t.Errorf("vpc-cni = %q, want ours", b)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"bogus"}, {"install-plugin", "x"}, {"install-plugin", "--if-missing", "/l", "x"}, {"alive", "--conflist-dir", "/x"}, {"ready", "extra"}} {
		if code, _, _ := runArgs(nil, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
}

func TestSysctl(t *testing.T) {
	root := t.TempDir()
	procSys = root
	t.Cleanup(func() { procSys = "/proc/sys" })
	if err := os.MkdirAll(filepath.Join(root, "net/ipv4/conf/eth0"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"net/ipv4/ip_forward", "net/ipv4/conf/eth0/rp_filter"} {
		if err := os.WriteFile(filepath.Join(root, f), []byte("0\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, e := runArgs(nil, "sysctl", "net.ipv4.ip_forward=1", "net.ipv4.conf.eth0.rp_filter=2", "net.ipv4.conf.ens5.rp_filter=2")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, e)
	}
	for f, want := range map[string]string{"net/ipv4/ip_forward": "1\n", "net/ipv4/conf/eth0/rp_filter": "2\n"} {
		if b, _ := os.ReadFile(filepath.Join(root, f)); string(b) != want {
			t.Errorf("%s = %q, want %q", f, b, want)
		}
	}
	if !strings.Contains(out, "ens5.rp_filter: not on this node, skipped") {
		t.Errorf("missing interface not reported as skipped: %q", out)
	}
	for _, bad := range []string{"net.ipv4.ip_forward", "=1", "a/b=1", "net..x=1"} {
		if code, _, _ := runArgs(nil, "sysctl", bad); code != exitUsage {
			t.Errorf("sysctl %q: exit %d, want %d", bad, code, exitUsage)
		}
	}
}
