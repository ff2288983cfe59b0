package e2e

import (
	"fmt"
	"net/netip"
	"testing"
)

// Pod → internet host. By default ipamd SNATs traffic leaving the VPC to
// the node's primary address (the internet host sees the node); with
// AWS_VPC_K8S_CNI_EXTERNALSNAT=true something beyond the node translates
// it (here nothing: the fabric does not NAT, so the host sees the pod);
// AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS exempts a range from SNAT (the
// internet host's 203.0.113.0/24, so again the host sees the pod). In each
// case the pod still reaches the other node's address without NAT.
func TestPrivilegedSNAT(t *testing.T) {
	tests := []struct {
		name    string
		n       int
		env     map[string]string
		wantPod bool // the internet host sees the pod's address, not the node's
	}{
		{"default: SNAT to the node's primary address", 31, nil, false},
		{"AWS_VPC_K8S_CNI_EXTERNALSNAT=true: no SNAT", 32,
			map[string]string{"AWS_VPC_K8S_CNI_EXTERNALSNAT": "true"}, true},
		{"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS=203.0.113.0/24: no SNAT to that range", 33,
			map[string]string{"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS": "203.0.113.0/24"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			timed(t)
			l := startLab(t, tc.n, labSpec{nodes: 1, pods: 1, ipamdEnv: tc.env})
			ctx := testCtx(t)
			pods := l.Pods()
			if len(pods) != 1 {
				t.Fatalf("the lab has %d pods, want 1", len(pods))
			}
			p := pods[0]
			node, err := l.Node(p.Node)
			if err != nil {
				t.Fatal(err)
			}
			want := node.PrimaryIP
			if tc.wantPod {
				want = p.IP
			}
			what := fmt.Sprintf("pod→internet seen as %s", describe(want, p.IP, node.PrimaryIP))
			cs := check(what, podEnd(p), internetEnd(l.prefix), want)
			cs = append(cs, check("pod→node, no SNAT inside the VPC", podEnd(p), nodeEnd(node), p.IP)...)
			runChecks(ctx, t, cs)
		})
	}
}

func describe(a, pod, node netip.Addr) string {
	switch a {
	case pod:
		return "the pod (" + a.String() + ")"
	case node:
		return "the node (" + a.String() + ")"
	}
	return a.String()
}
