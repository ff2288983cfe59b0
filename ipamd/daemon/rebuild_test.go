package daemon_test

import (
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
	hostfake "github.com/vpc-cni/vpc-cni/ipamd/hostnet/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
)

// nodeAddrs are the pod addresses (secondary addresses and those of
// prefixes) of the instance's ENIs in ec2sim now.
func (c *cloudEnv) nodeAddrs() map[netip.Addr]bool {
	out := map[netip.Addr]bool{}
	for _, blocks := range c.truthView() {
		for _, p := range blocks {
			for a := p.Addr(); p.Contains(a); a = a.Next() {
				out[a] = true
			}
		}
	}
	return out
}

// addrStates are the state of each address ipamd holds, by introspection.
func addrStates(v introspect.ENIsView) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	for _, e := range v.ENIs {
		for _, b := range e.Blocks {
			for _, a := range b.Addresses {
				out[a.IP] = a.State
			}
		}
	}
	return out
}

// crashWithPods runs ipamd on a c5.4xlarge, gives 6 pods an address, and
// stops it with its checkpoint replaced by garbage. It returns the node and
// every pod address its ENIs had.
func crashWithPods(t *testing.T) (*node, map[netip.Addr]bool) {
	t.Helper()
	c := startCloud(t, world{instType: "c5.4xlarge"}, nil)
	n := newNode(t, c, nil)
	r := n.start()
	r.waitSteady()
	for i := range 6 {
		r.add(i)
	}
	r.waitSteady()
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(n.cfg.CheckpointPath(), []byte("\x00\x17 not a checkpoint"), 0o600); err != nil {
		t.Fatal(err)
	}
	return n, c.nodeAddrs()
}

// assertQuarantined checks that none of old is handed out: each that ipamd
// holds is cooling, and new pods get other addresses.
func (r *running) assertQuarantined(old map[netip.Addr]bool) {
	r.t.Helper()
	for ip, st := range addrStates(r.enis()) {
		if old[ip] && st != introspect.StateCooling {
			r.t.Errorf("address %s, which a pod may still hold, is %s, want cooling (quarantined)", ip, st)
		}
	}
	for i := 100; i < 120; i++ {
		var ip netip.Addr
		eventually(r.t, "a new pod gets an address", func() bool {
			var err error
			ip, err = r.tryAdd(i)
			return err == nil
		})
		if old[ip] {
			r.t.Fatalf("address %s, which a pod may still hold, handed out again to container %d", ip, i)
		}
	}
}

// TestRebuildQuarantineOutlivesAFailedSync (B3): after a corrupt
// checkpoint, the startup reconciliation fails (EC2 unreachable, or an
// ENI that cannot be set up on the host), so the rebuilt datastore lacks
// ENIs a later reconciliation adopts: their addresses are quarantined
// all the same, and new pods get addresses the pool grows.
func TestRebuildQuarantineOutlivesAFailedSync(t *testing.T) {
	tests := []struct {
		name  string
		fail  func(n *node)
		clear func(n *node)
	}{
		{"EC2 unreachable", func(n *node) {
			n.cloud.srv.Knobs().AddFault(sim.Fault{Action: "*", Code: "Unavailable", Probability: 1})
		}, func(n *node) { n.cloud.srv.Knobs().ClearFaults() }},
		{"an ENI not adopted", func(n *node) {
			n.host.SetFault(hostfake.OpSetupENI, errors.New("netlink: device or resource busy"), 0)
		}, func(n *node) { n.host.ClearFaults() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			n, old := crashWithPods(t)
			oldENIs := n.cloud.truthView()
			n.tune.StartupWait = 100 * time.Millisecond
			n.tune.SyncInterval = 100 * time.Millisecond
			tt.fail(n)
			r := n.start()
			if got := ipamdView(r.enis()); len(got) == len(oldENIs) {
				t.Fatalf("the startup reconciliation adopted every ENI (%v): the test needs it to fail", got)
			}
			tt.clear(n)
			eventually(t, "the ENIs are adopted", func() bool {
				got := ipamdView(r.enis())
				for id := range oldENIs {
					if _, ok := got[id]; !ok {
						return false
					}
				}
				return true
			})
			r.assertQuarantined(old)
			r.waitSteady()
			r.assertMatchesCloud()
			for ip, st := range addrStates(r.enis()) {
				if !old[ip] && st == introspect.StateCooling {
					t.Errorf("address %s, which the pool grew after the crash, is quarantined", ip)
				}
			}
		})
	}
}
