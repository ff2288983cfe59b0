package lab

import (
	"net/netip"
	"testing"
)

func testLab(nodes, podsPerNode int) ([]Node, []*Pod) {
	var ns []Node
	var ps []*Pod
	for i := 1; i <= nodes; i++ {
		ns = append(ns, Node{Index: i, Name: nodeName(i), PrimaryIP: primaryIP(i), NetNS: "t-node" + string(rune('0'+i))})
		for j := 1; j <= podsPerNode; j++ {
			ps = append(ps, &Pod{
				Name: podName(i, j), Node: i, Index: j, NetNS: podName(i, j),
				IP: netip.AddrFrom4([4]byte{198, 18, byte(i), byte(j)}),
			})
		}
	}
	return ns, ps
}

func TestMatrix(t *testing.T) {
	for _, tc := range []struct {
		nodes, pods int
		snat        bool
		udp         int            // UDP checks
		want        map[string]int // TCP checks by name
	}{
		{2, 4, true, 2, map[string]int{
			CheckPodSelf: 8, CheckPodPodSame: 2 * 4 * 3, CheckPodPodAcross: 2 * 4 * 4,
			CheckNodePod: 8, CheckPodNode: 8, CheckPodInternet + " (SNAT)": 8,
		}},
		{1, 2, false, 1, map[string]int{
			CheckPodSelf: 2, CheckPodPodSame: 2, CheckNodePod: 2, CheckPodNode: 2, CheckPodInternet + " (no SNAT)": 2,
		}},
		{1, 1, true, 0, map[string]int{CheckPodSelf: 1, CheckNodePod: 1, CheckPodNode: 1, CheckPodInternet + " (SNAT)": 1}},
		{3, 0, true, 0, map[string]int{}},
	} {
		nodes, pods := testLab(tc.nodes, tc.pods)
		cs := matrix(nodes, pods, tc.snat)
		got := map[string]int{}
		udp := 0
		for _, c := range cs {
			if c.Proto == protoUDP {
				udp++
				if (tc.nodes > 1) != (c.Name == CheckPodPodAcross) {
					t.Errorf("%d×%d: UDP sample %v: want it across nodes when there are several", tc.nodes, tc.pods, c)
				}
				continue
			}
			got[c.Name]++
		}
		if udp != tc.udp {
			t.Errorf("%d×%d: %d UDP checks, want %d", tc.nodes, tc.pods, udp, tc.udp)
		}
		if len(got) != len(tc.want) {
			t.Errorf("%d×%d: checks %v, want %v", tc.nodes, tc.pods, got, tc.want)
		}
		for name, n := range tc.want {
			if got[name] != n {
				t.Errorf("%d×%d: %d %q checks, want %d", tc.nodes, tc.pods, got[name], name, n)
			}
		}
	}
}

// Who must be seen: the sender's pod address between pods and from pod to
// node; the node's primary address from node to pod; to the internet the
// node's primary with SNAT, else the pod's.
func TestMatrixWantSeen(t *testing.T) {
	nodes, pods := testLab(2, 2)
	for _, snat := range []bool{true, false} {
		for _, c := range matrix(nodes, pods, snat) {
			var from netip.Addr
			var node Node
			for _, p := range pods {
				if p.Name == c.From {
					from, node = p.IP, nodes[p.Node-1]
				}
			}
			want := from
			switch {
			case c.Name == CheckNodePod:
				want = nodes[0].PrimaryIP
				if c.From == nodes[1].Name {
					want = nodes[1].PrimaryIP
				}
			case c.Target.Addr() == internetHost && snat:
				want = node.PrimaryIP
			}
			if c.WantSeen != want || c.Target.Port() != echoPort || c.FromNS == "" {
				t.Errorf("snat %v: %+v: want seen %s, port %d, a namespace", snat, c, want, echoPort)
			}
		}
	}
}

func TestSNATToInternet(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		snat bool
	}{
		{nil, true},
		{map[string]string{"AWS_VPC_K8S_CNI_EXTERNALSNAT": "true"}, false},
		{map[string]string{"AWS_VPC_K8S_CNI_EXTERNALSNAT": "false"}, true},
		{map[string]string{"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS": "203.0.113.0/24"}, false},
		{map[string]string{"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS": "10.0.0.0/8,203.0.113.10/32"}, false},
		{map[string]string{"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS": "10.0.0.0/8"}, true},
	} {
		c := DefaultConfig()
		c.IpamdEnv = tc.env
		if got := c.snatToInternet(); got != tc.snat {
			t.Errorf("%v: SNAT to the internet %v, want %v", tc.env, got, tc.snat)
		}
	}
}
