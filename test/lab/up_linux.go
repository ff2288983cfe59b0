package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/cni/conflist"
	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
)

// Binaries Up needs in Config.BinDir.
var binaries = []string{"ec2sim", "ipamd", "vpc-cni", "lab", "labecho"}

// Deadlines of Up's waits: generous, the machine may be busy.
const (
	ec2simWait = 30 * time.Second
	eth0Wait   = 30 * time.Second
	ipamdWait  = 90 * time.Second
)

// ErrNotRoot: the lab needs root (namespaces, links, mounts).
var ErrNotRoot = errors.New("the lab needs root: run it with sudo")

// upRun is one Up in progress.
type upRun struct {
	cfg      Config
	start    time.Time
	progress io.Writer
	mu       sync.Mutex // progress
	tools    k8sTools   // K8S: the real cluster's binaries
}

func (u *upRun) step(format string, a ...any) {
	u.mu.Lock()
	defer u.mu.Unlock()
	fmt.Fprintf(u.progress, "lab %s: %6.2fs  %s\n", u.cfg.Prefix, time.Since(u.start).Seconds(), fmt.Sprintf(format, a...))
}

// Up brings up the lab cfg describes, writing one progress line per step
// to progress (may be nil). It runs Down of the same prefix first, so a
// second Up replaces the first. Binaries come from cfg.BinDir (ec2sim,
// ipamd, vpc-cni, lab, labecho); a missing one is an error saying to run
// make build. On an error, what Up made is left in place for Down (the
// caller runs Down, as after a crash), and the Lab returned with the error,
// when not nil, has the nodes that came up. The lab's processes outlive
// the caller; Down stops them.
func Up(ctx context.Context, cfg Config, progress io.Writer) (*Lab, error) {
	u := &upRun{cfg: cfg, start: time.Now(), progress: progress}
	if u.progress == nil {
		u.progress = io.Discard
	}
	if err := u.prepare(ctx); err != nil {
		return nil, err
	}
	l, err := u.infrastructure(ctx)
	if err != nil {
		return nil, err
	}
	podsUp := u.pods
	if u.cfg.K8S {
		podsUp = u.kubePods
	}
	if err := podsUp(ctx, l); err != nil {
		return l, err
	}
	l.setTimings(func(t *Timings) { t.Up = time.Since(u.start) })
	if err := l.saveLocked(); err != nil {
		return l, fmt.Errorf("lab up: %w", err)
	}
	u.step("lab up: %s, %s", plural(len(l.nodes), "node"), plural(len(l.Pods()), "pod"))
	return l, nil
}

// prepare checks the configuration and the binaries, removes any lab of
// the same prefix and makes the state directory.
func (u *upRun) prepare(ctx context.Context) error {
	if err := u.cfg.Validate(); err != nil {
		return fmt.Errorf("lab up: %w", err)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("lab up: %w", ErrNotRoot)
	}
	bin, err := filepath.Abs(u.cfg.BinDir)
	if err != nil {
		return fmt.Errorf("lab up: %w", err)
	}
	u.cfg.BinDir = bin
	for _, b := range binaries {
		if fi, err := os.Stat(filepath.Join(bin, b)); err != nil || fi.IsDir() {
			return fmt.Errorf("lab up: %s is missing: run `make build` first", filepath.Join(bin, b))
		}
	}
	if u.cfg.K8S {
		if u.tools, err = findK8sTools(bin); err != nil {
			return fmt.Errorf("lab up: %w", err)
		}
	}
	if err := Down(ctx, u.cfg.Prefix, u.cfg.StateDir); err != nil {
		return fmt.Errorf("lab up: remove the previous lab: %w", err)
	}
	for _, d := range []string{pidsDir, logsDir} {
		if err := os.MkdirAll(filepath.Join(u.cfg.StateDir, d), 0o755); err != nil {
			return fmt.Errorf("lab up: %w", err)
		}
	}
	w, err := worldJSON(u.cfg)
	if err != nil {
		return fmt.Errorf("lab up: %w", err)
	}
	if err := writeFileAtomic(filepath.Join(u.cfg.StateDir, worldFile), w, 0o644); err != nil {
		return fmt.Errorf("lab up: %w", err)
	}
	u.step("state in %s, binaries from %s", u.cfg.StateDir, bin)
	return nil
}

// infrastructure brings up everything but the pods: the fabric and
// ec2sim, the nodes and their ENIs, the echo servers, ipamd and the
// conflists.
func (u *upRun) infrastructure(ctx context.Context) (*Lab, error) {
	if err := u.fabric(ctx); err != nil {
		return nil, fmt.Errorf("lab up: %w", err)
	}
	nodes, err := u.nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("lab up: %w", err)
	}
	l := &Lab{cfg: u.cfg, nodes: nodes, nextPod: map[int]int{}}
	if err := u.echoes(nodes); err != nil {
		return l, fmt.Errorf("lab up: %w", err)
	}
	ipamds := u.ipamds
	if u.cfg.K8S {
		ipamds = u.kubeCluster
	}
	if err := ipamds(ctx, l); err != nil {
		return l, fmt.Errorf("lab up: %w", err)
	}
	if err := l.saveLocked(); err != nil {
		return l, fmt.Errorf("lab up: %w", err)
	}
	return l, nil
}

// fabric creates the fabric and the internet host and starts ec2sim in
// the fabric.
func (u *upRun) fabric(ctx context.Context) error {
	p := u.cfg.Prefix
	if err := netenv.CreateFabric(p); err != nil {
		return err
	}
	_, err := u.cfg.start(process{name: procEC2Sim, netns: netenv.FabricNS(p), argv: []string{
		filepath.Join(u.cfg.BinDir, "ec2sim"), "--config", filepath.Join(u.cfg.StateDir, worldFile),
		"--listen", ec2Listen, "--imds-listen", imdsListen,
	}})
	if err != nil {
		return err
	}
	fabric := netnsPath(netenv.FabricNS(p))
	err = waitFor(ctx, ec2simWait, "ec2sim to answer on "+healthURL, func() (bool, error) {
		if _, ok := u.cfg.readPid(procEC2Sim); !ok {
			return false, u.cfg.exited(procEC2Sim)
		}
		return getJSON(ctx, fabric, healthURL, nil) == nil, nil
	})
	if err != nil {
		return err
	}
	u.step("fabric %s and internet host %s up; ec2sim serving", netenv.FabricNS(p), netenv.InetNS(p))
	return nil
}

// errExited: a process of the lab exited while Up waited for it.
var errExited = errors.New("exited")

// exited is the error of a process that exited: its name and the end of
// its log.
func (c Config) exited(name string) error {
	return fmt.Errorf("%s %w; the end of %s:\n%s", name, errExited, c.logFile(name), c.logTail(name, 10))
}

// nodes creates the node namespaces for ec2sim's instances, starts
// fabricd and waits until each node's eth0 has its primary address.
func (u *upRun) nodes(ctx context.Context) ([]Node, error) {
	var st sim.State
	if err := getJSON(ctx, netnsPath(netenv.FabricNS(u.cfg.Prefix)), stateURL, &st); err != nil {
		return nil, fmt.Errorf("read ec2sim's instances: %w", err)
	}
	nodes, specs, err := u.cfg.nodesOf(st)
	if err != nil {
		return nil, err
	}
	for _, s := range specs {
		if err := netenv.CreateNode(u.cfg.Prefix, s); err != nil {
			return nil, err
		}
	}
	if err := u.startFabricd(specs); err != nil {
		return nil, err
	}
	for k, n := range nodes {
		err := waitFor(ctx, eth0Wait, fmt.Sprintf("%s's eth0 with %s", n.Name, n.PrimaryIP), func() (bool, error) {
			if _, ok := u.cfg.readPid(procFabricd); !ok {
				return false, u.cfg.exited(procFabricd)
			}
			return netenv.NodeReady(u.cfg.Prefix, specs[k])
		})
		if err != nil {
			return nil, err
		}
	}
	u.step("%s with their primary ENI (fabricd following ec2sim)", plural(len(nodes), "node"))
	return nodes, nil
}

// nodesOf matches ec2sim's instances to the nodes: node i is the instance
// whose primary address is 198.18.0.(10+i).
func (c Config) nodesOf(st sim.State) ([]Node, []netenv.NodeSpec, error) {
	var nodes []Node
	var specs []netenv.NodeSpec
	for i := 1; i <= c.Nodes; i++ {
		ip := primaryIP(i)
		k := slices.IndexFunc(st.Instances, func(in sim.Instance) bool { return in.PrimaryIP == ip })
		if k < 0 {
			return nil, nil, fmt.Errorf("ec2sim has no instance with the primary address %s", ip)
		}
		dir := c.nodeDir(i)
		nodes = append(nodes, Node{
			Index: i, Name: nodeName(i), InstanceID: st.Instances[k].ID, PrimaryIP: ip,
			NetNS: netenv.NodeNS(c.Prefix, i), Dir: dir, Socket: filepath.Join(dir, "ipamd.sock"),
		})
		specs = append(specs, netenv.NodeSpec{Index: i, InstanceID: st.Instances[k].ID, PrimaryIP: ip})
	}
	return nodes, specs, nil
}

func (u *upRun) startFabricd(specs []netenv.NodeSpec) error {
	argv, err := fabricdArgv(u.cfg, specs)
	if err != nil {
		return err
	}
	_, err = u.cfg.start(process{name: procFabricd, netns: netenv.FabricNS(u.cfg.Prefix), argv: argv})
	return err
}

// echoes starts the echo servers of the nodes (primary address, port 7)
// and of the internet host.
func (u *upRun) echoes(nodes []Node) error {
	labecho := filepath.Join(u.cfg.BinDir, "labecho")
	for _, n := range nodes {
		_, err := u.cfg.start(process{name: procNodeEcho(n.Index), netns: n.NetNS, argv: []string{
			labecho, "--listen", fmt.Sprintf("%s:%d", n.PrimaryIP, echoPort), "--name", n.Name,
		}})
		if err != nil {
			return err
		}
	}
	_, err := u.cfg.start(process{name: procInetEcho, netns: netenv.InetNS(u.cfg.Prefix), argv: []string{
		labecho, "--listen", fmt.Sprintf("%s:%d", internetHost, echoPort), "--name", "internet",
	}})
	return err
}

// ipamds starts every node's ipamd, waits until each is ready and writes
// each node's conflist.
func (u *upRun) ipamds(ctx context.Context, l *Lab) error {
	for _, n := range l.nodes {
		for _, d := range []string{"state", "net.d", "cache"} {
			if err := os.MkdirAll(filepath.Join(n.Dir, d), 0o755); err != nil {
				return err
			}
		}
		if err := l.startIpamd(n); err != nil {
			return err
		}
	}
	errs := make([]error, len(l.nodes))
	var wg sync.WaitGroup
	for k, n := range l.nodes {
		wg.Go(func() { errs[k] = l.waitIpamd(ctx, n) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	u.step("ipamd ready on %s", plural(len(l.nodes), "node"))
	for _, n := range l.nodes {
		if err := conflist.Write(filepath.Join(n.Dir, "net.d"), l.conflistOptions(n)); err != nil {
			return err
		}
	}
	return nil
}

// pods adds cfg.PodsPerNode pods to every node, all at once, and records
// when the first answered.
func (u *upRun) pods(ctx context.Context, l *Lab) error {
	var (
		wg    sync.WaitGroup
		once  sync.Once
		mu    sync.Mutex
		errs  []error
		total = u.cfg.Nodes * u.cfg.PodsPerNode
	)
	sem := make(chan struct{}, podConcurrency)
	for _, n := range l.nodes {
		for range u.cfg.PodsPerNode {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				if _, err := l.AddPod(ctx, n.Index); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
				once.Do(func() { l.setTimings(func(t *Timings) { t.FirstPodReady = time.Since(u.start) }) })
			})
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("lab up: %w", err)
	}
	if total > 0 {
		u.step("%s answering (the first after %.2fs)", plural(total, "pod"), l.Timings().FirstPodReady.Seconds())
	}
	return nil
}

// podConcurrency bounds the pods Up adds at once.
const podConcurrency = 8

// plural is "1 node", "2 nodes".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
