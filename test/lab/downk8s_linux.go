package lab

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// The real cluster (K8S) leaves processes that are in none of the lab's
// namespaces and named in no pid file: containerd's shims (re-parented to
// init) and the containers under them (pods in namespaces containerd made).
// A process of the lab's programs whose command line names the state
// directory is the lab's (kubenode, containerd, kubelet, and the shims,
// whose -address is the node's containerd socket under it), and so is
// every descendant of one. Other programs naming it (a user's tail -f of a
// log) are left alone.

// clusterPrograms are the executables whose processes naming the state
// directory are the lab's: by name, or by prefix when the name ends in *.
var clusterPrograms = []string{"lab", "containerd*", "kubelet", "ctr", "ec2sim", "etcd", "kube-*"}

// isClusterProgram says whether the executable's base name is one of
// clusterPrograms.
func isClusterProgram(exe string) bool {
	base := filepath.Base(strings.TrimSuffix(exe, " (deleted)"))
	for _, p := range clusterPrograms {
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(base, prefix) || base == p {
			return true
		}
	}
	return false
}

// pidsNaming are the processes of clusterPrograms whose command line names
// dir (as a path prefix), with all their descendants.
func pidsNaming(dir string) []int {
	entries, err := os.ReadDir(procPath)
	if err != nil {
		return nil
	}
	self := os.Getpid()
	want := []byte(filepath.Clean(dir) + "/")
	children := map[int][]int{}
	var roots []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if ppid, ok := parentOf(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
		b, err := os.ReadFile(filepath.Join(procPath, e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(b, want) || !alive(pid) {
			continue
		}
		if exe, err := os.Readlink(filepath.Join(procPath, e.Name(), "exe")); err == nil && isClusterProgram(exe) {
			roots = append(roots, pid)
		}
	}
	seen := map[int]bool{}
	var out []int
	var walk func(int)
	walk = func(pid int) {
		if seen[pid] {
			return
		}
		seen[pid] = true
		out = append(out, pid)
		for _, c := range children[pid] {
			walk(c)
		}
	}
	for _, r := range roots {
		walk(r)
	}
	return out
}

// parentOf is the parent of pid, from /proc/<pid>/stat.
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile(filepath.Join(procPath, strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

// cgroupRoot is where the cgroup hierarchies are mounted; a variable so
// tests can point it elsewhere.
var cgroupRoot = "/sys/fs/cgroup"

// removeContainerCgroups removes the cgroups runc made for the lab's
// containers (cgroupfs: <hierarchy>/k8s.io/<container id>), the ids being
// the task directories of every node's containerd under stateDir; then
// k8s.io itself where empty (runc leaves it after the last container).
// Nothing for a plain lab. The processes must be gone.
func removeContainerCgroups(stateDir string) {
	if real, _ := filepath.Glob(filepath.Join(stateDir, "node*", "k8s")); len(real) == 0 {
		return // not a real cluster's lab
	}
	tasks, _ := filepath.Glob(filepath.Join(stateDir, "node*", "k8s", "containerd", "state",
		"io.containerd.runtime.v2.task", "k8s.io", "*"))
	hierarchies, _ := filepath.Glob(filepath.Join(cgroupRoot, "*", "k8s.io"))
	for _, h := range hierarchies {
		for _, t := range tasks {
			_ = os.Remove(filepath.Join(h, filepath.Base(t)))
		}
		_ = os.Remove(h) // only when empty: another runtime's stay
	}
}
