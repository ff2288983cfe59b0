package lab

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
)

// procPath is /proc; a variable so tests can point it elsewhere.
var procPath = "/proc"

// stopGrace is how long a process has to exit after SIGTERM before it is
// killed.
const stopGrace = 3 * time.Second

// basePath is the PATH the lab's processes run with.
const basePath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// ourBinaries are the executables a pid file may name: a pid file whose
// process runs anything else is stale (the pid was reused).
var ourBinaries = []string{"ec2sim", "ipamd", "lab", "labecho", "ip", "env", "nsenter", "unshare",
	"etcd", "kube-apiserver", "kube-scheduler", "kube-controller-manager"}

// process is one detached process of the lab.
type process struct {
	name  string   // pids/<name>.pid, logs/<name>.log
	netns string   // the namespace it runs in
	env   []string // its whole environment besides PATH
	argv  []string // argv[0] is an absolute path
	// ownMounts runs it in a mount namespace of its own, whose mounts do
	// not propagate back to the host, with the host's /sys (`ip netns
	// exec` mounts a /sys without the cgroup hierarchies kubelet needs).
	ownMounts bool
}

// start runs p detached (its own session, stdin /dev/null, stdout and
// stderr appended to its log) in its namespace through `ip netns exec`,
// and records its pid. The process outlives the caller; the caller's
// process reaps it if it exits first.
func (c Config) start(p process) (int, error) {
	logf, err := os.OpenFile(c.logFile(p.name), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return 0, fmt.Errorf("start %s: %w", p.name, err)
	}
	defer logf.Close()
	name, args := "ip", append([]string{"netns", "exec", p.netns, "env", "-i", basePath}, p.env...)
	if p.ownMounts {
		name, args = "nsenter", append([]string{"--net=" + netnsPath(p.netns), "unshare", "--mount",
			"--propagation", "slave", "env", "-i", basePath}, p.env...)
	}
	cmd := exec.Command(name, append(args, p.argv...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", p.name, err)
	}
	go func() { _ = cmd.Wait() }() // reap it, should it exit while we run
	pid := cmd.Process.Pid
	if err := writeFileAtomic(c.pidFile(p.name), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return 0, fmt.Errorf("start %s: %w", p.name, err)
	}
	return pid, nil
}

// alive says whether pid runs (a zombie does not).
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join(procPath, strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// The state follows the command name in parentheses.
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || (b[i+2] != 'Z' && b[i+2] != 'X')
}

// stop stops pid: SIGTERM, then SIGKILL after the grace period (kill:
// SIGKILL at once); it returns once the process is gone or ctx ends.
func stop(ctx context.Context, pid int, kill bool) error {
	if !kill {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		if waitGone(ctx, pid, stopGrace) {
			return nil
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	if !waitGone(ctx, pid, 10*time.Second) {
		return fmt.Errorf("process %d did not exit after SIGKILL", pid)
	}
	return nil
}

// waitGone polls until pid is gone, for at most d.
func waitGone(ctx context.Context, pid int, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for alive(pid) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// readPid reads pids/<name>.pid; ok is false when there is none or its
// process is gone or is not one of ours.
func (c Config) readPid(name string) (int, bool) {
	return pidFromFile(c.pidFile(name))
}

func pidFromFile(path string) (int, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 || !alive(pid) {
		return 0, false
	}
	exe, err := os.Readlink(filepath.Join(procPath, strconv.Itoa(pid), "exe"))
	if err != nil || !slices.Contains(ourBinaries, filepath.Base(strings.TrimSuffix(exe, " (deleted)"))) {
		return 0, false
	}
	return pid, true
}

// pidFilePids are the live processes the state directory's pid files name.
func pidFilePids(stateDir string) []int {
	files, _ := filepath.Glob(filepath.Join(stateDir, pidsDir, "*.pid"))
	var pids []int
	for _, f := range files {
		if pid, ok := pidFromFile(f); ok {
			pids = append(pids, pid)
		}
	}
	return pids
}

// nsID identifies a network namespace: the nsfs device and inode.
type nsID struct{ dev, ino uint64 }

func statNS(path string) (nsID, bool) {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return nsID{}, false
	}
	return nsID{uint64(st.Dev), st.Ino}, true
}

// labNetNS are the lab's namespaces: the names under /var/run/netns that
// start with "<prefix>-" (netenv.List).
func labNetNS(prefix string) []string {
	names, _ := netenv.List(prefix)
	return names
}

// pidsInNetNS are the processes whose network namespace is one of names.
func pidsInNetNS(names []string) []int {
	ids := map[nsID]bool{}
	for _, n := range names {
		if id, ok := statNS(netnsPath(n)); ok {
			ids[id] = true
		}
	}
	if len(ids) == 0 {
		return nil
	}
	entries, err := os.ReadDir(procPath)
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if id, ok := statNS(filepath.Join(procPath, e.Name(), "ns", "net")); ok && ids[id] && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// logTail is the end of a process's log, for an error saying why it died.
func (c Config) logTail(name string, lines int) string {
	f, err := os.Open(c.logFile(name))
	if errors.Is(err, fs.ErrNotExist) || err != nil {
		return ""
	}
	defer f.Close()
	var all []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		all = append(all, sc.Text())
		if len(all) > lines {
			all = all[1:]
		}
	}
	return strings.Join(all, "\n")
}
