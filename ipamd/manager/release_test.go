package manager

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/cloud/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	hostfake "github.com/vpc-cni/vpc-cni/ipamd/hostnet/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// grown is an env whose primary ENI holds n secondary addresses.
func grown(t *testing.T, s *script, n int, mods ...func(*setup)) *env {
	t.Helper()
	e := newEnv(t, append([]func(*setup){func(c *setup) { c.decide = s.decide }}, mods...)...)
	s.push(act(pool.Action{Kind: pool.AssignIPs, ENI: e.primary(), Count: n}))
	e.m.Pass(context.Background())
	if got := len(e.storeBlocks(e.primary())); got != n {
		t.Fatalf("setup: %d blocks, want %d", got, n)
	}
	return e
}

func TestUnassign(t *testing.T) {
	for _, tc := range []struct {
		name      string
		prepare   func(e *env) // before the release
		wantLeft  int          // blocks left in the datastore (and the cloud)
		wantCalls int          // UnassignIPs calls
		wantOut   string
	}{
		{"released", func(*env) {}, 2, 1, "unassign-ips ok"},
		{"EC2 refuses: blocks go back", func(e *env) {
			e.cloud.SetFault(fake.OpUnassignIPs, fake.InjectedError(fake.OpUnassignIPs, "RequestLimitExceeded"), 1)
		}, 3, 1, "unassign-ips throttled"},
		{"in use: skipped", func(e *env) {
			if _, err := e.store.Assign(datastore.Key{ContainerID: "c1", IfName: "eth0"}, datastore.Pod{Name: "p"}); err != nil {
				e.t.Fatal(err)
			}
		}, 3, 0, "unassign-ips skipped"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s script
			e := grown(t, &s, 3, func(c *setup) { c.noClock = true })
			tc.prepare(e)
			// The block an Assign would pick first: release it.
			victim := sortedBlocks(e.storeBlocks(e.primary()))[:1]
			if a, ok := e.store.Get(datastore.Key{ContainerID: "c1", IfName: "eth0"}); ok {
				victim = []netip.Prefix{a.Block}
			}
			s.push(act(pool.Action{Kind: pool.UnassignIPs, ENI: e.primary(), Blocks: victim}))
			e.m.Pass(context.Background())
			if got := len(e.storeBlocks(e.primary())); got != tc.wantLeft {
				t.Errorf("%d blocks in the datastore, want %d", got, tc.wantLeft)
			}
			if got := e.cloud.Calls(fake.OpUnassignIPs); got != tc.wantCalls {
				t.Errorf("%d UnassignIPs calls, want %d", got, tc.wantCalls)
			}
			if got := e.obs.outcomes(); got[len(got)-1] != tc.wantOut {
				t.Errorf("outcomes %v, want last %q", got, tc.wantOut)
			}
			e.checkGroundTruth()
		})
	}
}

// TestDeleteENI retires an empty ENI through the detach delay; refuses
// one in use; puts one back when EC2 refuses the detach (a detach that may
// have taken effect: TestDetachLostAnswer).
func TestDeleteENI(t *testing.T) {
	for _, tc := range []struct {
		name    string
		prepare func(e *env, id string)
		gone    bool
		wantOut string
	}{
		{"deleted after detaching", func(*env, string) {}, true, "delete-eni ok"},
		{"delete throttled, then retried", func(e *env, _ string) {
			e.cloud.SetFault(fake.OpDeleteENI, fake.InjectedError(fake.OpDeleteENI, "RequestLimitExceeded"), 2)
		}, true, "delete-eni ok"},
		{"in use", func(e *env, id string) {
			// Fill the primary so the pod lands on the ENI.
			for i := range 20 {
				key := datastore.Key{ContainerID: "c" + string(rune('a'+i)), IfName: "eth0"}
				a, err := e.store.Assign(key, datastore.Pod{Name: "p"})
				if err != nil {
					e.t.Fatal(err)
				}
				if a.ENI == id {
					return
				}
			}
			e.t.Fatal("no address on the ENI")
		}, false, "delete-eni skipped"},
		{"detach refused", func(e *env, _ string) {
			e.cloud.SetFault(fake.OpDetachENI, fake.InjectedError(fake.OpDetachENI, "IncorrectState"), 1)
		}, false, "delete-eni other"},
		{"host teardown fails", func(e *env, _ string) { e.host.SetFault(hostfake.OpTeardownENI, errors.New("boom"), 0) }, false, "delete-eni other"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s script
			e := newEnv(t, func(c *setup) {
				c.decide = s.decide
				c.cloud.DetachDelay = 10 * time.Second
			})
			s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
			e.m.Pass(context.Background())
			id := e.store.ENIs()[1].ID
			mac := e.store.ENIs()[1].MAC
			tc.prepare(e, id)
			s.push(act(pool.Action{Kind: pool.DeleteENI, ENI: id}))
			e.m.Pass(context.Background())

			_, inCloud := e.cloud.ENI(id)
			_, onHost := e.host.ENI(mac)
			inStore := len(e.storeBlocks(id)) > 0
			if tc.gone == inCloud || tc.gone == onHost || tc.gone == inStore {
				t.Errorf("in cloud %v, on host %v, in datastore %v; want all %v", inCloud, onHost, inStore, !tc.gone)
			}
			if tc.name == "deleted after detaching" && e.cloud.Calls(fake.OpDeleteENI) != 1 {
				t.Errorf("%d DeleteENI calls, want 1 (after the detach completed)", e.cloud.Calls(fake.OpDeleteENI))
			}
			if got := e.obs.outcomes(); got[len(got)-1] != tc.wantOut {
				t.Errorf("outcomes %v, want last %q", got, tc.wantOut)
			}
			if !tc.gone {
				c, _ := e.cloud.ENI(id)
				if c.Attachment == nil || c.Attachment.State != cloud.Attached {
					t.Errorf("attachment %+v, want attached", c.Attachment)
				}
			}
			e.checkGroundTruth()
		})
	}
}

// TestPrimaryENINeverDeleted: a delete of the primary ENI is skipped.
func TestPrimaryENINeverDeleted(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide })
	s.push(act(pool.Action{Kind: pool.DeleteENI, ENI: e.primary()}))
	e.m.Pass(context.Background())
	if !slices.ContainsFunc(e.store.ENIs(), func(s datastore.ENI) bool { return s.Primary }) {
		t.Error("the primary ENI left the datastore")
	}
	if e.cloud.Calls(fake.OpDetachENI) != 0 {
		t.Error("tried to detach the primary ENI")
	}
}
