package manager

import (
	"context"
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/cloud/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	hostfake "github.com/vpc-cni/vpc-cni/ipamd/hostnet/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// TestCreateENI: a new ENI is made in the instance's subnet with its
// security groups and addresses, tagged, attached at the lowest free device
// index, deleted on termination, set up on the host and recorded.
func TestCreateENI(t *testing.T) {
	for _, tc := range []struct {
		name   string
		prefix bool
	}{
		{"secondary addresses", false},
		{"prefixes", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s script
			e := newEnv(t, func(c *setup) {
				c.decide = s.decide
				c.opts.ClusterName = "lab"
				c.opts.Tags = map[string]string{"team": "net", TagCreatedBy: "someone-else"}
				c.opts.Pool.PrefixDelegation = tc.prefix
				c.cloud.AttachDelay = 3 * time.Second
			})
			e.addENI(1, 0, map[string]string{TagNoManage: "true"}) // takes index 1: ours goes to 2
			s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
			created := e.clock.Now()
			e.m.Pass(context.Background())

			var got cloud.ENI
			for _, c := range e.cloud.AllENIs() {
				if c.Tags[TagCreatedBy] == CreatedByValue {
					got = c
				}
			}
			if got.ID == "" {
				t.Fatalf("no ENI tagged by vpc-cni in %+v", e.cloud.AllENIs())
			}
			inst := e.cloud.Instance()
			wantTags := map[string]string{
				TagCreatedBy: CreatedByValue, TagInstanceID: inst.ID, TagClusterName: "lab", "team": "net",
			}
			for k, v := range wantTags {
				if got.Tags[k] != v {
					t.Errorf("tag %s = %q, want %q", k, got.Tags[k], v)
				}
			}
			if got.Tags[TagCreateToken] == "" {
				t.Errorf("no %s tag", TagCreateToken)
			}
			at, err := time.Parse(time.RFC3339, got.Tags[TagCreatedAt])
			if err != nil || at.Before(created.Truncate(time.Second)) {
				t.Errorf("created-at %q (%v), want RFC 3339 from %v on", got.Tags[TagCreatedAt], err, created)
			}
			if got.SubnetID != inst.SubnetID || len(got.SecurityGroups) != 1 || got.SecurityGroups[0] != inst.SecurityGroups[0] {
				t.Errorf("subnet %s groups %v, want the instance's", got.SubnetID, got.SecurityGroups)
			}
			if a := got.Attachment; a == nil || a.DeviceIndex != 2 || !a.DeleteOnTermination || a.State != cloud.Attached {
				t.Errorf("attachment %+v, want device index 2, attached, delete on termination", a)
			}
			if n := len(got.SecondaryIPs) + len(got.Prefixes); n != 2 {
				t.Errorf("%d addresses or prefixes, want 2", n)
			}
			if tc.prefix != (len(got.Prefixes) == 2) {
				t.Errorf("prefixes %v in prefix mode %v", got.Prefixes, tc.prefix)
			}
			h, ok := e.host.ENI(got.MAC)
			if !ok || h.MTU != 9001 || h.RouteTable != 3 || h.DeviceIndex != 2 || h.PrimaryIP != got.PrimaryIP ||
				h.SubnetCIDR != fake.DefaultSubnetCIDR {
				t.Errorf("host has %+v (%v)", h, ok)
			}
			e.checkGroundTruth()
			if len(e.storeBlocks(got.ID)) != 2 {
				t.Errorf("datastore blocks %v", e.storeBlocks(got.ID))
			}
		})
	}
}

// TestCreateENIFailureLeavesNoENI: whatever fails after the create, the
// ENI is taken off the host, detached (waiting out the detach) and
// deleted; nothing of it stays in the datastore.
func TestCreateENIFailureLeavesNoENI(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		prepare func(e *env)
	}{
		{"attach", func(e *env) {
			e.cloud.SetFault(fake.OpAttachENI, fake.InjectedError(fake.OpAttachENI, "InternalError"), 1)
		}},
		{"delete on termination", func(e *env) {
			e.cloud.SetFault(fake.OpSetDeleteOnTermination,
				fake.InjectedError(fake.OpSetDeleteOnTermination, "InternalError"), 1)
		}},
		{"metadata never shows it", func(e *env) {
			e.m.opts.IMDSWait = time.Minute
			e.cloud.SetFault(fake.OpMetadataENI, cloud.ErrNotFound, 0)
		}},
		{"host setup", func(e *env) { e.host.SetFault(hostfake.OpSetupENI, boom, 0) }},
		{"host setup and teardown", func(e *env) {
			e.host.SetFault(hostfake.OpSetupENI, boom, 0)
			e.host.SetFault(hostfake.OpTeardownENI, boom, 0)
		}},
		{"datastore refuses", func(e *env) {
			// A stale record at device index 1 that the cloud does not have.
			err := e.store.AddENI(datastore.ENI{
				ID: "eni-0000000000000dead", MAC: "02:00:00:00:de:ad", DeviceIndex: 1,
				SubnetID: e.cloud.Instance().SubnetID, SubnetCIDR: fake.DefaultSubnetCIDR,
				PrimaryIP: netip.MustParseAddr("198.18.15.200"),
			})
			if err != nil {
				e.t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s script
			e := newEnv(t, func(c *setup) {
				c.decide = s.decide
				c.cloud.AttachDelay = 2 * time.Second
				c.cloud.DetachDelay = 5 * time.Second
			})
			tc.prepare(e)
			s.push(act(pool.Action{Kind: pool.CreateENI, Count: 3}))
			e.m.Pass(context.Background())
			if got := e.cloud.Calls(fake.OpCreateENI); got != 1 {
				t.Fatalf("%d CreateENI calls, want 1", got)
			}
			if all := e.cloud.AllENIs(); len(all) != 1 || all[0].ID != e.primary() {
				t.Errorf("cloud has %d ENIs after the failure, want only the primary: %+v", len(all), all)
			}
			for _, s := range e.store.ENIs() {
				if !s.Primary && s.ID != "eni-0000000000000dead" {
					t.Errorf("datastore kept %s", s.ID)
				}
			}
			e.host.ClearFaults()
			if n := len(e.host.ENIs()); n != 0 && tc.name != "host setup and teardown" {
				t.Errorf("host keeps %d ENIs", n)
			}
			if o := e.obs.outcomes(); len(o) != 1 || o[0] == "create-eni ok" {
				t.Errorf("outcomes %v, want one failure", o)
			}
		})
	}
}

// TestCreateENIWaitsForTheLink: a new ENI's link may appear on the host a
// moment after the attach; setup is retried until it does.
func TestCreateENIWaitsForTheLink(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide; c.noClock = true })
	e.host.RequireENILinks(true)
	s.push(act(pool.Action{Kind: pool.CreateENI, Count: 1}))
	done := make(chan struct{})
	go func() { defer close(done); e.m.Pass(context.Background()) }()
	eventually(t, "setup retried", func() bool { return e.host.Calls(hostfake.OpSetupENI) >= 3 })
	var mac string
	for _, c := range e.cloud.AllENIs() {
		if c.Tags[TagCreatedBy] == CreatedByValue {
			mac = c.MAC
		}
	}
	e.host.AddENILink(mac)
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("the pass did not end once the link appeared")
	}
	if _, ok := e.host.ENI(mac); !ok {
		t.Error("the ENI is not set up on the host")
	}
	if len(e.store.ENIs()) != 2 {
		t.Errorf("datastore %+v", e.store.ENIs())
	}
	e.checkGroundTruth()
}
