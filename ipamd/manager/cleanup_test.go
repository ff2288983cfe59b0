package manager

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/cloud/fake"
)

// TestCleanupLeaked deletes old, detached ENIs tagged by vpc-cni for this
// cluster, and spares young ones, attached ones and anybody else's.
func TestCleanupLeaked(t *testing.T) {
	old := epoch.Add(-10 * time.Minute).Format(time.RFC3339)
	young := epoch.Add(-2 * time.Minute).Format(time.RFC3339)
	ours := func(createdAt string) map[string]string {
		return map[string]string{TagCreatedBy: CreatedByValue, TagClusterName: "lab", TagCreatedAt: createdAt}
	}
	cases := []struct {
		name    string
		tags    map[string]string
		attach  bool
		deleted bool
	}{
		{"old and detached", ours(old), false, true},
		{"young", ours(young), false, false},
		{"attached", ours(old), true, false},
		{"another cluster's", map[string]string{TagCreatedBy: CreatedByValue, TagClusterName: "prod", TagCreatedAt: old}, false, false},
		{"not ours", map[string]string{"owner": "someone", TagCreatedAt: old}, false, false},
		{"no creation time", map[string]string{TagCreatedBy: CreatedByValue, TagClusterName: "lab"}, false, false},
		{"garbled creation time", ours("yesterday"), false, false},
	}
	e := newEnv(t, func(c *setup) { c.noClock = true; c.opts.ClusterName = "lab"; c.opts.LeakedENICleanup = true })
	ctx := context.Background()
	inst := e.cloud.Instance()
	ids := map[string]string{}
	for i, tc := range cases {
		c, err := e.cloud.CreateENI(ctx, cloud.CreateENIRequest{SubnetID: inst.SubnetID, Tags: tc.tags})
		if err != nil {
			t.Fatal(err)
		}
		if tc.attach {
			if _, err := e.cloud.AttachENI(ctx, c.ID, inst.ID, i+1, 0); err != nil {
				t.Fatal(err)
			}
		}
		ids[tc.name] = c.ID
	}
	deleted, err := e.m.CleanupLeaked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range cases {
		_, exists := e.cloud.ENI(ids[tc.name])
		if exists == tc.deleted || slices.Contains(deleted, ids[tc.name]) != tc.deleted {
			t.Errorf("%s: exists %v, reported deleted %v; want deleted %v", tc.name, exists,
				slices.Contains(deleted, ids[tc.name]), tc.deleted)
		}
	}
	if _, ok := e.cloud.ENI(e.primary()); !ok {
		t.Error("the primary ENI was deleted")
	}
}

// TestCleanupWithoutClusterName takes every vpc-cni ENI in the VPC.
func TestCleanupWithoutClusterName(t *testing.T) {
	e := newEnv(t, func(c *setup) { c.noClock = true })
	ctx := context.Background()
	old := epoch.Add(-time.Hour).Format(time.RFC3339)
	c, err := e.cloud.CreateENI(ctx, cloud.CreateENIRequest{
		SubnetID: e.cloud.Instance().SubnetID,
		Tags:     map[string]string{TagCreatedBy: CreatedByValue, TagClusterName: "any", TagCreatedAt: old},
	})
	if err != nil {
		t.Fatal(err)
	}
	e.cloud.SetFault(fake.OpDeleteENI, fake.InjectedError(fake.OpDeleteENI, "RequestLimitExceeded"), 1)
	if _, err := e.m.CleanupLeaked(ctx); err == nil {
		t.Error("a failed delete was not reported")
	}
	deleted, err := e.m.CleanupLeaked(ctx)
	if err != nil || !slices.Equal(deleted, []string{c.ID}) {
		t.Errorf("deleted %v, %v; want %s", deleted, err, c.ID)
	}
}

// TestCleanupLoopRuns: Run starts the cleanup when enabled.
func TestCleanupLoopRuns(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide; c.noClock = true; c.opts.LeakedENICleanup = true })
	e.m.cleanupFirst, e.m.cleanupEvery = time.Millisecond, time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- e.m.Run(ctx) }()
	eventually(t, "two cleanups", func() bool { return e.cloud.Calls(fake.OpENIs) >= 2 })
	cancel()
	if err := <-ran; err != nil {
		t.Error(err)
	}
}
