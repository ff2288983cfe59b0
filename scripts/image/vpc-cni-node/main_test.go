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
	if !strings.Contains(string(b), sock) {
		t.Errorf("conflist does not name the socket %s:\n%s", sock, b)
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

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"bogus"}, {"install-plugin", "x"}, {"alive", "--conflist-dir", "/x"}, {"ready", "extra"}} {
		if code, _, _ := runArgs(nil, args...); code != exitUsage {
			t.Errorf("%q: exit %d, want %d", args, code, exitUsage)
		}
	}
}
