package dataplane_test

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
)

// nodeIP is the test host's own address, on its dummy "node0".
var nodeIP = netip.MustParseAddr("198.18.0.10")

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to create network namespaces: run the TestPrivileged tests as root (CI does)")
	}
}

// testNS is a network namespace a test made, with a netlink socket in it.
type testNS struct {
	ns.NetNS
	h      *netlink.Handle
	remove func() // unmounts and closes it; idempotent
}

// newNS makes a namespace with lo up, removed by t.Cleanup.
func newNS(t *testing.T) *testNS {
	t.Helper()
	n, err := testutils.NewNS()
	if err != nil {
		t.Fatalf("create netns: %v", err)
	}
	tn := &testNS{NetNS: n}
	var once sync.Once
	tn.remove = func() {
		once.Do(func() {
			if tn.h != nil {
				tn.h.Close()
				tn.h = nil // a closed handle would silently read the caller's namespace
			}
			n.Close()
			if err := unix.Unmount(n.Path(), unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
				t.Errorf("unmount %s: %v", n.Path(), err)
			}
			if err := os.Remove(n.Path()); err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("remove %s: %v", n.Path(), err)
			}
		})
	}
	t.Cleanup(tn.remove)
	err = n.Do(func(ns.NetNS) error {
		var err error
		if tn.h, err = netlink.NewHandle(unix.NETLINK_ROUTE); err != nil {
			return err
		}
		lo, err := tn.h.LinkByName("lo")
		if err != nil {
			return err
		}
		return tn.h.LinkSetUp(lo)
	})
	if err != nil {
		t.Fatalf("set up netns %s: %v", n.Path(), err)
	}
	return tn
}

// newHost makes the namespace that plays the host: a dummy link node0
// carrying the node's address.
func newHost(t *testing.T) *testNS {
	t.Helper()
	host := newNS(t)
	var dummy netlink.Link = &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: "node0"}}
	err := host.h.LinkAdd(dummy)
	if errors.Is(err, unix.EOPNOTSUPP) {
		// A kernel without the dummy driver: a veth pair whose other end
		// stays in the host plays the node's link.
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "node0"}, PeerName: "node0p"}
		if err = host.h.LinkAdd(veth); err == nil {
			err = host.h.LinkSetUp(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "node0p"}})
		}
		dummy = veth
	}
	if err != nil {
		t.Fatalf("add node0: %v", err)
	}
	addr := &netlink.Addr{IPNet: &net.IPNet{IP: nodeIP.AsSlice(), Mask: net.CIDRMask(24, 32)}}
	if err := host.h.AddrAdd(dummy, addr); err != nil {
		t.Fatalf("add %s to node0: %v", addr, err)
	}
	if err := host.h.LinkSetUp(dummy); err != nil {
		t.Fatalf("set node0 up: %v", err)
	}
	return host
}

// addForeign adds a link named name that is not a veth (a bridge: the
// dummy driver may be missing).
func addForeign(t *testing.T, n *testNS, name string) {
	t.Helper()
	if err := n.h.LinkAdd(&netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}); err != nil {
		t.Fatalf("add bridge %s: %v", name, err)
	}
}

// newLinux is a dataplane whose host is host, closed by t.Cleanup.
func newLinux(t *testing.T, host *testNS) *dataplane.Linux {
	t.Helper()
	l, err := dataplane.New(dataplane.Options{HostNS: host.Path()})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// podFor is a Pod in pod's namespace with the address 198.18.<n/250+1>.<n%250+1>.
func podFor(pod *testNS, n, table int) dataplane.Pod {
	ip := netip.AddrFrom4([4]byte{198, 18, byte(n/250 + 1), byte(n%250 + 1)})
	return dataplane.Pod{
		NetNS:      pod.Path(),
		IfName:     "eth0",
		HostIfName: dataplane.HostIfName("eni", "default", fmt.Sprintf("pod-%d", n), "", "eth0"),
		IP:         ip,
		MTU:        9001,
		RouteTable: table,
	}
}

// state is what a namespace holds, as sorted lines: links, IPv4
// addresses, IPv4 routes of every table, IPv4 rules and permanent IPv4
// neighbours.
type state map[string][]string

func snapshot(t *testing.T, n *testNS) state {
	t.Helper()
	if n.h == nil {
		t.Fatalf("snapshot of removed namespace %s", n.Path())
	}
	links, err := n.h.LinkList()
	if err != nil {
		t.Fatalf("list links: %v", err)
	}
	names := map[int]string{}
	s := state{}
	for _, l := range links {
		a := l.Attrs()
		names[a.Index] = a.Name
		up := "down"
		if a.Flags&net.FlagUp != 0 {
			up = "up"
		}
		s["link"] = append(s["link"], fmt.Sprintf("%s %s %s mtu %d", a.Name, l.Type(), up, a.MTU))
		addrs, err := n.h.AddrList(l, netlink.FAMILY_V4)
		if err != nil {
			t.Fatalf("list addresses: %v", err)
		}
		for _, ad := range addrs {
			s["addr"] = append(s["addr"], fmt.Sprintf("%s %s", a.Name, ad.IPNet))
		}
		neighs, err := n.h.NeighList(a.Index, netlink.FAMILY_V4)
		if err != nil {
			t.Fatalf("list neighbours: %v", err)
		}
		for _, ne := range neighs {
			if ne.State&netlink.NUD_PERMANENT != 0 {
				s["neigh"] = append(s["neigh"], fmt.Sprintf("%s dev %s lladdr %s permanent", ne.IP, a.Name, ne.HardwareAddr))
			}
		}
	}
	routes, err := n.h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Table: unix.RT_TABLE_UNSPEC}, netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatalf("list routes: %v", err)
	}
	for _, r := range routes {
		s["route"] = append(s["route"], routeLine(r, names))
	}
	rules, err := n.h.RuleList(netlink.FAMILY_V4)
	if err != nil {
		t.Fatalf("list rules: %v", err)
	}
	for _, r := range rules {
		s["rule"] = append(s["rule"], ruleLine(r))
	}
	for _, v := range s {
		sort.Strings(v)
	}
	return s
}

func routeLine(r netlink.Route, names map[int]string) string {
	kind := map[int]string{unix.RTN_UNICAST: "", unix.RTN_LOCAL: "local ", unix.RTN_BROADCAST: "broadcast "}[r.Type]
	dst := "default"
	if r.Dst != nil && !(r.Dst.IP.IsUnspecified() && strings.HasSuffix(r.Dst.String(), "/0")) {
		dst = r.Dst.String()
	}
	via := ""
	if r.Gw != nil {
		via = " via " + r.Gw.String()
	}
	return fmt.Sprintf("%s%s%s dev %s scope %s table %d", kind, dst, via, names[r.LinkIndex], r.Scope, r.Table)
}

func ruleLine(r netlink.Rule) string {
	line := fmt.Sprintf("%d:", r.Priority)
	if r.Src != nil {
		line += " from " + r.Src.String()
	}
	if r.Dst != nil {
		line += " to " + r.Dst.String()
	}
	return fmt.Sprintf("%s lookup %d", line, r.Table)
}

// diff is what after adds to before and what it lost, per kind.
func diff(before, after state) (added, lost state) {
	added, lost = state{}, state{}
	for _, k := range []string{"link", "addr", "route", "rule", "neigh"} {
		for _, line := range after[k] {
			if !slices.Contains(before[k], line) {
				added[k] = append(added[k], line)
			}
		}
		for _, line := range before[k] {
			if !slices.Contains(after[k], line) {
				lost[k] = append(lost[k], line)
			}
		}
	}
	return added, lost
}

// wantChange fails t unless n changed from before by exactly want.
func wantChange(t *testing.T, what string, n *testNS, before, want state) {
	t.Helper()
	added, lost := diff(before, snapshot(t, n))
	for _, k := range []string{"link", "addr", "route", "rule", "neigh"} {
		sort.Strings(want[k])
		if !slices.Equal(added[k], want[k]) {
			t.Errorf("%s: %ss added = %q, want %q", what, k, added[k], want[k])
		}
		if len(lost[k]) != 0 {
			t.Errorf("%s: %ss lost = %q, want none", what, k, lost[k])
		}
	}
}

// hostWants is what Setup adds to the host for p.
func hostWants(p dataplane.Pod) state {
	s := state{
		"link":  {fmt.Sprintf("%s veth up mtu %d", p.HostIfName, p.MTU)},
		"route": {fmt.Sprintf("%s/32 dev %s scope link table 254", p.IP, p.HostIfName)},
		"rule":  {fmt.Sprintf("512: to %s/32 lookup 254", p.IP)},
	}
	if dataplane.Secondary(p.RouteTable) {
		s["rule"] = append(s["rule"], fmt.Sprintf("1536: from %s/32 lookup %d", p.IP, p.RouteTable))
	}
	return s
}

// podWants is what Setup adds to the pod's namespace for p.
func podWants(p dataplane.Pod, hostMAC string) state {
	return state{
		"link": {fmt.Sprintf("%s veth up mtu %d", p.IfName, p.MTU)},
		"addr": {fmt.Sprintf("%s %s/32", p.IfName, p.IP)},
		"route": {
			fmt.Sprintf("169.254.1.1/32 dev %s scope link table 254", p.IfName),
			fmt.Sprintf("default via 169.254.1.1 dev %s scope universe table 254", p.IfName),
			fmt.Sprintf("local %s/32 dev %s scope host table 255", p.IP, p.IfName),
		},
		"neigh": {fmt.Sprintf("169.254.1.1 dev %s lladdr %s permanent", p.IfName, hostMAC)},
	}
}

// talk opens a TCP connection from inside from to a listener on to's addr
// and exchanges a line both ways; the deadlines only bound a broken test.
func talk(t *testing.T, from, to *testNS, addr netip.Addr) {
	t.Helper()
	var ln net.Listener
	err := to.Do(func(ns.NetNS) error {
		var err error
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(addr, 0).String())
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s: %v", addr, err)
	}
	defer ln.Close()
	served := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		buf := make([]byte, 5)
		if _, err := c.Read(buf); err != nil {
			served <- err
			return
		}
		_, err = c.Write(buf)
		served <- err
	}()
	err = from.Do(func(ns.NetNS) error {
		c, err := net.DialTimeout("tcp4", ln.Addr().String(), 30*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := c.Write([]byte("hello")); err != nil {
			return err
		}
		buf := make([]byte, 5)
		if _, err := c.Read(buf); err != nil || string(buf) != "hello" {
			return fmt.Errorf("echo %q: %v", buf, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("TCP to %s: %v", ln.Addr(), err)
	}
	if err := <-served; err != nil {
		t.Fatalf("serve on %s: %v", ln.Addr(), err)
	}
}
