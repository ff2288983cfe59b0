package echo

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/vpc-cni/vpc-cni/internal/testns"
)

// Two namespaces joined by a veth: the client's side and the server's,
// which has two addresses so that a wildcard server must tell them apart.
var (
	clientIP  = netip.MustParseAddr("198.18.200.1")
	serverIP  = netip.MustParseAddr("198.18.200.2")
	serverIP2 = netip.MustParseAddr("198.18.200.3")
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates network namespaces and a veth (run as root, e.g. in .ci/run)")
	}
}

// veth joins a and b with a link "c0" in a carrying aIPs and "s0" in b
// carrying bIPs, all /24 and up. The namespaces' removal removes it.
func veth(t *testing.T, a, b ns.NetNS, aIPs, bIPs []netip.Addr) {
	t.Helper()
	err := a.Do(func(ns.NetNS) error {
		l := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "c0"}, PeerName: "s0", PeerNamespace: netlink.NsFd(int(b.Fd()))}
		if err := netlink.LinkAdd(l); err != nil {
			return err
		}
		return linkUp("c0", aIPs)
	})
	if err != nil {
		t.Fatalf("veth in %s: %v", a.Path(), err)
	}
	if err := b.Do(func(ns.NetNS) error { return linkUp("s0", bIPs) }); err != nil {
		t.Fatalf("veth peer in %s: %v", b.Path(), err)
	}
}

func linkUp(name string, ips []netip.Addr) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	for _, ip := range ips {
		a := &netlink.Addr{IPNet: &net.IPNet{IP: ip.AsSlice(), Mask: net.CIDRMask(24, 32)}}
		if err := netlink.AddrAdd(l, a); err != nil {
			return err
		}
	}
	return netlink.LinkSetUp(l)
}

// listenIn makes a server whose sockets live in n and serves it until the
// test ends.
func listenIn(t *testing.T, n ns.NetNS, addr, name string) *Server {
	t.Helper()
	var s *Server
	err := n.Do(func(ns.NetNS) error {
		var err error
		s, err = Listen(addr, name)
		return err
	})
	if err != nil {
		t.Fatalf("listen %s in %s: %v", addr, n.Path(), err)
	}
	serveUntilCleanup(t, s)
	return s
}

func TestPrivilegedProbeAcrossNetns(t *testing.T) {
	requireRoot(t)
	client, server := testns.New(t), testns.New(t)
	veth(t, client, server, []netip.Addr{clientIP}, []netip.Addr{serverIP, serverIP2})
	listenIn(t, server, "0.0.0.0:7", "server")
	listenIn(t, server, serverIP2.String()+":8", "bound")

	for _, tc := range []struct {
		target netip.AddrPort
		host   string
	}{
		{netip.AddrPortFrom(serverIP, 7), "server"},
		{netip.AddrPortFrom(serverIP2, 7), "server"}, // wildcard: me and the reply's source follow the target
		{netip.AddrPortFrom(serverIP2, 8), "bound"},
	} {
		for _, proto := range []string{"tcp", "udp"} {
			t.Run(proto+" "+tc.target.String(), func(t *testing.T) {
				got, err := Probe(probeCtx(t), client.Path(), tc.target, proto)
				if err != nil {
					t.Fatalf("Probe: %v", err)
				}
				want := Reply{Seen: clientIP, Me: tc.target.Addr(), Host: tc.host}
				if got != want {
					t.Errorf("Probe = %+v, want %+v", got, want)
				}
			})
		}
	}
}

func TestPrivilegedProbeErrorsNameNetns(t *testing.T) {
	requireRoot(t)
	client, server := testns.New(t), testns.New(t)
	veth(t, client, server, []netip.Addr{clientIP}, []netip.Addr{serverIP})
	target := netip.AddrPortFrom(serverIP, 9) // nothing listens
	for _, proto := range []string{"tcp", "udp"} {
		_, err := Probe(probeCtx(t), client.Path(), target, proto)
		if !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("%s probe of a closed port = %v, want ECONNREFUSED", proto, err)
			continue
		}
		for _, want := range []string{target.String(), "netns " + client.Path()} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("%s error %q does not name %q", proto, err, want)
			}
		}
	}
}
