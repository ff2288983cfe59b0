package kube

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// NodeRun is what RunNode needs besides the node's layout.
type NodeRun struct {
	Containerd, Ctr, Kubelet string // binaries
	// Kubeconfig is kubelet's; ClientCA verifies clients of its API.
	Kubeconfig, ClientCA string
	Images               []Image
	// LogDir receives <node>-containerd.log and <node>-kubelet.log.
	LogDir string
	// Progress receives one line per step.
	Progress io.Writer
}

// Deadlines of RunNode's waits.
const (
	containerdWait = 60 * time.Second
	nodeStopGrace  = 10 * time.Second
)

// RunNode is `lab kubenode`: the node's containerd and kubelet, until ctx
// ends (then it stops both) or one of them exits (an error). It must run
// as root in the node's network namespace and in a mount namespace of its
// own whose mounts do not propagate back (unshare --mount --propagation
// slave): there it binds the node's directories over the fixed paths
// (Mounts; a missing target directory is created on the host, empty),
// writes the configurations, starts containerd, imports the images, then
// starts kubelet.
func RunNode(ctx context.Context, n Node, r NodeRun) error {
	say := func(format string, a ...any) {
		if r.Progress != nil {
			fmt.Fprintf(r.Progress, "kubenode %s: %s\n", n.Name, fmt.Sprintf(format, a...))
		}
	}
	if err := n.prepare(r); err != nil {
		return err
	}
	say("mounts and configuration in place")
	containerd, err := startLogged(filepath.Join(r.LogDir, n.Name+"-containerd.log"), r.Containerd,
		"--config", n.ContainerdConfig())
	if err != nil {
		return fmt.Errorf("start containerd: %w", err)
	}
	procs := []*proc{containerd}
	defer func() { stopAll(procs) }()
	if err := waitContainerd(ctx, n, r.Ctr, containerd); err != nil {
		return err
	}
	say("containerd up")
	for _, img := range r.Images {
		out, err := exec.CommandContext(ctx, r.Ctr, "--address", n.ContainerdSocket(), "-n", "k8s.io",
			"images", "import", img.File).CombinedOutput()
		if err != nil {
			return fmt.Errorf("import %s from %s: %w: %s", img.Ref, img.File, err, out)
		}
	}
	say("%d images imported", len(r.Images))
	kubelet, err := startLogged(filepath.Join(r.LogDir, n.Name+"-kubelet.log"), r.Kubelet,
		"--config", n.KubeletConfig(), "--kubeconfig", r.Kubeconfig, "--root-dir", n.KubeletRoot(),
		"--hostname-override", n.Name, "--node-ip", n.PrimaryIP.String())
	if err != nil {
		return fmt.Errorf("start kubelet: %w", err)
	}
	procs = append(procs, kubelet)
	say("kubelet started")
	select {
	case <-ctx.Done():
		return nil
	case <-containerd.done:
		return fmt.Errorf("containerd exited (see its log in %s)", r.LogDir)
	case <-kubelet.done:
		return fmt.Errorf("kubelet exited (see its log in %s)", r.LogDir)
	}
}

// prepare binds the node's directories and writes containerd's and
// kubelet's configurations.
func (n Node) prepare(r NodeRun) error {
	for _, d := range []string{n.ContainerdRoot(), n.ContainerdState(), n.KubeletRoot()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	var created []string // on the host, for the teardown to remove
	for _, m := range n.Mounts() {
		if err := os.MkdirAll(m.Source, 0o755); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		made, err := mkdirAllRecord(m.Target)
		created = append(created, made...)
		if err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
		if err := unix.Mount(m.Source, m.Target, "", unix.MS_BIND, ""); err != nil {
			return fmt.Errorf("node %s: bind %s over %s: %w", n.Name, m.Source, m.Target, err)
		}
	}
	if len(created) > 0 {
		if err := os.WriteFile(n.CreatedDirsFile(), []byte(strings.Join(created, "\n")+"\n"), 0o644); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	files := map[string][]byte{
		n.ContainerdConfig(): n.ContainerdTOML(),
		n.KubeletConfig():    n.KubeletYAML(r.ClientCA),
	}
	for path, b := range files {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return fmt.Errorf("node %s: %w", n.Name, err)
		}
	}
	return nil
}

// proc is a started child; done closes once it has exited.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// mkdirAllRecord is os.MkdirAll that returns the directories it created,
// deepest first.
func mkdirAllRecord(dir string) ([]string, error) {
	var missing []string
	for d := filepath.Clean(dir); ; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err == nil || d == "/" {
			break
		}
		missing = append(missing, d)
	}
	return missing, os.MkdirAll(dir, 0o755)
}

// RemoveCreatedDirs removes the host directories the nodes under stateDir
// created as mount targets (CreatedDirsFile), each only if empty; the
// nodes' processes must be gone.
func RemoveCreatedDirs(stateDir string) {
	files, _ := filepath.Glob(filepath.Join(stateDir, "node*", "k8s", createdDirsName))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, d := range strings.Fields(string(b)) {
			if filepath.IsAbs(d) {
				_ = os.Remove(d) // deepest first; never a directory with anything in it
			}
		}
	}
}

// startLogged starts bin with args, its output appended to logPath, killed
// should this process die.
func startLogged(logPath, bin string, args ...string) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// waitContainerd waits until containerd answers on its socket.
func waitContainerd(ctx context.Context, n Node, ctr string, containerd *proc) error {
	deadline := time.Now().Add(containerdWait)
	for {
		err := exec.CommandContext(ctx, ctr, "--address", n.ContainerdSocket(), "version").Run()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		select {
		case <-containerd.done:
			return errors.New("containerd exited at startup (see its log)")
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("containerd not answering on %s within %s: %w", n.ContainerdSocket(), containerdWait, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// stopAll stops the processes, last started first: SIGTERM, then SIGKILL
// after nodeStopGrace.
func stopAll(procs []*proc) {
	for i := len(procs) - 1; i >= 0; i-- {
		p := procs[i]
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(nodeStopGrace):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}
