package server_test

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vpc-cni/vpc-cni/ipamd/server"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// TestSocketMode: the socket is 0600 and a missing directory is created
// 0700, whatever the umask (cleared here, so that a plain listen would
// make the socket 0777).
func TestSocketMode(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := filepath.Join(t.TempDir(), "run", "vpc-cni")
	path := filepath.Join(dir, "ipamd.sock")
	h := start(t, newFakeBackend(1), server.Options{SocketPath: path})

	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Type() != fs.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket mode = %v, want a socket with 0600", fi.Mode())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("directory mode = %v, want 0700", di.Mode().Perm())
	}
	// Nothing but the socket is left in the directory.
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Errorf("directory holds %v (%v), want only the socket", entries, err)
	}
	if _, err := h.client.Status(ctxT(t), &ipamv1.StatusRequest{}); err != nil {
		t.Errorf("Status over the socket: %v", err)
	}
	if h.srv.Path() != path {
		t.Errorf("Path() = %s, want %s", h.srv.Path(), path)
	}
}

// staleSocket leaves a socket file at path that nobody listens on, as a
// crashed ipamd does.
func staleSocket(t *testing.T, path string) {
	t.Helper()
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("stale socket not left behind: %v, %v", fi, err)
	}
}

func TestStaleSocketReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipamd.sock")
	staleSocket(t, path)
	h := start(t, newFakeBackend(1), server.Options{SocketPath: path})
	if _, err := h.client.AddNetwork(ctxT(t), addReq("c1", "eth0")); err != nil {
		t.Fatalf("AddNetwork over the replacing socket: %v", err)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket = %v, %v; want mode 0600", fi, err)
	}
}

func TestLiveSocketRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipamd.sock")
	first := start(t, newFakeBackend(1), server.Options{SocketPath: path})

	_, err := server.Listen(newFakeBackend(1), server.Options{SocketPath: path})
	if !errors.Is(err, server.ErrSocketInUse) || !strings.Contains(err.Error(), "another ipamd is serving on "+path) {
		t.Fatalf("second Listen: %v; want ErrSocketInUse naming the path", err)
	}
	// The first server still serves on its socket.
	if _, err := first.client.AddNetwork(ctxT(t), addReq("c1", "eth0")); err != nil {
		t.Errorf("first server after the refused second: %v", err)
	}
}

// TestListeningSocketRefused: a socket that is listened on counts as live
// even before its owner serves (the kernel accepts for it).
func TestListeningSocketRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipamd.sock")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if _, err := server.Listen(newFakeBackend(1), server.Options{SocketPath: path}); !errors.Is(err, server.ErrSocketInUse) {
		t.Fatalf("Listen: %v; want ErrSocketInUse", err)
	}
}

func TestNonSocketRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipamd.sock")
	if err := os.WriteFile(path, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := server.Listen(newFakeBackend(1), server.Options{SocketPath: path})
	if err == nil || !strings.Contains(err.Error(), "is not a socket") {
		t.Fatalf("Listen over a regular file: %v; want an error saying it is not a socket", err)
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "keep me" {
		t.Errorf("the file was changed: %q, %v", b, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("left behind: %v", entries)
	}
}

func TestBadSocketPath(t *testing.T) {
	for _, p := range []string{"", "ipamd.sock", "/" + strings.Repeat("d", 120) + "/ipamd.sock"} {
		if _, err := server.Listen(newFakeBackend(1), server.Options{SocketPath: p}); err == nil {
			t.Errorf("Listen(%q) succeeded", p)
		}
	}
}

func TestSocketRemovedOnShutdown(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipamd.sock")
	h := start(t, newFakeBackend(1), server.Options{SocketPath: path})
	if err := h.stop(); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("socket after shutdown: %v; want it removed", err)
	}
	// A new server takes the path at once.
	start(t, newFakeBackend(1), server.Options{SocketPath: path})
}

// TestCloseKeepsOthersFile: Close removes the socket only if the path
// still is ours.
func TestCloseKeepsOthersFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipamd.sock")
	srv, err := server.Listen(newFakeBackend(1), server.Options{SocketPath: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := os.Lstat(path); err != nil {
		t.Errorf("Close removed a file that was not its socket: %v", err)
	}
}

func TestCloseWithoutServe(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipamd.sock")
	srv, err := server.Listen(newFakeBackend(1), server.Options{SocketPath: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket after Close: %v; want it removed", err)
	}
	// Serve after Close returns at once.
	if err := srv.Serve(context.Background()); err != nil {
		t.Errorf("Serve after Close: %v", err)
	}
	if err := srv.Serve(context.Background()); err == nil {
		t.Errorf("second Serve: want an error")
	}
}
