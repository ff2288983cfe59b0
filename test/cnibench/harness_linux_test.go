package cnibench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/cni/libcni"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/vpc-cni/vpc-cni/internal/plugintest"
)

// refPluginDir holds Debian's containernetworking-plugins.
const refPluginDir = "/usr/lib/cni"

// Both conflists speak the same spec version: the highest Debian's
// plugins (1.1.1) support.
const cniVersion = "1.0.0"

const (
	podIfName = "eth0"
	podMTU    = 9001
	// refSubnet is host-local's range for the reference plugin.
	refSubnet = "198.19.0.0/16"
	// callTimeout bounds one libcni call; it is a guard against a hung
	// plugin, never a measurement.
	callTimeout = time.Minute
)

// cniPlugin is one side of the comparison: its conflist and the pod
// namespaces it wires.
type cniPlugin struct {
	name  string // as the table shows it
	short string // in container IDs
	list  *libcni.NetworkConfigList
	pods  []ns.NetNS
}

// harness is the bench's world: the host namespace the plugins run in,
// the in-process ipamd, and both plugins.
type harness struct {
	host      ns.NetNS
	cni       *libcni.CNIConfig
	ipamd     *ipamd
	ours, ref *cniPlugin
	// refData is host-local's dataDir.
	refData string
	// baseline is the host namespace's state before any ADD.
	baseline []string
	// stateDir holds ipamd's socket and checkpoint, host-local's data,
	// libcni's cache and the plugin log.
	stateDir string
}

// skipUnlessReady skips when the harness cannot run here. A benchmark
// also prints why: go test shows a skip's message only with -v, and
// `make bench` should not drop the comparison silently.
func skipUnlessReady(tb testing.TB) {
	tb.Helper()
	why := ""
	if os.Geteuid() != 0 {
		why = "needs root: creates network namespaces and runs CNI plugins in them (CI runs as root)"
	}
	for _, p := range []string{"ptp", "host-local"} {
		if _, err := os.Stat(filepath.Join(refPluginDir, p)); why == "" && err != nil {
			why = fmt.Sprintf("the reference plugin %s is missing (%v): apt-get install containernetworking-plugins (.ci/run does)", p, err)
		}
	}
	if why == "" {
		return
	}
	if _, ok := tb.(*testing.B); ok {
		fmt.Printf("%s skipped: %s\n", tb.Name(), why)
	}
	tb.Skip(why)
}

// newHarness builds the plugin, starts ipamd with a warm pool and creates
// the host namespace and pods namespaces for each plugin; nothing of it
// is timed. Everything is removed when the test ends.
func newHarness(tb testing.TB, pods int) *harness {
	tb.Helper()
	skipUnlessReady(tb)
	bin := tempDir(tb, "")
	buildPlugin(tb, bin)
	dir := tempDir(tb, tmpfs())
	d := startIpamd(tb, dir)
	d.waitWarm(tb, max(pods, 200))

	h := &harness{
		host:     newHostNS(tb),
		cni:      libcni.NewCNIConfigWithCacheDir([]string{bin, refPluginDir}, filepath.Join(dir, "cache"), nil),
		ipamd:    d,
		refData:  filepath.Join(dir, "host-local"),
		stateDir: dir,
	}
	h.ours = &cniPlugin{name: "vpc-cni", short: "vpc", pods: newNetNSes(tb, pods),
		list: confList(tb, ourConf(d.socket, filepath.Join(dir, "log", "plugin.log")))}
	h.ref = &cniPlugin{name: "ptp + host-local", short: "ptp", pods: newNetNSes(tb, pods),
		list: confList(tb, refConf(h.refData))}
	var err error
	if h.baseline, err = netState(h.host); err != nil {
		tb.Fatalf("host netns state: %v", err)
	}
	return h
}

// tempDir is a temporary directory in parent (the default one if
// empty), with a short path (ipamd's unix socket may live in it), removed
// when the test ends.
func tempDir(tb testing.TB, parent string) string {
	tb.Helper()
	d, err := os.MkdirTemp(parent, "cnibench")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = os.RemoveAll(d) })
	return d
}

// tmpfs is /dev/shm when it is a tmpfs, else "". ipamd's checkpoint lives
// on tmpfs on a node (/run/vpc-cni), and ipamd syncs it on every ADD and
// DEL: on a disk those syncs would be measured instead of the plugin.
// host-local's data goes there too, so both sides store alike.
func tmpfs() string {
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		return ""
	}
	return "/dev/shm"
}

// buildPlugin builds bin/vpc-cni into dir, as `make build` does.
func buildPlugin(tb testing.TB, dir string) {
	tb.Helper()
	plugintest.Build(tb, dir)
}

// ourConf is vpc-cni's conflist.
func ourConf(socket, logFile string) map[string]any {
	return conf("vpc-cni-bench", map[string]any{
		"type": "vpc-cni", "ipamdSocket": socket, "mtu": podMTU, "pluginLogFile": logFile,
	})
}

// refConf is the reference conflist of the same shape: ptp with
// host-local, no masquerade.
func refConf(dataDir string) map[string]any {
	return conf("ptp-bench", map[string]any{
		"type": "ptp", "ipMasq": false, "mtu": podMTU,
		"ipam": map[string]any{
			"type": "host-local", "dataDir": dataDir,
			"ranges": [][]map[string]any{{{"subnet": refSubnet}}},
		},
	})
}

func conf(name string, plugin map[string]any) map[string]any {
	return map[string]any{"cniVersion": cniVersion, "name": name, "plugins": []any{plugin}}
}

func confList(tb testing.TB, c map[string]any) *libcni.NetworkConfigList {
	tb.Helper()
	raw, err := json.Marshal(c)
	if err != nil {
		tb.Fatal(err)
	}
	l, err := libcni.ConfListFromBytes(raw)
	if err != nil {
		tb.Fatalf("conflist %s: %v", raw, err)
	}
	return l
}

// attachment is one pod's interface, as the runtime names it.
type attachment struct {
	id, pod string
	netns   ns.NetNS
}

// attachmentOf is pod i of plugin p in the given round and phase; IDs
// and pod names never repeat within a run.
func (p *cniPlugin) attachmentOf(phase string, round, i int) attachment {
	id := fmt.Sprintf("%s-%s-r%d-%04d", p.short, phase, round, i)
	return attachment{id: id, pod: id, netns: p.pods[i]}
}

// runtimeConf is what containerd passes for a Kubernetes pod.
func (a attachment) runtimeConf() *libcni.RuntimeConf {
	return &libcni.RuntimeConf{
		ContainerID: a.id, NetNS: a.netns.Path(), IfName: podIfName,
		Args: [][2]string{
			{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", "bench"},
			{"K8S_POD_NAME", a.pod}, {"K8S_POD_INFRA_CONTAINER_ID", a.id},
		},
	}
}

// inHost runs one libcni call from the host namespace (the plugin's
// process starts in the namespace of the locked thread that forks it)
// and times the call alone.
func (h *harness) inHost(call func(ctx context.Context) error) (time.Duration, error) {
	var took time.Duration
	err := h.host.Do(func(ns.NetNS) error {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		start := time.Now()
		err := call(ctx)
		took = time.Since(start)
		return err
	})
	return took, err
}

// add runs ADD for the attachment through libcni.
func (h *harness) add(p *cniPlugin, a attachment) (*current.Result, time.Duration, error) {
	var res *current.Result
	took, err := h.inHost(func(ctx context.Context) error {
		r, err := h.cni.AddNetworkList(ctx, p.list, a.runtimeConf())
		if err != nil {
			return err
		}
		res, err = current.NewResultFromResult(r)
		return err
	})
	if err != nil {
		return nil, took, fmt.Errorf("%s ADD %s: %w", p.name, a.id, err)
	}
	return res, took, nil
}

// del runs DEL for the attachment through libcni (with the cached
// result as prevResult, as containerd does).
func (h *harness) del(p *cniPlugin, a attachment) (time.Duration, error) {
	took, err := h.inHost(func(ctx context.Context) error {
		return h.cni.DelNetworkList(ctx, p.list, a.runtimeConf())
	})
	if err != nil {
		return took, fmt.Errorf("%s DEL %s: %w", p.name, a.id, err)
	}
	return took, nil
}

// samples are one plugin's latencies over a sequential phase.
type samples struct {
	atts    []attachment
	results []*current.Result
	add     []time.Duration
	del     []time.Duration
}

// fairOrder is both plugins in the order pod i runs them: alternating,
// so that drift and noise fall on both alike.
func (h *harness) fairOrder(i int) []*cniPlugin {
	if i%2 == 0 {
		return []*cniPlugin{h.ours, h.ref}
	}
	return []*cniPlugin{h.ref, h.ours}
}

// addAll runs ADD for every pod of both plugins, one at a time.
func (h *harness) addAll(round int) (map[*cniPlugin]*samples, error) {
	out := map[*cniPlugin]*samples{h.ours: {}, h.ref: {}}
	for i := range h.ours.pods {
		for _, p := range h.fairOrder(i) {
			a := p.attachmentOf("seq", round, i)
			res, took, err := h.add(p, a)
			if err != nil {
				return out, err
			}
			s := out[p]
			s.atts, s.results, s.add = append(s.atts, a), append(s.results, res), append(s.add, took)
		}
	}
	return out, nil
}

// delAll runs DEL for every attachment addAll made, one at a time.
func (h *harness) delAll(s map[*cniPlugin]*samples) error {
	for i := range h.ours.pods {
		for _, p := range h.fairOrder(i) {
			took, err := h.del(p, s[p].atts[i])
			if err != nil {
				return err
			}
			s[p].del = append(s[p].del, took)
		}
	}
	return nil
}

// churn runs ADD then DEL for pods [from, to) of p with parallel workers,
// and returns the wall time of the whole.
func (h *harness) churn(p *cniPlugin, round, from, to, parallel int) (time.Duration, error) {
	next := make(chan int)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	start := time.Now()
	for range parallel {
		wg.Go(func() {
			for i := range next {
				a := p.attachmentOf("churn", round, i)
				_, _, err := h.add(p, a)
				if err == nil {
					_, err = h.del(p, a)
				}
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		})
	}
	for i := from; i < to; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// churnBoth runs the churn of the first n pods (at most as many as each
// plugin has namespaces) of both plugins in ABBA order (ours, ref on the
// first half, ref, ours on the second), so that drift falls on both
// alike, and returns each plugin's total wall time.
func (h *harness) churnBoth(round, n, parallel int) (map[*cniPlugin]time.Duration, error) {
	n = min(n, len(h.ours.pods), len(h.ref.pods))
	half := n / 2
	out := map[*cniPlugin]time.Duration{}
	for _, step := range []struct {
		p        *cniPlugin
		from, to int
	}{{h.ours, 0, half}, {h.ref, 0, half}, {h.ref, half, n}, {h.ours, half, n}} {
		took, err := h.churn(step.p, round, step.from, step.to, parallel)
		if err != nil {
			return out, fmt.Errorf("churn: %w", err)
		}
		out[step.p] += took
	}
	return out, nil
}

// hostClean reports what the host namespace holds that it did not
// before the first ADD, or lost since.
func (h *harness) hostClean() error {
	now, err := netState(h.host)
	if err != nil {
		return fmt.Errorf("host netns state: %w", err)
	}
	added, removed := diffState(h.baseline, now)
	if len(added) > 0 || len(removed) > 0 {
		return fmt.Errorf("the host netns is not as before the ADDs: left behind %q, gone %q", added, removed)
	}
	return nil
}
