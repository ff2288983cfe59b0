package daemon_test

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/daemon"
	hostfake "github.com/vpc-cni/vpc-cni/ipamd/hostnet/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
)

// TestVPCCIDRAdded: a CIDR block associated to the VPC while ipamd runs
// reaches SNAT (retried when the host fails at first), the ADD results
// and introspection, at the next reconciliation with the cloud.
func TestVPCCIDRAdded(t *testing.T) {
	t.Parallel()
	c := startCloud(t, world{}, nil)
	n := newNode(t, c, nil)
	n.tune.SyncInterval = 100 * time.Millisecond
	r := n.start()
	r.waitSteady()

	added := netip.MustParsePrefix("198.19.0.0/16")
	want := []netip.Prefix{netip.MustParsePrefix("198.18.0.0/16"), added}
	n.host.SetFault(hostfake.OpSetupSNAT, errors.New("netlink: resource busy"), 2)
	if _, err := c.srv.World().AddVPCCIDR(c.inst.VPCID, added); err != nil {
		t.Fatal(err)
	}
	// ec2sim's metadata shows the block from its next change of the
	// instance's ENIs: a pod makes the pool grow (WARM_ENI_TARGET=1 on a
	// full primary ENI: a new ENI).
	r.add(0)
	eventually(t, "SNAT leaves the new block alone", func() bool {
		s, ok := n.host.SNAT()
		return ok && slices.Equal(s.VPCCIDRs, want)
	})
	if calls := n.host.Calls(hostfake.OpSetupSNAT); calls < 4 {
		t.Errorf("SetupSNAT called %d times, want the startup's, two failures and a success", calls)
	}

	ctx, cancel := callCtx()
	defer cancel()
	resp, err := r.client.AddNetwork(ctx, addReq(1))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.GetVpcCidrs(); !slices.Equal(got, []string{want[0].String(), want[1].String()}) {
		t.Errorf("ADD result's VPC CIDRs = %v, want %v", got, want)
	}
	var v daemon.ConfigView
	r.getJSON(introspect.PathConfig, &v)
	if !slices.Equal(v.Node.VPCCIDRs, want) {
		t.Errorf("introspection's VPC CIDRs = %v, want %v", v.Node.VPCCIDRs, want)
	}
}
