package netenv

import (
	"net/netip"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
)

// TestPrivilegedConnectivity: the fabric routes what ENIs own, answers for
// the gateway and the service addresses, reaches the internet host, and
// drops a packet whose source the ENI it enters by does not own (EC2's
// source/destination check), which its reverse-path counter shows.
func TestPrivilegedConnectivity(t *testing.T) {
	needRoot(t)
	l := startLab(t, 2)
	n1 := l.nodes[0]
	e0 := l.primaryENI(n1)
	res, err := l.w.AssignPrivateIpAddresses(sim.AssignInput{ENIID: e0.ID, SecondaryIPCount: 1})
	if err != nil {
		t.Fatalf("assign: %v", err)
	}
	secondary := res.IPs[0]
	res, err = l.w.AssignPrivateIpAddresses(sim.AssignInput{ENIID: e0.ID, PrefixCount: 1})
	if err != nil {
		t.Fatalf("assign prefix: %v", err)
	}
	inPrefix := res.Prefixes[0].Addr().Next()
	e1, _ := l.attachENI(n1, 1, 1)
	otherENIs := e1.SecondaryIPs[0]
	nobodys := netip.MustParseAddr("198.18.15.250")
	for _, e := range l.w.Snapshot().ENIs {
		if e.PrimaryIP == nobodys || contains(e.SecondaryIPs, nobodys) {
			t.Fatalf("%s is owned by %s", nobodys, e.ID)
		}
	}
	l.reconcile()
	node := NodeNS(l.prefix, 1)
	for _, a := range []netip.Addr{secondary, inPrefix, otherENIs, nobodys} {
		ip(t, "-n", node, "addr", "add", a.String()+"/32", "dev", "eth0")
	}

	primary := "198.18.0.11"
	for _, c := range []struct{ ns, from, to string }{
		{node, primary, "198.18.0.1"},      // the gateway
		{node, primary, "169.254.169.254"}, // IMDS's address
		{node, primary, "169.254.169.253"}, // the EC2 API's
		{node, primary, "203.0.113.10"},    // the internet host
		{node, primary, "198.18.0.12"},     // node 2, through proxy ARP
		{node, secondary.String(), "203.0.113.10"},
		{node, inPrefix.String(), "203.0.113.10"}, // the prefix's route via the primary
		{InetNS(l.prefix), "203.0.113.10", primary},
		{NodeNS(l.prefix, 2), "198.18.0.12", primary},
	} {
		if !pingOK(t, c.ns, c.from, c.to, 5) {
			t.Errorf("%s: ping from %s to %s failed", c.ns, c.from, c.to)
		}
	}
	for _, spoof := range []netip.Addr{otherENIs, nobodys} {
		before := rpFilterDrops(t, FabricNS(l.prefix))
		if pingOK(t, node, spoof.String(), "203.0.113.10", 1) {
			t.Errorf("ping from %s (not eth0's ENI's) passed the fabric", spoof)
		}
		if after := rpFilterDrops(t, FabricNS(l.prefix)); after <= before {
			t.Errorf("from %s: the fabric's reverse-path drops went from %d to %d, want more", spoof, before, after)
		}
	}
}

// pingOK pings once per try, from an address, inside a namespace; true as
// soon as one answer comes.
func pingOK(t *testing.T, nsName, from, to string, tries int) bool {
	t.Helper()
	for range tries {
		cmd := exec.Command("ip", "netns", "exec", nsName, "ping", "-n", "-q", "-c", "1", "-W", "2", "-I", from, to)
		if err := cmd.Run(); err == nil {
			return true
		}
	}
	return false
}

// rpFilterDrops reads TcpExt IPReversePathFilter (packets dropped by the
// reverse-path filter) inside a namespace.
func rpFilterDrops(t *testing.T, nsName string) int {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", nsName, "cat", "/proc/net/netstat").Output()
	if err != nil {
		t.Fatalf("netstat in %s: %v", nsName, err)
	}
	lines := strings.Split(string(out), "\n")
	for i := 0; i+1 < len(lines); i += 2 {
		names, vals := strings.Fields(lines[i]), strings.Fields(lines[i+1])
		for j, n := range names {
			if n == "IPReversePathFilter" && j < len(vals) {
				v, err := strconv.Atoi(vals[j])
				if err != nil {
					t.Fatalf("IPReversePathFilter %q: %v", vals[j], err)
				}
				return v
			}
		}
	}
	t.Fatalf("no IPReversePathFilter in %s's /proc/net/netstat", nsName)
	return 0
}

func contains(as []netip.Addr, a netip.Addr) bool {
	for _, x := range as {
		if x == a {
			return true
		}
	}
	return false
}
