package daemon_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"sync"
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

// crashAfterWrites is a checkpoint writer that writes the first n
// checkpoints (temp file and rename) and then fails every write, as if
// ipamd had died at that point: nothing more reaches the disk.
func crashAfterWrites(n int) func(path string, data []byte) error {
	var mu sync.Mutex
	return func(path string, data []byte) error {
		mu.Lock()
		defer mu.Unlock()
		if n <= 0 {
			return errors.New("simulated crash: the write never happened")
		}
		n--
		tmp := path + ".test-tmp"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			return err
		}
		return os.Rename(tmp, path)
	}
}

// TestRebuildSurvivesACrash (B4): ipamd dies during the rebuild of a
// corrupt checkpoint, before the write that carries the quarantine, or
// right after it. The next start finds the corrupt checkpoint again and
// rebuilds once more, or finds the quarantine: either way no address a pod
// may still hold is handed out.
func TestRebuildSurvivesACrash(t *testing.T) {
	for _, writes := range []int{0, 1} {
		t.Run(fmt.Sprintf("after %d writes", writes), func(t *testing.T) {
			t.Parallel()
			n, old := crashWithPods(t)
			garbage, err := os.ReadFile(n.cfg.CheckpointPath())
			if err != nil {
				t.Fatal(err)
			}
			n.tune.StartupWait = 200 * time.Millisecond
			n.write = crashAfterWrites(writes)
			r, err := n.tryStart()
			switch {
			case writes == 0 && err == nil:
				t.Fatal("ipamd served a rebuild whose quarantine it could not write")
			case writes == 0 && !strings.Contains(err.Error(), "rebuild the datastore"):
				t.Errorf("the error does not say what failed: %v", err)
			case err == nil:
				_ = r.stop()
			}
			if writes == 0 {
				if kept, err := os.ReadFile(n.cfg.CheckpointPath()); err != nil || !bytes.Equal(kept, garbage) {
					t.Fatalf("after a crash before the quarantine was written the checkpoint is not the corrupt one: %v", err)
				}
			}
			n.write = nil
			r = n.start()
			r.assertQuarantined(old)
			r.waitSteady()
			r.assertMatchesCloud()
		})
	}
}
