package lab

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
)

// Node is one node of the lab: an instance of ec2sim, a network namespace
// P-node<i> holding its ENIs, and an ipamd.
type Node struct {
	Index      int        `json:"index"` // 1..N
	Name       string     `json:"name"`  // node<i>: ipamd's MY_NODE_NAME
	InstanceID string     `json:"instanceId"`
	PrimaryIP  netip.Addr `json:"primaryIp"` // 198.18.0.(10+i)
	NetNS      string     `json:"netns"`     // P-node<i>
	Dir        string     `json:"dir"`       // <state dir>/node<i>
	Socket     string     `json:"socket"`    // ipamd's socket
}

// NetNSPath is the node's namespace as a path (/var/run/netns/P-node<i>).
func (n Node) NetNSPath() string { return netnsPath(n.NetNS) }

// Pod is one pod: a network namespace P-n<i>-p<j> wired by vpc-cni, with
// an echo server on its address, port 7.
type Pod struct {
	Name        string     `json:"name"` // pod-<i>-<j>: K8S_POD_NAME
	Node        int        `json:"node"` // its node's Index
	Index       int        `json:"index"`
	NetNS       string     `json:"netns"` // P-n<i>-p<j>
	ContainerID string     `json:"containerId"`
	UID         string     `json:"uid"`
	IP          netip.Addr `json:"ip"`     // from the CNI result
	HostIf      string     `json:"hostIf"` // the host-side veth, from the CNI result
	// NSPath, when set, is the namespace's path: a pod of the real cluster
	// (K8S), whose namespace containerd made, is reached through its echo
	// server's process (/proc/<pid>/ns/net).
	NSPath string `json:"nsPath,omitempty"`
}

// NetNSPath is the pod's namespace as a path.
func (p Pod) NetNSPath() string {
	if p.NSPath != "" {
		return p.NSPath
	}
	return netnsPath(p.NetNS)
}

// Timings are what Up measured.
type Timings struct {
	// Up: from Up's start to the lab ready (every pod answering).
	Up time.Duration `json:"up"`
	// FirstPodReady: from Up's start to the first pod answering its echo.
	FirstPodReady time.Duration `json:"firstPodReady"`
}

// Lab is a running lab. Its methods are safe for concurrent use.
type Lab struct {
	cfg     Config
	nodes   []Node
	timings Timings

	mu      sync.Mutex
	pods    []*Pod
	nextPod map[int]int          // per node, the next pod index
	kube    kubernetes.Interface // the real cluster's client (K8S), made by Kube
}

// state is lab.json: what Up made, for Load and Down.
type state struct {
	Config  Config  `json:"config"`
	Nodes   []Node  `json:"nodes"`
	Pods    []*Pod  `json:"pods"`
	Timings Timings `json:"timings"`
}

// File names under the state directory.
const (
	worldFile = "world.json"
	labFile   = "lab.json"
	pidsDir   = "pids"
	logsDir   = "logs"
)

// ErrNoLab: Load found no lab.json for the prefix.
var ErrNoLab = errors.New("no lab is running")

// Config is the lab's configuration.
func (l *Lab) Config() Config { return l.cfg }

// Nodes are the lab's nodes, by index.
func (l *Lab) Nodes() []Node { return slices.Clone(l.nodes) }

// Pods are the lab's pods now, node by node, in the order they were added.
func (l *Lab) Pods() []*Pod {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.pods)
}

// Timings are what Up measured (zero for a lab from Load before Up
// recorded them).
func (l *Lab) Timings() Timings {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.timings
}

func (l *Lab) setTimings(f func(*Timings)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f(&l.timings)
}

// saveLocked is save under l.mu.
func (l *Lab) saveLocked() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.save()
}

// Node returns the node with the given index (1..N).
func (l *Lab) Node(index int) (Node, error) {
	if index < 1 || index > len(l.nodes) {
		return Node{}, fmt.Errorf("lab: no node %d (the lab has %d)", index, len(l.nodes))
	}
	return l.nodes[index-1], nil
}

// Load re-attaches to a running lab from its lab.json (for `lab report`).
// An empty stateDir is /run/<prefix>. No lab.json is ErrNoLab.
func Load(prefix, stateDir string) (*Lab, error) {
	if stateDir == "" {
		stateDir = DefaultStateDir(prefix)
	}
	b, err := os.ReadFile(filepath.Join(stateDir, labFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("lab %s: %w (no %s): run `sudo make lab` first", prefix, ErrNoLab, filepath.Join(stateDir, labFile))
	}
	if err != nil {
		return nil, fmt.Errorf("lab %s: %w", prefix, err)
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("lab %s: read %s: %w", prefix, labFile, err)
	}
	if st.Config.Prefix != prefix {
		return nil, fmt.Errorf("lab %s: %s is lab %q's", prefix, filepath.Join(stateDir, labFile), st.Config.Prefix)
	}
	l := &Lab{cfg: st.Config, nodes: st.Nodes, timings: st.Timings, pods: st.Pods, nextPod: map[int]int{}}
	for _, p := range l.pods {
		l.nextPod[p.Node] = max(l.nextPod[p.Node], p.Index+1)
	}
	return l, nil
}

// save writes lab.json atomically. The caller holds l.mu.
func (l *Lab) save() error {
	b, err := json.MarshalIndent(state{Config: l.cfg, Nodes: l.nodes, Pods: l.pods, Timings: l.timings}, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", labFile, err)
	}
	return writeFileAtomic(filepath.Join(l.cfg.StateDir, labFile), append(b, '\n'), 0o644)
}

func writeFileAtomic(path string, b []byte, mode fs.FileMode) error {
	tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
	if err := os.WriteFile(tmp, b, mode); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
