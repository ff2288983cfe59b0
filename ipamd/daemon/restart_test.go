package daemon_test

import (
	"bytes"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
	hostfake "github.com/vpc-cni/vpc-cni/ipamd/hostnet/fake"
)

// addWithVeth allocates for container i, whose host-side veth is veth.
func (r *running) addWithVeth(i int, veth string) netip.Addr {
	r.t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	req := addReq(i)
	req.HostIfname = veth
	resp, err := r.client.AddNetwork(ctx, req)
	if err != nil {
		r.t.Fatalf("AddNetwork(%d): %v", i, err)
	}
	return netip.MustParseAddr(resp.GetAllocation().GetIpv4())
}

// TestPodsGoneReleasedAtStartup: at startup, allocations whose pod's veth
// is gone are released; those whose veth exists, or that name none, or
// whose veth cannot be checked, are kept.
func TestPodsGoneReleasedAtStartup(t *testing.T) {
	t.Parallel()
	c := startCloud(t, world{}, nil)
	n := newNode(t, c, nil)
	r := n.start()
	r.waitSteady()
	for _, veth := range []string{"eniaaaa", "enibbbb", "enicccc"} {
		n.host.AddLink(veth)
	}
	ips := map[int]netip.Addr{
		1: r.addWithVeth(1, "eniaaaa"),
		2: r.addWithVeth(2, "enibbbb"),
		3: r.add(3), // no veth recorded
		4: r.addWithVeth(4, "enicccc"),
	}
	// Stop between passes: a stop cancels EC2 calls in flight.
	r.waitSteady()
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	n.host.DelLink("eniaaaa")
	r = n.start()
	if _, ok := r.check(1); ok {
		t.Error("the allocation of a pod whose veth is gone survived the restart")
	}
	for _, i := range []int{2, 3, 4} {
		if ip, ok := r.check(i); !ok || ip != ips[i] {
			t.Errorf("container %d after the restart: %s, %v; want %s kept", i, ip, ok, ips[i])
		}
	}
	v := r.enis()
	if got := countsOf(v); got.assigned != 3 || got.cooling != 1 {
		t.Errorf("after the restart %+v, want 3 assigned and the released address cooling", got)
	}
	r.waitSteady()
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	// A veth that cannot be checked is no proof the pod is gone.
	n.host.DelLink("enibbbb")
	n.host.SetFault(hostfake.OpLinkExists, errors.New("netlink: too many open files"), 0)
	r = n.start()
	if ip, ok := r.check(2); !ok || ip != ips[2] {
		t.Errorf("container 2 with its veth unknowable: %s, %v; want %s kept", ip, ok, ips[2])
	}
	r.assertMatchesCloud()
}

// TestCorruptCheckpoint: a corrupt checkpoint does not stop ipamd: it is
// set aside, the datastore is rebuilt from the cloud with what can be
// salvaged, and no address a pod may still hold is handed out again.
func TestCorruptCheckpoint(t *testing.T) {
	tests := []struct {
		name     string
		corrupt  func(data []byte) []byte
		salvaged func(n int) bool // of the allocations, how many survive
	}{
		{"truncated", func(d []byte) []byte {
			start := bytes.Index(d, []byte(`"allocations":[`))
			end := bytes.Index(d, []byte(`],"cooling":`))
			return d[:start+(end-start)/2]
		}, func(n int) bool { return n > 0 && n < 6 }},
		{"garbage", func([]byte) []byte { return []byte("\x00\x17 not a checkpoint") }, func(n int) bool { return n == 0 }},
		{"another format version", func(d []byte) []byte {
			return bytes.Replace(d, []byte(`{"version":1,`), []byte(`{"version":2,`), 1)
		}, func(n int) bool { return n == 6 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := startCloud(t, world{instType: "c5.4xlarge"}, nil)
			n := newNode(t, c, nil)
			r := n.start()
			r.waitSteady()
			before := map[int]netip.Addr{}
			old := map[netip.Addr]bool{}
			for i := range 6 {
				before[i] = r.add(i)
				old[before[i]] = true
			}
			r.waitSteady()
			if err := r.stop(); err != nil {
				t.Fatal(err)
			}
			path := n.cfg.CheckpointPath()
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, tt.corrupt(data), 0o600); err != nil {
				t.Fatal(err)
			}

			r = n.start()
			if aside, _ := filepath.Glob(path + ".corrupt-*"); len(aside) != 1 {
				t.Errorf("corrupt checkpoints set aside: %v, want one", aside)
			}
			salvaged := 0
			for i := range 6 {
				ip, ok := r.check(i)
				if ok && ip != before[i] {
					t.Errorf("container %d salvaged with %s, had %s", i, ip, before[i])
				}
				if ok {
					salvaged++
				}
			}
			if !tt.salvaged(salvaged) {
				t.Errorf("%d of 6 allocations salvaged", salvaged)
			}
			for i := 100; i < 120; i++ {
				ip := r.add(i)
				if old[ip] {
					t.Fatalf("address %s, which a pod may still hold, handed out again to container %d", ip, i)
				}
				old[ip] = true
			}
			r.waitSteady()
			r.assertMatchesCloud()
		})
	}
}

// TestForeignCheckpoint: a checkpoint written on another instance (a state
// directory copied or shared between nodes) is not restored: its primary
// ENI would never be reconciled away and its addresses would be handed
// out. It is set aside like a corrupt one, none of its allocations
// survive, and the datastore is rebuilt from this instance's cloud, its
// addresses quarantined.
func TestForeignCheckpoint(t *testing.T) {
	t.Parallel()
	// Two instances in the same subnet range, in two emulators seeded
	// differently, so that their ids differ and their addresses may meet.
	a := startCloud(t, world{}, nil)
	b := startCloud(t, world{}, func(cfg *sim.Config) { cfg.Seed = 8 })
	if a.inst.PrimaryENIID == b.inst.PrimaryENIID {
		t.Fatalf("both instances have primary ENI %s", a.inst.PrimaryENIID)
	}
	na := newNode(t, a, nil)
	r := na.start()
	r.waitSteady()
	for i := range 4 {
		r.add(i)
	}
	r.waitSteady()
	if err := r.stop(); err != nil {
		t.Fatal(err)
	}

	// The same state directory on the other instance.
	nb := &node{t: t, cloud: b, cfg: na.cfg, host: hostfake.New(), tune: fastTuning()}
	r = nb.start()
	path := nb.cfg.CheckpointPath()
	if aside, _ := filepath.Glob(path + ".foreign-*"); len(aside) != 1 {
		t.Errorf("checkpoints set aside: %v, want one", aside)
	}
	for i := range 4 {
		if ip, ok := r.check(i); ok {
			t.Errorf("container %d of the other instance kept %s", i, ip)
		}
	}
	v := r.enis()
	for _, e := range v.ENIs {
		if e.ID == a.inst.PrimaryENIID {
			t.Errorf("the other instance's primary ENI %s is in the datastore", e.ID)
		}
	}
	if got := countsOf(v); got.assigned != 0 || got.free != 0 {
		t.Errorf("after the rebuild %+v: want nothing assigned and every address the cloud showed quarantined", got)
	}
	seen := map[netip.Addr]bool{}
	for i := 100; i < 105; i++ {
		ip := r.add(i)
		if seen[ip] {
			t.Fatalf("address %s handed out twice", ip)
		}
		seen[ip] = true
	}
	r.waitSteady()
	r.assertMatchesCloud()
}
