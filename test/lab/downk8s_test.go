//go:build linux

package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
)

// fakeProc writes a process into a fake /proc: its stat (name, state,
// parent), command line and executable.
func fakeProc(t *testing.T, root string, pid, ppid int, exe string, args ...string) {
	t.Helper()
	dir := filepath.Join(root, strconv.Itoa(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmdline := ""
	for _, a := range args {
		cmdline += a + "\x00"
	}
	files := map[string]string{
		"stat":    fmt.Sprintf("%d (%s) S %d 0 0", pid, filepath.Base(exe), ppid),
		"cmdline": cmdline,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(exe, filepath.Join(dir, "exe")); err != nil {
		t.Fatal(err)
	}
}

// TestPidsNaming: a shim naming the state directory and its children
// (the containers) are the lab's; a user's tail -f of the lab's log is
// not, nor is a kubelet of another lab.
func TestPidsNaming(t *testing.T) {
	root := t.TempDir()
	old := procPath
	procPath = root
	t.Cleanup(func() { procPath = old })
	const dir = "/run/vpclab"
	fakeProc(t, root, 10, 1, "/usr/bin/containerd-shim-runc-v2", "/usr/bin/containerd-shim-runc-v2", "-namespace",
		"k8s.io", "-address", dir+"/node1/k8s/containerd/containerd.sock")
	fakeProc(t, root, 11, 10, "/pause", "/pause")
	fakeProc(t, root, 12, 11, "/bin/labecho", "/bin/labecho", "--name", "echo-1")
	fakeProc(t, root, 20, 1, "/usr/bin/tail", "tail", "-f", dir+"/logs/ipamd-node1.log")
	fakeProc(t, root, 30, 1, "/root/.cache/vpc-cni/k8s-v1.32.13/bin/kubelet", "kubelet", "--config", "/run/vpclab2/node1/k8s/kubelet.yaml")
	got := pidsNaming(dir)
	slices.Sort(got)
	if !slices.Equal(got, []int{10, 11, 12}) {
		t.Errorf("pidsNaming = %v, want the shim and its descendants [10 11 12]", got)
	}
}
