package hostnet

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Privileged-test helpers: a fresh network namespace per test, deleted by
// t.Cleanup whatever happens, with links carrying ENI MACs.

// Test MACs and addresses (198.18.0.0/15 only).
const (
	primaryMAC = "02:00:00:00:00:01"
	eni1MAC    = "02:00:00:00:01:0a"
	eni2MAC    = "02:00:00:00:02:0b"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to create network namespaces (CI runs as root)")
	}
}

// newNetNS creates an unnamed network namespace that t.Cleanup deletes:
// it lives only as long as file descriptors refer to it (nothing is
// mounted, so not even a killed test leaks it). Its path is the
// descriptor's /proc entry.
func newNetNS(t *testing.T) (ns.NetNS, string) {
	t.Helper()
	requireRoot(t)
	tmp, err := ns.TempNetNS()
	if err != nil {
		t.Fatalf("create netns: %v", err)
	}
	path := fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), tmp.Fd())
	n, err := ns.GetNS(path)
	if err != nil {
		_ = tmp.Close()
		t.Fatalf("open netns %s: %v", path, err)
	}
	t.Cleanup(func() {
		if err := errors.Join(n.Close(), tmp.Close()); err != nil {
			t.Errorf("delete netns: %v", err)
		}
	})
	return n, fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), n.Fd())
}

// nsHandle opens netlink in n, closed by t.Cleanup.
func nsHandle(t *testing.T, n ns.NetNS) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(netns.NsHandle(n.Fd()))
	if err != nil {
		t.Fatalf("netlink in test netns: %v", err)
	}
	t.Cleanup(h.Close)
	return h
}

// testNode is a namespace standing for a node: a Linux host on it and a
// netlink handle for the test's own reads.
type testNode struct {
	ns   ns.NetNS
	path string // for Options.NetNS and nsenter
	nl   *netlink.Handle
	host *Linux
}

func newTestNode(t *testing.T) *testNode {
	t.Helper()
	n, path := newNetNS(t)
	nd := &testNode{ns: n, path: path, nl: nsHandle(t, n)}
	h, err := New(Options{NetNS: path})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = h.Close() })
	nd.host = h
	lo, err := nd.nl.LinkByName("lo")
	if err == nil {
		err = nd.nl.LinkSetUp(lo)
	}
	if err != nil {
		t.Fatalf("bring up lo: %v", err)
	}
	return nd
}

// addLink adds a link with that MAC and, if cidr is not empty, that
// address; up when asked. The kernel here has no dummy links, so it is a
// veth whose peer (name+"p", up, no address) stays in the namespace.
func (nd *testNode) addLink(t *testing.T, name, mac, cidr string, up bool) netlink.Link {
	t.Helper()
	hw, _ := net.ParseMAC(mac)
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name, HardwareAddr: hw, MTU: 1500}, PeerName: name + "p"}
	if err := nd.nl.LinkAdd(v); err != nil {
		t.Fatalf("add link %s: %v", name, err)
	}
	link, err := nd.nl.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	peer, err := nd.nl.LinkByName(name + "p")
	if err == nil {
		err = nd.nl.LinkSetUp(peer)
	}
	if err != nil {
		t.Fatalf("peer of %s: %v", name, err)
	}
	if cidr != "" {
		a, err := netlink.ParseAddr(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := nd.nl.AddrAdd(link, a); err != nil {
			t.Fatalf("address %s on %s: %v", cidr, name, err)
		}
	}
	if up {
		if err := nd.nl.LinkSetUp(link); err != nil {
			t.Fatal(err)
		}
	}
	return link
}

// do runs f inside the node's namespace (sysctls).
func (nd *testNode) do(t *testing.T, f func() error) {
	t.Helper()
	if err := nd.ns.Do(func(ns.NetNS) error { return f() }); err != nil {
		t.Fatal(err)
	}
}

func (nd *testNode) writeSysctl(t *testing.T, rel, v string) {
	t.Helper()
	nd.do(t, func() error { return os.WriteFile(filepath.Join("/proc/sys", rel), []byte(v), 0o644) })
}

func (nd *testNode) readSysctl(t *testing.T, rel string) string {
	t.Helper()
	var out string
	nd.do(t, func() error {
		b, err := os.ReadFile(filepath.Join("/proc/sys", rel))
		out = strings.TrimSpace(string(b))
		return err
	})
	return out
}

// rulesAt returns the IPv4 rules at priority prio.
func (nd *testNode) rulesAt(t *testing.T, prio int) []netlink.Rule {
	t.Helper()
	rules, err := nd.nl.RuleList(netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var out []netlink.Rule
	for _, r := range rules {
		if r.Priority == prio {
			out = append(out, r)
		}
	}
	return out
}

// routesOf returns the IPv4 routes of a table.
func (nd *testNode) routesOf(t *testing.T, table int) []netlink.Route {
	t.Helper()
	rs, err := nd.nl.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: table}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// nft opens nftables in the node's namespace for reads.
func (nd *testNode) nft(t *testing.T) *nftables.Conn {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(nd.ns.Fd())))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// ourTables counts the IPv4 nftables tables named like ours.
func (nd *testNode) ourTables(t *testing.T) int {
	t.Helper()
	tables, err := nd.nft(t).ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tb := range tables {
		if tb.Name == nftTable {
			n++
		}
	}
	return n
}

// snapshot describes everything hostnet may touch in the namespace (links,
// addresses, every table's routes, rules, the whole nftables ruleset and
// the rp_filter sysctls) in a canonical text, so that two runs can be
// compared for exactly-one-copy. Rule handles are left out: a replaced
// table gets new ones.
func (nd *testNode) snapshot(t *testing.T) string {
	t.Helper()
	var lines []string
	links, err := nd.nl.LinkList()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		a := l.Attrs()
		// Admin state only: the running flag follows the carrier, which the
		// kernel updates asynchronously (linkwatch) after a link comes up.
		lines = append(lines, fmt.Sprintf("link %s %s mtu %d up %v", a.Name, a.HardwareAddr, a.MTU, a.Flags&net.FlagUp != 0))
		lines = append(lines, "sysctl "+a.Name+" rp_filter "+nd.readSysctl(t, "net/ipv4/conf/"+a.Name+"/rp_filter"))
	}
	addrs, err := nd.nl.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		lines = append(lines, fmt.Sprintf("addr %d %s flags %#x", a.LinkIndex, a.IPNet, a.Flags))
	}
	for _, r := range nd.routesOf(t, unix.RT_TABLE_UNSPEC) {
		lines = append(lines, fmt.Sprintf("route table %d %s gw %s dev %d scope %d src %s proto %d",
			r.Table, prefixOf(r.Dst), r.Gw, r.LinkIndex, r.Scope, r.Src, r.Protocol))
	}
	rules, err := nd.nl.RuleList(netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		lines = append(lines, fmt.Sprintf("rule %s mark %#x mask %#x", r, r.Mark, maskOf(r.Mask)))
	}
	lines = append(lines, nd.nftLines(t)...)
	slices.Sort(lines)
	return strings.Join(lines, "\n")
}

// nftLines lists the whole nftables ruleset of the namespace.
func (nd *testNode) nftLines(t *testing.T) []string {
	t.Helper()
	c := nd.nft(t)
	tables, err := c.ListTables()
	if err != nil {
		t.Fatal(err)
	}
	chains, err := c.ListChains()
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, tb := range tables {
		lines = append(lines, fmt.Sprintf("nft table %d %s", tb.Family, tb.Name))
		sets, err := c.GetSets(tb)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range sets {
			els, err := c.GetSetElements(s)
			if err != nil {
				t.Fatal(err)
			}
			lines = append(lines, fmt.Sprintf("nft set %s %s interval %v elements %s", tb.Name, s.Name, s.Interval, elementsString(els)))
		}
	}
	for _, ch := range chains {
		lines = append(lines, fmt.Sprintf("nft chain %s %s type %s hook %v prio %v", ch.Table.Name, ch.Name, ch.Type, deref(ch.Hooknum), deref(ch.Priority)))
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range rules {
			var ex []string
			for _, e := range r.Exprs {
				ex = append(ex, fmt.Sprintf("%T%+v", e, e))
			}
			lines = append(lines, fmt.Sprintf("nft rule %s %s %d: %s", ch.Table.Name, ch.Name, i, strings.Join(ex, " ")))
		}
	}
	return lines
}

func deref[T any](p *T) any {
	if p == nil {
		return nil
	}
	return *p
}

// elementsString renders interval set elements as nft's ranges would read.
func elementsString(els []nftables.SetElement) string {
	var parts []string
	for _, e := range els {
		s := net.IP(e.Key).String()
		if e.IntervalEnd {
			s = "end:" + s
		}
		parts = append(parts, s)
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// dumpOnFailure logs `ip rule`, `ip route show table all` and `nft list
// ruleset` of the node when the test fails, if the tools are installed.
func (nd *testNode) dumpOnFailure(t *testing.T) {
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		for _, args := range [][]string{
			{"ip", "rule"}, {"ip", "route", "show", "table", "all"}, {"ip", "addr"}, {"nft", "list", "ruleset"},
		} {
			if _, err := exec.LookPath(args[0]); err != nil {
				continue
			}
			out, _ := exec.Command("nsenter", append([]string{"--net=" + nd.path}, args...)...).CombinedOutput()
			t.Logf("%s:\n%s", strings.Join(args, " "), out)
		}
	})
}
