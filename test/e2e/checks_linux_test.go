package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/test/lab"
	"github.com/vpc-cni/vpc-cni/test/lab/echo"
	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
)

// echoPort is the port of every echo server of the lab.
const echoPort = 7

// probeWorkers bounds the probes run at once (the machine has 2 cores).
const probeWorkers = 4

// probeTimeout bounds one probe: the test's context is far longer, and a
// dropped packet must fail its check, not the whole test's deadline.
const probeTimeout = echo.DefaultTimeout

// probe is echo.Probe bounded by probeTimeout.
func probe(ctx context.Context, netnsPath string, target netip.AddrPort, proto string) (echo.Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	return echo.Probe(ctx, netnsPath, target, proto)
}

// protos are the protocols every connectivity check is made over.
var protos = []string{"tcp", "udp"}

// endpoint is one end of a check: a label, the namespace a probe from it
// runs in, and the address of its echo server.
type endpoint struct {
	name string
	ns   string
	addr netip.Addr
}

func podEnd(p *lab.Pod) endpoint {
	return endpoint{name: p.Name + " (" + p.IP.String() + ")", ns: p.NetNSPath(), addr: p.IP}
}

func nodeEnd(n lab.Node) endpoint {
	return endpoint{name: n.Name + " (" + n.PrimaryIP.String() + ")", ns: n.NetNSPath(), addr: n.PrimaryIP}
}

func internetEnd(prefix string) endpoint {
	a := netenv.InternetHost.Addr()
	return endpoint{name: "internet (" + a.String() + ")", ns: netenv.NSPath(netenv.InetNS(prefix)), addr: a}
}

// check is a probe from one end to another's echo server, over each of
// protos, where the receiver must see wantSeen as the source.
func check(what string, from, to endpoint, wantSeen netip.Addr) []echo.Check {
	var cs []echo.Check
	for _, proto := range protos {
		cs = append(cs, echo.Check{
			Name: what, From: from.name, To: to.name, FromNS: from.ns,
			Target: netip.AddrPortFrom(to.addr, echoPort), Proto: proto, WantSeen: wantSeen,
		})
	}
	return cs
}

// runChecks runs the checks and fails the test for each that fails. A
// check also fails when the receiver's "me" is not the address probed: a
// pod must see itself at the address others reach it by.
func runChecks(ctx context.Context, t *testing.T, cs []echo.Check) {
	t.Helper()
	start := time.Now()
	echo.RunAll(ctx, cs, probeWorkers, probe)
	failed := 0
	for _, c := range cs {
		switch {
		case !c.Pass():
			t.Errorf("%v", c)
		case c.Got.Me != c.Target.Addr():
			t.Errorf("%v, but the receiver says it was reached at %s, not %s", c, c.Got.Me, c.Target.Addr())
		default:
			continue
		}
		failed++
	}
	t.Logf("timing: %d connectivity checks (%d failed) in %v", len(cs), failed, time.Since(start).Round(time.Millisecond))
}

// podToPod are checks between every ordered pair of the pods: the
// receiver must see the sender's own pod address (no NAT).
func podToPod(pods []*lab.Pod) []echo.Check {
	var cs []echo.Check
	for _, a := range pods {
		for _, b := range pods {
			if a == b {
				continue
			}
			what := "pod→pod across nodes"
			if a.Node == b.Node {
				what = "pod→pod on one node"
			}
			cs = append(cs, check(what, podEnd(a), podEnd(b), a.IP)...)
		}
	}
	return cs
}

// nodePod are checks from every node to every pod and back: each side
// must see the other's own address.
func nodePod(nodes []lab.Node, pods []*lab.Pod) []echo.Check {
	var cs []echo.Check
	for _, n := range nodes {
		for _, p := range pods {
			cs = append(cs, check("node→pod", nodeEnd(n), podEnd(p), n.PrimaryIP)...)
			cs = append(cs, check("pod→node", podEnd(p), nodeEnd(n), p.IP)...)
		}
	}
	return cs
}

// selfChecks: each pod probes its own address: its server must answer as
// that address and see it as the source.
func selfChecks(pods []*lab.Pod) []echo.Check {
	var cs []echo.Check
	for _, p := range pods {
		cs = append(cs, check("pod→itself", podEnd(p), podEnd(p), p.IP)...)
	}
	return cs
}

// podAddrs are the IPv4 addresses on the pod's interfaces besides
// loopback's, read in its namespace.
func podAddrs(p *lab.Pod) ([]netip.Addr, error) {
	h, err := netns.GetFromPath(p.NetNSPath())
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", p.NetNS, err)
	}
	defer h.Close()
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", p.NetNS, err)
	}
	defer nl.Close()
	addrs, err := nl.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		return nil, fmt.Errorf("addresses in %s: %w", p.NetNS, err)
	}
	var out []netip.Addr
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP.To4())
		if ok && !ip.IsLoopback() {
			out = append(out, ip)
		}
	}
	return out, nil
}

// eniOf finds the ENI of the world that holds ip as a secondary address
// or in a delegated prefix.
func eniOf(st sim.State, ip netip.Addr) (sim.ENI, netip.Prefix, bool) {
	for _, e := range st.ENIs {
		if slices.Contains(e.SecondaryIPs, ip) {
			return e, netip.PrefixFrom(ip, 32), true
		}
		for _, p := range e.Prefixes {
			if p.Contains(ip) {
				return e, p, true
			}
		}
	}
	return sim.ENI{}, netip.Prefix{}, false
}

// placement is where ec2sim has a pod's address: the ENI, its device
// index on the instance, and the block (a /32 or a /28 prefix).
type placement struct {
	eni    sim.ENI
	device int
	block  netip.Prefix
}

// placeAll checks, against ec2sim's ground truth, that every pod address
// is distinct and assigned to an ENI attached to the pod's own node, and
// returns where each is.
func placeAll(ctx context.Context, t *testing.T, l *testLab, pods []*lab.Pod) map[netip.Addr]placement {
	t.Helper()
	st, err := l.SimState(ctx)
	if err != nil {
		t.Fatalf("ec2sim state: %v", err)
	}
	out := map[netip.Addr]placement{}
	owner := map[netip.Addr]string{}
	for _, p := range pods {
		if other, dup := owner[p.IP]; dup {
			t.Errorf("address %s is both %s's and %s's", p.IP, other, p.Name)
			continue
		}
		owner[p.IP] = p.Name
		node, err := l.Node(p.Node)
		if err != nil {
			t.Fatal(err)
		}
		e, block, ok := eniOf(st, p.IP)
		switch {
		case !ok:
			t.Errorf("%s's address %s is on no ENI in ec2sim", p.Name, p.IP)
		case e.Attachment == nil || e.Attachment.InstanceID != node.InstanceID:
			t.Errorf("%s's address %s is on %s, which is not attached to its node %s (%s): attachment %+v",
				p.Name, p.IP, e.ID, node.Name, node.InstanceID, e.Attachment)
		default:
			out[p.IP] = placement{eni: e, device: e.Attachment.DeviceIndex, block: block}
		}
	}
	return out
}

// waitUntil polls cond every half second until it holds, or fails the test
// after d with cond's last account of what is missing.
func waitUntil(ctx context.Context, t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	start := time.Now()
	for {
		ok, why := cond()
		if ok {
			t.Logf("timing: %s after %v", what, time.Since(start).Round(time.Millisecond))
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s: not within %v: %s", what, d, why)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// podNamespaces are the lab's pod namespaces (P-n<i>-p<j>).
func podNamespaces(t *testing.T, prefix string) []string {
	t.Helper()
	names, err := netenv.List(prefix)
	if err != nil {
		t.Fatalf("list namespaces: %v", err)
	}
	var out []string
	for _, n := range names {
		if strings.HasPrefix(n, prefix+"-n") && !strings.HasPrefix(n, prefix+"-node") {
			out = append(out, n)
		}
	}
	return out
}

// podsOf are the pods of the node.
func podsOf(pods []*lab.Pod, node int) []*lab.Pod {
	var out []*lab.Pod
	for _, p := range pods {
		if p.Node == node {
			out = append(out, p)
		}
	}
	return out
}
