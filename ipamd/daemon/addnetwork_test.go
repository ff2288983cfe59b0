package daemon_test

import (
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// TestAddDelThroughSocket: AddNetwork, CheckNetwork and DelNetwork over
// the unix socket against the whole daemon.
func TestAddDelThroughSocket(t *testing.T) {
	t.Parallel()
	c := startCloud(t, world{}, nil)
	n := newNode(t, c, map[string]string{"IP_COOLDOWN_PERIOD": "0"})
	r := n.start()
	r.waitSteady()

	if fi, err := os.Stat(r.ep.Socket); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("socket %s: %v, mode %v; want 0600", r.ep.Socket, err, fi.Mode().Perm())
	}
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := r.client.AddNetwork(ctx, addReq(1))
	if err != nil {
		t.Fatal(err)
	}
	a := resp.GetAllocation()
	ip := netip.MustParseAddr(a.GetIpv4())
	truth := c.truthView()
	if !containsAddr(truth[a.GetEniId()], ip) {
		t.Errorf("address %s is not on %s in ec2sim (%v)", ip, a.GetEniId(), truth)
	}
	if resp.GetMtu() != 9001 || resp.GetSnatMode() != ipamv1.SNATMode_SNAT_MODE_NODE ||
		len(resp.GetVpcCidrs()) != 1 || resp.GetVpcCidrs()[0] != "198.18.0.0/16" {
		t.Errorf("AddNetwork answer = %v", resp)
	}
	if again := r.add(1); again != ip {
		t.Errorf("a repeated ADD got %s, want %s", again, ip)
	}
	if got, ok := r.check(1); !ok || got != ip {
		t.Errorf("CheckNetwork = %s, %v; want %s", got, ok, ip)
	}
	id, ifname := key(1)
	del, err := r.client.DelNetwork(ctx, &ipamv1.DelNetworkRequest{ContainerId: id, Ifname: ifname})
	if err != nil || !del.GetFound() || del.GetAllocation().GetIpv4() != ip.String() {
		t.Fatalf("DelNetwork = %v, %v", del, err)
	}
	del, err = r.client.DelNetwork(ctx, &ipamv1.DelNetworkRequest{ContainerId: id, Ifname: ifname})
	if err != nil || del.GetFound() {
		t.Errorf("second DelNetwork = %v, %v; want not found, no error", del, err)
	}
	if _, ok := r.check(1); ok {
		t.Error("CheckNetwork after DEL still finds the allocation")
	}
	_, err = r.client.AddNetwork(ctx, &ipamv1.AddNetworkRequest{ContainerId: "", Ifname: "eth0"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("AddNetwork without a container id = %v, want InvalidArgument", err)
	}
}

// TestAddWaitsForGrowth: an ADD that finds the pool empty wakes the pool
// manager, waits while it grows the pool, and succeeds.
func TestAddWaitsForGrowth(t *testing.T) {
	t.Parallel()
	c := startCloud(t, world{}, nil)
	// One address warm, and no periodic passes: only an ADD's wake makes
	// the pool grow.
	n := newNode(t, c, map[string]string{"WARM_IP_TARGET": "1", "MINIMUM_IP_TARGET": "1"})
	n.tune.Interval = time.Hour
	r := n.start()
	eventually(t, "one warm address", func() bool { return countsOf(r.enis()).free == 1 })
	// EC2 is slow from now on, so that the next ADD surely waits.
	c.srv.Knobs().SetLatency("AssignPrivateIpAddresses", 300*time.Millisecond)

	seen := map[netip.Addr]int{}
	seen[r.add(1)] = 1
	if st := r.status(); st.GetAvailable() != 0 {
		t.Fatalf("Status after taking the only address = %v, want nothing available", st)
	}
	var wg sync.WaitGroup
	ips := make([]netip.Addr, 5)
	for i := range ips {
		wg.Go(func() { ips[i] = r.add(2 + i) })
	}
	wg.Wait()
	for i, ip := range ips {
		if prev, dup := seen[ip]; dup {
			t.Errorf("address %s handed to containers %d and %d", ip, prev, 2+i)
		}
		seen[ip] = 2 + i
	}
	eventually(t, "ipamd's view is the ground truth", func() bool {
		return ipamdView(r.enis()).String() == c.truthView().String()
	})
	r.assertMatchesCloud()
}

func containsAddr(blocks []netip.Prefix, ip netip.Addr) bool {
	for _, b := range blocks {
		if b.Contains(ip) {
			return true
		}
	}
	return false
}
