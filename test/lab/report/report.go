// Package report renders the lab's report: per node its instance, ENIs,
// address pool and max pods; per pod its address, ENI and node; the
// connectivity matrix with PASS or FAIL per check; the timings; and a final
// RESULT line. Report is plain data the orchestrator fills; Render is pure.
package report

import (
	"fmt"
	"io"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vpc-cni/vpc-cni/test/lab/echo"
)

// Report is everything the lab reports.
type Report struct {
	// Prefix names the lab (its namespaces' prefix).
	Prefix string `json:"prefix"`
	// Settings are the knobs the lab ran with (ipamd variables passed
	// through, pods per node, ...), rendered sorted by name.
	Settings map[string]string `json:"settings,omitempty"`
	Nodes    []Node            `json:"nodes"`
	Pods     []Pod             `json:"pods"`
	Checks   []echo.Check      `json:"checks"`
	Timings  Timings           `json:"timings"`
	// Kubernetes is the real cluster's view (K8S labs), nil otherwise.
	Kubernetes *Kubernetes `json:"kubernetes,omitempty"`
	// Notes are free lines worth the reader's attention (a node whose
	// ipamd did not answer, a pod that failed to start).
	Notes []string `json:"notes,omitempty"`
}

// Node is one node and its ipamd's pool.
type Node struct {
	Name         string     `json:"name"`
	InstanceID   string     `json:"instanceId"`
	InstanceType string     `json:"instanceType"`
	PrimaryIP    netip.Addr `json:"primaryIp"`
	ENIs         []ENI      `json:"enis"`
	// Warm, Assigned, Cooling count pod addresses: free, held by a pod,
	// released and cooling down.
	Warm     int `json:"warm"`
	Assigned int `json:"assigned"`
	Cooling  int `json:"cooling"`
	MaxPods  int `json:"maxPods"`
}

// ENI is one attached ENI of a node.
type ENI struct {
	ID          string `json:"id"`
	DeviceIndex int    `json:"deviceIndex"`
	// Addresses counts the pod addresses it holds (secondary IPs, or the
	// addresses of its prefixes); Prefixes its /28 prefixes.
	Addresses int `json:"addresses"`
	Prefixes  int `json:"prefixes"`
}

// Pod is one pod.
type Pod struct {
	Name string     `json:"name"`
	Node string     `json:"node"`
	IP   netip.Addr `json:"ip"`
	ENI  string     `json:"eni"`
}

// Timings are what the lab measured; a zero duration was not measured
// and is left out.
type Timings struct {
	Build         time.Duration `json:"build,omitempty"`
	LabUp         time.Duration `json:"labUp"`
	FirstPodReady time.Duration `json:"firstPodReady"`
	Checks        time.Duration `json:"checks,omitempty"`
}

// Failed are the checks that did not pass, in order.
func (r Report) Failed() []echo.Check {
	var f []echo.Check
	for _, c := range r.Checks {
		if !c.Pass() {
			f = append(f, c)
		}
	}
	return f
}

// Pass: at least one check ran and every check passed.
func (r Report) Pass() bool { return len(r.Checks) > 0 && len(r.Failed()) == 0 }

// Result is the report's last line, without its newline:
// "RESULT: PASS (n/n checks)", "RESULT: FAIL (k of n checks failed)", or
// "RESULT: FAIL (no checks ran)".
func (r Report) Result() string {
	n, k := len(r.Checks), len(r.Failed())
	switch {
	case n == 0:
		return "RESULT: FAIL (no checks ran)"
	case k == 0:
		return fmt.Sprintf("RESULT: PASS (%d/%d checks)", n, n)
	}
	return fmt.Sprintf("RESULT: FAIL (%d of %d checks failed)", k, n)
}

// Render writes r as text: aligned tables, then each failed check with its
// error, then the RESULT line. It returns the first write error.
func Render(w io.Writer, r Report) error {
	ew := &errWriter{w: w}
	fmt.Fprintf(ew, "Lab %s: %s, %s, %s\n", orDash(r.Prefix), count(len(r.Nodes), "node"), count(len(r.Pods), "pod"), count(len(r.Checks), "check"))
	renderSettings(ew, r.Settings)
	renderNodes(ew, r.Nodes)
	renderENIs(ew, r.Nodes)
	renderPods(ew, r.Pods)
	renderKubernetes(ew, r.Kubernetes)
	renderChecks(ew, r.Checks)
	renderTimings(ew, r.Timings)
	section(ew, "NOTES", len(r.Notes))
	for _, n := range r.Notes {
		fmt.Fprintf(ew, "- %s\n", oneLine(n))
	}
	failed := r.Failed()
	section(ew, "FAILED CHECKS", len(failed))
	for _, c := range failed {
		fmt.Fprintf(ew, "- %s: %s -> %s (%s %s): %s\n", orDash(c.Name), orDash(c.From), orDash(c.To), c.Proto, c.Target, oneLine(c.Problem().Error()))
	}
	fmt.Fprintf(ew, "\n%s\n", r.Result())
	return ew.err
}

func renderSettings(w io.Writer, s map[string]string) {
	if len(s) == 0 {
		return
	}
	keys := make([]string, 0, len(s))
	for k := range s {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + s[k]
	}
	fmt.Fprintf(w, "Settings: %s\n", strings.Join(parts, " "))
}

func renderNodes(w io.Writer, nodes []Node) {
	section(w, "NODES", len(nodes))
	if len(nodes) == 0 {
		return
	}
	t := table(w, "NODE", "INSTANCE", "TYPE", "PRIMARY IP", "ENIS", "WARM", "ASSIGNED", "COOLING", "MAX PODS")
	for _, n := range nodes {
		t.row(n.Name, n.InstanceID, n.InstanceType, addr(n.PrimaryIP), len(n.ENIs), n.Warm, n.Assigned, n.Cooling, n.MaxPods)
	}
	t.flush()
}

func renderENIs(w io.Writer, nodes []Node) {
	var n int
	for _, nd := range nodes {
		n += len(nd.ENIs)
	}
	section(w, "ENIS", n)
	if n == 0 {
		return
	}
	t := table(w, "NODE", "ENI", "DEVICE", "ADDRESSES", "PREFIXES")
	for _, nd := range nodes {
		for _, e := range nd.ENIs {
			t.row(nd.Name, e.ID, e.DeviceIndex, e.Addresses, e.Prefixes)
		}
	}
	t.flush()
}

func renderPods(w io.Writer, pods []Pod) {
	section(w, "PODS", len(pods))
	if len(pods) == 0 {
		return
	}
	t := table(w, "POD", "NODE", "IP", "ENI")
	for _, p := range pods {
		t.row(p.Name, p.Node, addr(p.IP), p.ENI)
	}
	t.flush()
}

func renderChecks(w io.Writer, checks []echo.Check) {
	section(w, "CHECKS", len(checks))
	if len(checks) == 0 {
		return
	}
	t := table(w, "CHECK", "FROM", "TO", "PROTO", "TARGET", "WANT SEEN", "SEEN", "RESULT")
	for _, c := range checks {
		res := "PASS"
		if !c.Pass() {
			res = "FAIL"
		}
		seen := addr(c.Got.Seen)
		if c.Err != nil {
			seen = "-"
		}
		t.row(c.Name, c.From, c.To, c.Proto, target(c.Target), addr(c.WantSeen), seen, res)
	}
	t.flush()
}

func renderTimings(w io.Writer, tm Timings) {
	rows := []struct {
		name string
		d    time.Duration
	}{{"build", tm.Build}, {"lab up", tm.LabUp}, {"first pod ready", tm.FirstPodReady}, {"checks", tm.Checks}}
	var n int
	for _, r := range rows {
		if r.d > 0 {
			n++
		}
	}
	section(w, "TIMINGS", n)
	if n == 0 {
		return
	}
	t := table(w)
	for _, r := range rows {
		if r.d > 0 {
			t.row(r.name, duration(r.d))
		}
	}
	t.flush()
}
