package hostnet

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Traffic tests: a node, a pod on its secondary ENI, and a fabric that
// stands for the VPC and the internet, each a namespace of the test's own,
// wired the way the lab wires them. The fabric enforces EC2's
// source/destination check, so a packet leaving by the wrong ENI is
// dropped as it would be on EC2.
//
//	pod eth0 198.18.1.50/32 ── eniabc [node] eth0 198.18.0.10/24 ── f0 198.18.0.1/24 [fabric]
//	                                         eth1 198.18.1.20/24 ── f1 198.18.1.1/24  lo 203.0.113.10/32

const (
	podIP      = "198.18.1.50"
	internetIP = "203.0.113.10"
	fabricIP   = "198.18.0.1"
	ioDeadline = 20 * time.Second // generous: the machine is shared
)

type trafficLab struct {
	node   *testNode
	fabric ns.NetNS
	pod    ns.NetNS
}

func newTrafficLab(t *testing.T) *trafficLab {
	t.Helper()
	nd := newTestNode(t)
	nd.dumpOnFailure(t)
	fabric, _ := newNetNS(t)
	pod, _ := newNetNS(t)
	lab := &trafficLab{node: nd, fabric: fabric, pod: pod}
	fab := nsHandle(t, fabric)
	podNL := nsHandle(t, pod)

	eth0 := lab.veth(t, "eth0", primaryMAC, fabric, "f0")
	eth1 := lab.veth(t, "eth1", eni1MAC, fabric, "f1")
	must(t, nd.nl.AddrAdd(eth0, mustAddr(t, "198.18.0.10/24")))
	must(t, nd.nl.LinkSetUp(eth0))
	must(t, nd.nl.RouteAdd(&netlink.Route{Dst: ipNet(pfx("0.0.0.0/0")), Gw: net.ParseIP(fabricIP), LinkIndex: eth0.Attrs().Index}))
	nd.writeSysctl(t, "net/ipv4/ip_forward", "1")
	nd.writeSysctl(t, "net/ipv4/conf/all/rp_filter", "1") // strict, as many distributions set it

	// The fabric: gateways of both subnets, the internet host, the pod's
	// address routed to its ENI, and the source/destination check.
	f0, f1 := linkUp(t, fab, "f0"), linkUp(t, fab, "f1")
	must(t, fab.AddrAdd(f0, mustAddr(t, fabricIP+"/24")))
	must(t, fab.AddrAdd(f1, mustAddr(t, "198.18.1.1/24")))
	must(t, fab.AddrAdd(linkUp(t, fab, "lo"), mustAddr(t, internetIP+"/32")))
	must(t, fab.NeighAdd(&netlink.Neigh{LinkIndex: f1.Attrs().Index, State: netlink.NUD_PERMANENT,
		IP: net.ParseIP(podIP), HardwareAddr: eth1.Attrs().HardwareAddr, Family: netlink.FAMILY_V4}))
	sourceDestCheck(t, fabric, map[string][]string{"f0": {"198.18.0.10"}, "f1": {"198.18.1.20", podIP}})

	lab.wirePod(t, podNL)
	must(t, nd.host.SetupENI(context.Background(), eni1()))
	return lab
}

// wirePod does what the plugin does for a pod on the secondary ENI: the
// veth, the pod's address and routes, the host route and the two rules.
func (l *trafficLab) wirePod(t *testing.T, podNL *netlink.Handle) {
	t.Helper()
	nd, pod := l.node, l.pod
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "eniabc"}, PeerName: "eth0",
		PeerNamespace: netlink.NsFd(int(pod.Fd()))}
	must(t, nd.nl.LinkAdd(veth))
	host := linkUp(t, nd.nl, "eniabc")
	podEth := linkUp(t, podNL, "eth0")
	linkUp(t, podNL, "lo")
	must(t, podNL.AddrAdd(podEth, mustAddr(t, podIP+"/32")))
	must(t, podNL.RouteAdd(&netlink.Route{Dst: ipNet(pfx("169.254.1.1/32")), Scope: netlink.SCOPE_LINK, LinkIndex: podEth.Attrs().Index}))
	must(t, podNL.RouteAdd(&netlink.Route{Dst: ipNet(pfx("0.0.0.0/0")), Gw: net.ParseIP("169.254.1.1"), LinkIndex: podEth.Attrs().Index}))
	must(t, podNL.NeighAdd(&netlink.Neigh{LinkIndex: podEth.Attrs().Index, State: netlink.NUD_PERMANENT,
		IP: net.ParseIP("169.254.1.1"), HardwareAddr: host.Attrs().HardwareAddr, Family: netlink.FAMILY_V4}))
	must(t, nd.nl.RouteAdd(&netlink.Route{Dst: ipNet(pfx(podIP + "/32")), Scope: netlink.SCOPE_LINK, LinkIndex: host.Attrs().Index}))
	toPod, fromPod := netlink.NewRule(), netlink.NewRule()
	toPod.Priority, toPod.Dst, toPod.Table = PriorityToPod, ipNet(pfx(podIP+"/32")), unix.RT_TABLE_MAIN
	fromPod.Priority, fromPod.Src, fromPod.Table = PriorityFromPod, ipNet(pfx(podIP+"/32")), eni1().RouteTable
	must(t, nd.nl.RuleAdd(toPod))
	must(t, nd.nl.RuleAdd(fromPod))
}

// veth creates a node link with mac whose peer (up) is in other.
func (l *trafficLab) veth(t *testing.T, name, mac string, other ns.NetNS, peer string) netlink.Link {
	t.Helper()
	hw, _ := net.ParseMAC(mac)
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name, HardwareAddr: hw}, PeerName: peer,
		PeerNamespace: netlink.NsFd(int(other.Fd()))}
	must(t, l.node.nl.LinkAdd(v))
	link, err := l.node.nl.LinkByName(name)
	must(t, err)
	return link
}

func linkUp(t *testing.T, h *netlink.Handle, name string) netlink.Link {
	t.Helper()
	l, err := h.LinkByName(name)
	must(t, err)
	must(t, h.LinkSetUp(l))
	return l
}

func mustAddr(t *testing.T, cidr string) *netlink.Addr {
	t.Helper()
	a, err := netlink.ParseAddr(cidr)
	must(t, err)
	return a
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// sourceDestCheck drops, in the fabric, packets entering from a node link
// with a source address that link's ENI does not own.
func sourceDestCheck(t *testing.T, fabric ns.NetNS, owns map[string][]string) {
	t.Helper()
	c, err := nftables.New(nftables.WithNetNSFd(int(fabric.Fd())))
	must(t, err)
	tb := c.AddTable(&nftables.Table{Name: "ec2-check", Family: nftables.TableFamilyIPv4})
	ch := c.AddChain(&nftables.Chain{Name: "in", Table: tb, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRaw})
	for link, addrs := range owns {
		for _, a := range addrs {
			c.AddRule(&nftables.Rule{Table: tb, Chain: ch, Exprs: concat(ifnameIs(expr.MetaKeyIIFNAME, link),
				[]expr.Any{
					&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: ipv4SaddrOffset, Len: 4},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ipv4Bytes(addr(a))},
					&expr.Verdict{Kind: expr.VerdictAccept},
				})})
		}
		c.AddRule(&nftables.Rule{Table: tb, Chain: ch, Exprs: concat(ifnameIs(expr.MetaKeyIIFNAME, link),
			[]expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}})})
	}
	must(t, c.Flush())
}

// serve listens on addr:port inside n and answers each connection with
// the address it came from, until the test ends.
func serve(t *testing.T, n ns.NetNS, hostPort string) {
	t.Helper()
	var ln net.Listener
	must(t, n.Do(func(ns.NetNS) error {
		var err error
		ln, err = net.Listen("tcp4", hostPort)
		return err
	}))
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.SetDeadline(time.Now().Add(ioDeadline))
			_, _ = io.WriteString(c, c.RemoteAddr().(*net.TCPAddr).IP.String())
			_ = c.Close()
		}
	}()
}

// dial connects from inside n and returns what the server answered (the
// source address it saw).
func dial(t *testing.T, n ns.NetNS, hostPort string) string {
	t.Helper()
	var got string
	err := n.Do(func(ns.NetNS) error {
		c, err := net.DialTimeout("tcp4", hostPort, ioDeadline)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(ioDeadline))
		b, err := io.ReadAll(c)
		got = strings.TrimSpace(string(b))
		return err
	})
	if err != nil {
		t.Fatalf("connect to %s: %v", hostPort, err)
	}
	return got
}

func TestPrivilegedTrafficSNAT(t *testing.T) {
	lab := newTrafficLab(t)
	ctx := context.Background()
	s := testSNAT()
	s.Exclude = nil
	must(t, lab.node.host.SetupSNAT(ctx, s))
	serve(t, lab.fabric, internetIP+":8080")
	serve(t, lab.fabric, fabricIP+":8081")

	for _, tc := range []struct {
		name, target, wantSource string
	}{
		{"beyond the VPC: by the primary ENI, SNATed", internetIP + ":8080", "198.18.0.10"},
		{"within the VPC: by the pod's ENI, not SNATed", fabricIP + ":8081", podIP},
	} {
		if got := dial(t, lab.pod, tc.target); got != tc.wantSource {
			t.Errorf("%s: server saw %s, want %s", tc.name, got, tc.wantSource)
		}
	}

	s.Exclude = []netip.Prefix{pfx("203.0.113.0/24")}
	must(t, lab.node.host.SetupSNAT(ctx, s))
	if got := dial(t, lab.pod, internetIP+":8080"); got != podIP {
		t.Errorf("excluded destination: server saw %s, want %s (not SNATed)", got, podIP)
	}
}

func TestPrivilegedTrafficNodePortReply(t *testing.T) {
	lab := newTrafficLab(t)
	must(t, lab.node.host.SetupSNAT(context.Background(), testSNAT()))
	kubeProxyDNAT(t, lab.node, 30080, podIP, 8080)
	serve(t, lab.pod, podIP+":8080")
	// The reply must leave by the primary ENI: by the pod's ENI its source
	// (un-DNATed to the node's address) fails the fabric's check.
	if got := dial(t, lab.fabric, "198.18.0.10:30080"); got != fabricIP {
		t.Errorf("pod saw the client as %s, want %s", got, fabricIP)
	}
}

// kubeProxyDNAT stands for kube-proxy's NodePort rule in a table of its own:
// tcp dport port dnat to podIP:podPort.
func kubeProxyDNAT(t *testing.T, nd *testNode, port uint16, podAddr string, podPort uint16) {
	t.Helper()
	c := nd.nft(t)
	tb := c.AddTable(&nftables.Table{Name: "kube-proxy-test", Family: nftables.TableFamilyIPv4})
	ch := c.AddChain(&nftables.Chain{Name: "nodeports", Table: tb, Type: nftables.ChainTypeNAT,
		Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest})
	c.AddRule(&nftables.Rule{Table: tb, Chain: ch, Exprs: []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_TCP}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(port)},
		&expr.Immediate{Register: 1, Data: ipv4Bytes(addr(podAddr))},
		&expr.Immediate{Register: 2, Data: binaryutil.BigEndian.PutUint16(podPort)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, RegProtoMin: 2},
	}})
	if err := c.Flush(); err != nil {
		t.Fatal(fmt.Errorf("kube-proxy stand-in: %w", err))
	}
}
