package netenv

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/cloud/sim/simtest"
)

// needRoot skips a privileged test without root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces (run the tests as root)")
	}
}

// newPrefix is a unique lab prefix whose namespaces are all removed when
// the test ends, also on failure.
func newPrefix(t *testing.T) string {
	t.Helper()
	p := fmt.Sprintf("nt%06x", rand.IntN(1<<24))
	t.Cleanup(func() {
		if err := DeleteAll(p); err != nil {
			t.Errorf("DeleteAll(%s): %v", p, err)
		}
	})
	return p
}

// testLab is a fabric, nodes and an in-process ec2sim whose instances are
// the nodes (primary addresses 198.18.0.(10+i)).
type testLab struct {
	t      *testing.T
	prefix string
	srv    *sim.Server
	w      *sim.World
	nodes  []NodeSpec
	subnet string
}

func startLab(t *testing.T, nodes int) *testLab {
	t.Helper()
	cfg := simtest.Config()
	cfg.Instances = nil
	for i := 1; i <= nodes; i++ {
		cfg.Instances = append(cfg.Instances, sim.InstanceConfig{Type: "m5.large", Subnet: "ec2sim-a",
			PrimaryIP: fmt.Sprintf("198.18.0.%d", 10+i)})
	}
	srv := simtest.Start(t, &cfg)
	l := &testLab{t: t, prefix: newPrefix(t), srv: srv, w: srv.World()}
	st := l.w.Snapshot()
	l.subnet = st.Subnets[0].ID
	for _, in := range st.Instances {
		i := int(in.PrimaryIP.As4()[3]) - 10
		l.nodes = append(l.nodes, NodeSpec{Index: i, InstanceID: in.ID, PrimaryIP: in.PrimaryIP})
	}
	slices.SortFunc(l.nodes, func(a, b NodeSpec) int { return a.Index - b.Index })
	if err := CreateFabric(l.prefix); err != nil {
		t.Fatalf("CreateFabric: %v", err)
	}
	for _, n := range l.nodes {
		if err := CreateNode(l.prefix, n); err != nil {
			t.Fatalf("CreateNode(%d): %v", n.Index, err)
		}
	}
	return l
}

// reconcile runs one pass over the world's state and returns what it did.
func (l *testLab) reconcile() []Action {
	l.t.Helper()
	done, err := reconcile(context.Background(), l.prefix, l.w.Snapshot(), l.nodes)
	if err != nil {
		l.t.Fatalf("Reconcile: %v", err)
	}
	return done
}

// eni returns the world's ENI by id.
func (l *testLab) eni(id string) sim.ENI {
	l.t.Helper()
	for _, e := range l.w.Snapshot().ENIs {
		if e.ID == id {
			return e
		}
	}
	l.t.Fatalf("no ENI %s", id)
	return sim.ENI{}
}

// primaryENI is node n's primary ENI.
func (l *testLab) primaryENI(n NodeSpec) sim.ENI {
	l.t.Helper()
	for _, in := range l.w.Snapshot().Instances {
		if in.ID == n.InstanceID {
			return l.eni(in.PrimaryENIID)
		}
	}
	l.t.Fatalf("no instance %s", n.InstanceID)
	return sim.ENI{}
}

// attachENI creates an ENI with count secondaries and attaches it to node n
// at device d.
func (l *testLab) attachENI(n NodeSpec, d, count int) (sim.ENI, string) {
	l.t.Helper()
	e, err := l.w.CreateNetworkInterface(sim.CreateENIInput{SubnetID: l.subnet, SecondaryIPCount: count})
	if err != nil {
		l.t.Fatalf("CreateNetworkInterface: %v", err)
	}
	att, err := l.w.AttachNetworkInterface(e.ID, n.InstanceID, d, 0)
	if err != nil {
		l.t.Fatalf("AttachNetworkInterface: %v", err)
	}
	return e, att
}

// ip runs `ip args...` and returns its output.
func ip(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// linkMAC is the MAC of a link in a namespace, "" when it does not exist.
func linkMAC(t *testing.T, nsName, link string) string {
	t.Helper()
	h, err := openNS(nsName)
	if err != nil {
		t.Fatalf("open %s: %v", nsName, err)
	}
	defer h.Close()
	l, err := h.LinkByName(link)
	if err != nil {
		return ""
	}
	return l.Attrs().HardwareAddr.String()
}

// fabricView is what `ip` shows of a fabric link: its routes and its
// permanent neighbours, one normalised line each.
func fabricView(t *testing.T, prefix, link string) (routes, neighs []string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimSpace(ip(t, "-n", FabricNS(prefix), "-4", "route", "show", "dev", link)), "\n") {
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			routes = append(routes, line)
		}
	}
	out := ip(t, "-n", FabricNS(prefix), "-4", "neigh", "show", "dev", link, "nud", "permanent")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line = strings.Join(strings.Fields(line), " "); line != "" {
			neighs = append(neighs, line)
		}
	}
	slices.Sort(routes)
	slices.Sort(neighs)
	return routes, neighs
}

// wantFabric checks a fabric link's routes and neighbours for an ENI.
func wantFabric(t *testing.T, prefix, link string, e sim.ENI) {
	t.Helper()
	var routes, neighs []string
	for _, a := range append([]netip.Addr{e.PrimaryIP}, e.SecondaryIPs...) {
		routes = append(routes, a.String()+" scope link")
		neighs = append(neighs, a.String()+" lladdr "+e.MAC+" PERMANENT")
	}
	for _, p := range e.Prefixes {
		routes = append(routes, p.String()+" via "+e.PrimaryIP.String()+" onlink")
	}
	slices.Sort(routes)
	slices.Sort(neighs)
	gotR, gotN := fabricView(t, prefix, link)
	if !slices.Equal(gotR, routes) {
		t.Errorf("routes of %s:\n got %q\nwant %q", link, gotR, routes)
	}
	if !slices.Equal(gotN, neighs) {
		t.Errorf("neighbours of %s:\n got %q\nwant %q", link, gotN, neighs)
	}
}

// sysctlIn reads a sysctl inside a namespace.
func sysctlIn(t *testing.T, nsName, key string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", nsName, "cat", "/proc/sys/"+key).CombinedOutput()
	if err != nil {
		t.Fatalf("read %s in %s: %v: %s", key, nsName, err, out)
	}
	return strings.TrimSpace(string(out))
}
