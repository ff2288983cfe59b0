package lab

import (
	"context"
	"net/netip"
	"slices"

	"github.com/vpc-cni/vpc-cni/test/lab/echo"
)

// Names of the checks of the standard matrix.
const (
	CheckPodPodSame    = "pod→pod same node"
	CheckPodPodAcross  = "pod→pod across nodes"
	CheckPodSelf       = "pod→itself"
	CheckNodePod       = "node→pod"
	CheckPodNode       = "pod→node"
	CheckPodInternet   = "pod→internet"
	internetName       = "internet"
	checkWorkers       = 8
	protoTCP, protoUDP = "tcp", "udp"
)

// Checks runs the standard connectivity matrix and returns every check
// with its outcome (echo.Check's Pass and Problem): every pod to every
// other pod over TCP, the receiver seeing the sender's pod address; a UDP
// sample (each node's first pod to the next node's first pod); each pod to
// itself; each node to each of its pods (seen: the node's primary
// address) and each pod to its node (seen: the pod's address); each pod
// to the internet host, seen as the node's primary address (SNAT) unless
// AWS_VPC_K8S_CNI_EXTERNALSNAT=true or AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS
// covers the internet host: then as the pod's address.
func (l *Lab) Checks(ctx context.Context) []echo.Check {
	cs := l.checkMatrix()
	echo.RunAll(ctx, cs, checkWorkers, nil)
	return cs
}

// checkMatrix builds the standard checks, not yet run.
func (l *Lab) checkMatrix() []echo.Check {
	return matrix(l.nodes, l.Pods(), l.cfg.snatToInternet())
}

// snatToInternet says whether pod traffic to the internet host is SNATed
// to the node's primary address.
func (c Config) snatToInternet() bool {
	ic, err := c.ipamdConfig()
	switch {
	case err != nil:
		return true // Validate refuses such a Config; ipamd would not start
	case ic.ExternalSNAT:
		return false
	}
	return !slices.ContainsFunc(ic.ExcludeSNATCIDRs, func(p netip.Prefix) bool { return p.Contains(internetHost) })
}

// matrix is the standard checks over the nodes and pods (pure).
func matrix(nodes []Node, pods []*Pod, snat bool) []echo.Check {
	var cs []echo.Check
	target := func(a netip.Addr) netip.AddrPort { return netip.AddrPortFrom(a, echoPort) }
	add := func(name string, from *Pod, to string, at netip.Addr, proto string) {
		cs = append(cs, echo.Check{
			Name: name, From: from.Name, To: to, FromNS: from.NetNSPath(),
			Target: target(at), Proto: proto, WantSeen: from.IP,
		})
	}
	for _, a := range pods {
		for _, b := range pods {
			switch {
			case a == b:
				add(CheckPodSelf, a, b.Name, b.IP, protoTCP)
			case a.Node == b.Node:
				add(CheckPodPodSame, a, b.Name, b.IP, protoTCP)
			default:
				add(CheckPodPodAcross, a, b.Name, b.IP, protoTCP)
			}
		}
	}
	cs = append(cs, udpSample(nodes, pods)...)
	for _, n := range nodes {
		for _, p := range pods {
			if p.Node != n.Index {
				continue
			}
			cs = append(cs, echo.Check{
				Name: CheckNodePod, From: n.Name, To: p.Name, FromNS: n.NetNSPath(),
				Target: target(p.IP), Proto: protoTCP, WantSeen: n.PrimaryIP,
			})
			add(CheckPodNode, p, n.Name, n.PrimaryIP, protoTCP)
			c := echo.Check{
				Name: CheckPodInternet + " (no SNAT)", From: p.Name, To: internetName, FromNS: p.NetNSPath(),
				Target: target(internetHost), Proto: protoTCP, WantSeen: p.IP,
			}
			if snat {
				c.Name, c.WantSeen = CheckPodInternet+" (SNAT)", n.PrimaryIP
			}
			cs = append(cs, c)
		}
	}
	return cs
}

// udpSample is one UDP check per node: its first pod to the next node's
// first pod (the only node's second pod when there is one node).
func udpSample(nodes []Node, pods []*Pod) []echo.Check {
	first := map[int]*Pod{}
	for _, p := range pods {
		if first[p.Node] == nil {
			first[p.Node] = p
		}
	}
	var cs []echo.Check
	for k, n := range nodes {
		a := first[n.Index]
		if a == nil {
			continue
		}
		name, b := CheckPodPodAcross, first[nodes[(k+1)%len(nodes)].Index]
		if len(nodes) == 1 || b == nil {
			name, b = CheckPodPodSame, nil
			if i := slices.Index(pods, a); i+1 < len(pods) && pods[i+1].Node == a.Node {
				b = pods[i+1]
			}
		}
		if b == nil || b == a {
			continue
		}
		cs = append(cs, echo.Check{
			Name: name, From: a.Name, To: b.Name, FromNS: a.NetNSPath(),
			Target: netip.AddrPortFrom(b.IP, echoPort), Proto: protoUDP, WantSeen: a.IP,
		})
	}
	return cs
}
