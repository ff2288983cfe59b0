package dataplane_test

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
)

func TestPrivilegedCheckNamesTheMismatch(t *testing.T) {
	requireRoot(t)
	host := newHost(t)
	l := newLinux(t, host)
	gw := net.ParseIP(dataplane.GatewayIP)
	hostNet := func(p dataplane.Pod) *net.IPNet {
		return &net.IPNet{IP: p.IP.AsSlice(), Mask: net.CIDRMask(32, 32)}
	}
	podLink := func(t *testing.T, pod *testNS, p dataplane.Pod) netlink.Link {
		link, err := pod.h.LinkByName(p.IfName)
		if err != nil {
			t.Fatalf("pod interface: %v", err)
		}
		return link
	}
	hostLink := func(t *testing.T, p dataplane.Pod) netlink.Link {
		link, err := host.h.LinkByName(p.HostIfName)
		if err != nil {
			t.Fatalf("host veth: %v", err)
		}
		return link
	}
	for i, tc := range []struct {
		name  string
		table int
		brk   func(t *testing.T, pod *testNS, p dataplane.Pod) error
		want  string // with {ip}, {veth}, {netns} of the pod
	}{
		{"pod address", 3, func(t *testing.T, pod *testNS, p dataplane.Pod) error {
			return pod.h.AddrDel(podLink(t, pod, p), &netlink.Addr{IPNet: hostNet(p)})
		}, "pod address {ip}/32 on eth0 is missing"},
		{"pod link route", 3, func(t *testing.T, pod *testNS, p dataplane.Pod) error {
			return pod.h.RouteDel(&netlink.Route{LinkIndex: podLink(t, pod, p).Attrs().Index,
				Dst: &net.IPNet{IP: gw, Mask: net.CIDRMask(32, 32)}, Scope: netlink.SCOPE_LINK})
		}, "pod route 169.254.1.1 dev eth0 scope link is missing"},
		{"pod default route", 3, func(t *testing.T, pod *testNS, p dataplane.Pod) error {
			return pod.h.RouteDel(&netlink.Route{LinkIndex: podLink(t, pod, p).Attrs().Index, Gw: gw})
		}, "pod route default via 169.254.1.1 dev eth0 is missing"},
		{"pod neighbour", 3, func(t *testing.T, pod *testNS, p dataplane.Pod) error {
			return pod.h.NeighDel(&netlink.Neigh{LinkIndex: podLink(t, pod, p).Attrs().Index, Family: netlink.FAMILY_V4, IP: gw})
		}, "pod neighbour 169.254.1.1 dev eth0 (permanent, lladdr "},
		{"pod neighbour with another MAC", 3, func(t *testing.T, pod *testNS, p dataplane.Pod) error {
			return pod.h.NeighSet(&netlink.Neigh{LinkIndex: podLink(t, pod, p).Attrs().Index, Family: netlink.FAMILY_V4,
				IP: gw, State: netlink.NUD_PERMANENT, HardwareAddr: net.HardwareAddr{2, 0, 0, 0, 0, 1}})
		}, "pod neighbour 169.254.1.1 dev eth0 has lladdr 02:00:00:00:00:01"},
		{"pod interface down", 3, func(t *testing.T, pod *testNS, p dataplane.Pod) error {
			return pod.h.LinkSetDown(podLink(t, pod, p))
		}, "pod interface eth0 is down"},
		{"host route", 3, func(t *testing.T, pod *testNS, p dataplane.Pod) error {
			return host.h.RouteDel(&netlink.Route{LinkIndex: hostLink(t, p).Attrs().Index, Dst: hostNet(p), Scope: netlink.SCOPE_LINK})
		}, "host route {ip}/32 dev {veth} is missing"},
		{"rule to the pod", 3, func(t *testing.T, pod *testNS, p dataplane.Pod) error {
			r := netlink.NewRule()
			r.Dst, r.Priority, r.Table = hostNet(p), dataplane.PriorityToPod, dataplane.MainTable
			return host.h.RuleDel(r)
		}, "host rule 'to {ip}/32 lookup main' at priority 512 is missing"},
		{"rule from the pod", 3, func(t *testing.T, pod *testNS, p dataplane.Pod) error {
			r := netlink.NewRule()
			r.Src, r.Priority, r.Table = hostNet(p), dataplane.PriorityFromPod, 3
			return host.h.RuleDel(r)
		}, "host rule 'from {ip}/32 lookup 3' at priority 1536 is missing"},
		{"rule from a pod of the main table", 0, func(t *testing.T, pod *testNS, p dataplane.Pod) error {
			r := netlink.NewRule()
			r.Src, r.Priority, r.Table = hostNet(p), dataplane.PriorityFromPod, 7
			return host.h.RuleAdd(r)
		}, "host rule 'from {ip}/32 lookup 7' at priority 1536 should not exist"},
		{"host veth renamed away", 3, func(t *testing.T, pod *testNS, p dataplane.Pod) error {
			link := hostLink(t, p)
			if err := host.h.LinkSetDown(link); err != nil {
				return err
			}
			return host.h.LinkSetName(link, fmt.Sprintf("gone%d", p.IP.As4()[3]))
		}, "host veth {veth} is missing"},
		{"host veth down", 3, func(t *testing.T, pod *testNS, p dataplane.Pod) error {
			return host.h.LinkSetDown(hostLink(t, p))
		}, "host veth {veth} is down"},
		{"host veth deleted (and its peer)", 3, func(t *testing.T, pod *testNS, p dataplane.Pod) error {
			return host.h.LinkDel(hostLink(t, p))
		}, "pod interface eth0 is missing"},
		{"pod namespace gone", 3, func(t *testing.T, pod *testNS, p dataplane.Pod) error {
			pod.remove()
			return nil
		}, "pod network namespace {netns} is gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := newNS(t)
			p := podFor(pod, 20+i, tc.table)
			if _, err := l.Setup(p); err != nil {
				t.Fatalf("Setup: %v", err)
			}
			if err := l.Check(p); err != nil {
				t.Fatalf("Check before breaking: %v", err)
			}
			if err := tc.brk(t, pod, p); err != nil {
				t.Fatalf("break %s: %v", tc.name, err)
			}
			want := strings.NewReplacer("{ip}", p.IP.String(), "{veth}", p.HostIfName, "{netns}", p.NetNS).Replace(tc.want)
			err := l.Check(p)
			if !errors.Is(err, dataplane.ErrMismatch) || !strings.Contains(err.Error(), want) {
				t.Errorf("Check = %v, want ErrMismatch naming %q", err, want)
			}
		})
	}
}

func TestPrivilegedCheckRejectsInvalidPod(t *testing.T) {
	requireRoot(t)
	host, pod := newHost(t), newNS(t)
	l := newLinux(t, host)
	p := podFor(pod, 1, 0)
	p.IfName = ""
	if err := l.Check(p); !errors.Is(err, dataplane.ErrInvalid) {
		t.Errorf("Check without IfName = %v, want ErrInvalid", err)
	}
}
