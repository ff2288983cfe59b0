package cnibench

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	current "github.com/containernetworking/cni/pkg/types/100"
)

const (
	// benchPods is how many pods each plugin wires per phase.
	benchPods = 200
	// churnPods is how many pods each plugin adds and deletes in the churn
	// phase (fewer than benchPods, to keep the run near a minute here).
	churnPods = 100
	// churnParallel is how many ADD+DEL run at once in the churn phase.
	churnParallel = 8
)

// BenchmarkPluginVsPTP compares vpc-cni with the reference plugins ptp +
// host-local, through libcni from a host namespace, on the same machine
// in the same run: per-pod ADD then DEL latency for benchPods pods each,
// sequential with the plugins alternating pod by pod; then pods per
// second of ADD+DEL churn of churnPods pods each with churnParallel in
// parallel. ipamd runs
// in-process with a warm pool. Each b.N round is the whole measurement;
// the figures are printed as a table ending with the ADD p50 ratio line
// and reported as metrics. Nothing is asserted on time.
func BenchmarkPluginVsPTP(b *testing.B) {
	h := newHarness(b, benchPods)
	var acc map[*cniPlugin]*samples
	churn := map[*cniPlugin]time.Duration{}
	b.ResetTimer()
	for round := range b.N {
		s := h.latencyRound(b, round)
		if acc == nil {
			acc = s
		} else {
			for p, v := range s {
				acc[p].add = append(acc[p].add, v.add...)
				acc[p].del = append(acc[p].del, v.del...)
			}
		}
		c, err := h.churnBoth(round, churnPods, churnParallel)
		if err != nil {
			b.Fatal(err)
		}
		for p, d := range c {
			churn[p] += d
		}
		if err := h.hostClean(); err != nil {
			b.Fatalf("after the churn: %v", err)
		}
	}
	b.StopTimer()

	fig := func(p *cniPlugin) figures {
		return summarize(p.name, acc[p].add, acc[p].del, b.N*churnPods, churnParallel, churn[p])
	}
	ours, ref := fig(h.ours), fig(h.ref)
	for _, m := range []struct {
		f    figures
		name string
	}{{ours, "vpc"}, {ref, "ptp"}} {
		b.ReportMetric(msf(m.f.addP50), m.name+"-add-p50-ms")
		b.ReportMetric(msf(m.f.addP99), m.name+"-add-p99-ms")
		b.ReportMetric(msf(m.f.delP50), m.name+"-del-p50-ms")
		b.ReportMetric(msf(m.f.delP99), m.name+"-del-p99-ms")
		b.ReportMetric(m.f.churnPodsPerSec, m.name+"-churn-pods/s")
	}
	b.ReportMetric(ratio(ours.addP50, ref.addP50), "vpc/ptp-add-p50")
	// Printed, not logged: the table must show in `make bench` whatever
	// the verbosity, and end with the ratio line.
	fmt.Print(report(ours, ref, h.setup()))
}

// setup describes where the state of both sides lives.
func (h *harness) setup() string {
	where := "on tmpfs (/dev/shm), as /run is on a node"
	if !strings.HasPrefix(h.stateDir, "/dev/shm/") {
		where = "in " + filepath.Dir(h.stateDir) + ", not a tmpfs: ipamd's checkpoint syncs weigh on its figures"
	}
	return fmt.Sprintf("ipamd in-process (ec2sim, %s, warm pool); ipamd's checkpoint and host-local's data %s", nodeType, where)
}

func msf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// latencyRound is one sequential ADD phase then DEL phase of every pod of
// both plugins; the host must be as before afterwards.
func (h *harness) latencyRound(tb testing.TB, round int) map[*cniPlugin]*samples {
	tb.Helper()
	s, err := h.addAll(round)
	if err != nil {
		tb.Fatal(err)
	}
	if err := h.delAll(s); err != nil {
		tb.Fatal(err)
	}
	if err := h.hostClean(); err != nil {
		tb.Fatalf("after DEL: %v", err)
	}
	return s
}

// TestPrivilegedHarness runs the benchmark's harness with 5 pods and
// checks only that it measures what it claims: both plugins give each pod
// a distinct address of their own range, on the pod's interface, that
// ipamd or host-local holds; every DEL leaves the host, the pods and both
// IPAMs as before, also after the parallel churn.
func TestPrivilegedHarness(t *testing.T) {
	const pods = 5
	h := newHarness(t, pods)
	podsBefore := h.podStates(t)

	s, err := h.addAll(0)
	if err != nil {
		t.Fatal(err)
	}
	h.checkAdded(t, h.ours, s[h.ours], netip.MustParsePrefix(nodeSubnet))
	h.checkAdded(t, h.ref, s[h.ref], netip.MustParsePrefix(refSubnet))
	if err := h.delAll(s); err != nil {
		t.Fatal(err)
	}
	h.checkDeleted(t, s, podsBefore)

	churn, err := h.churnBoth(0, pods, churnParallel)
	if err != nil {
		t.Fatal(err)
	}
	if len(churn) != 2 || churn[h.ours] <= 0 || churn[h.ref] <= 0 {
		t.Errorf("churn wall times %v: want one per plugin", churn)
	}
	h.checkDeleted(t, nil, podsBefore)
}

// checkAdded checks the ADD results of one plugin.
func (h *harness) checkAdded(t *testing.T, p *cniPlugin, s *samples, within netip.Prefix) {
	t.Helper()
	if len(s.results) != len(p.pods) || len(s.add) != len(p.pods) {
		t.Fatalf("%s: %d results and %d timings for %d pods", p.name, len(s.results), len(s.add), len(p.pods))
	}
	var seen []netip.Addr
	for i, res := range s.results {
		ip, err := firstIPv4(res)
		if err != nil {
			t.Fatalf("%s pod %d: %v", p.name, i, err)
		}
		if !within.Contains(ip) || slices.Contains(seen, ip) {
			t.Errorf("%s pod %d: address %s, want a distinct one in %s (so far %v)", p.name, i, ip, within, seen)
		}
		seen = append(seen, ip)
		ok, err := podHasAddr(s.atts[i].netns, podIfName, ip.AsSlice())
		if err != nil || !ok {
			t.Errorf("%s pod %d: %s not on %s in the pod netns (%v)", p.name, i, ip, podIfName, err)
		}
		if p == h.ours && !h.ipamd.holds(t, s.atts[i].id, podIfName) {
			t.Errorf("vpc-cni pod %d: ipamd holds no allocation for %s", i, s.atts[i].id)
		}
	}
	if p == h.ref {
		if n := h.refReserved(t); n != len(p.pods) {
			t.Errorf("host-local holds %d reservations, want %d", n, len(p.pods))
		}
	}
}

// checkDeleted checks that the host and every pod are as before, that
// ipamd holds none of s's attachments and host-local no reservation.
func (h *harness) checkDeleted(t *testing.T, s map[*cniPlugin]*samples, podsBefore map[string][]string) {
	t.Helper()
	if err := h.hostClean(); err != nil {
		t.Error(err)
	}
	for path, now := range h.podStates(t) {
		if added, removed := diffState(podsBefore[path], now); len(added)+len(removed) > 0 {
			t.Errorf("pod netns %s not as before: left behind %q, gone %q", path, added, removed)
		}
	}
	if s != nil {
		for _, a := range s[h.ours].atts {
			if h.ipamd.holds(t, a.id, podIfName) {
				t.Errorf("ipamd still holds %s after DEL", a.id)
			}
		}
	}
	if n := h.refReserved(t); n != 0 {
		t.Errorf("host-local still holds %d reservations after DEL", n)
	}
}

// podStates is the state of every pod namespace, by path.
func (h *harness) podStates(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range []*cniPlugin{h.ours, h.ref} {
		for _, n := range p.pods {
			st, err := netState(n)
			if err != nil {
				t.Fatalf("pod netns state: %v", err)
			}
			out[n.Path()] = st
		}
	}
	return out
}

// refReserved counts host-local's reservations: one file per address,
// named by it, in <dataDir>/<network name>.
func (h *harness) refReserved(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(h.refData, h.ref.list.Name))
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatalf("host-local data: %v", err)
	}
	n := 0
	for _, e := range entries {
		if _, err := netip.ParseAddr(e.Name()); err == nil {
			n++
		}
	}
	return n
}

// firstIPv4 is the first IPv4 address of an ADD result.
func firstIPv4(res *current.Result) (netip.Addr, error) {
	for _, ipc := range res.IPs {
		if a, ok := netip.AddrFromSlice(ipc.Address.IP.To4()); ok && ipc.Address.IP.To4() != nil {
			return a, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no IPv4 address in the result %v", res)
}
