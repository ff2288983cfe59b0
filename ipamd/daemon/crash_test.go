package daemon_test

import (
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
)

// TestCrash kills ipamd without a clean shutdown and restarts it on the
// same state: the same allocations, no address leaked or handed out
// twice, and ipamd's view equal to ec2sim's ground truth.
//
// ipamd runs as a child process (the test binary re-executed) and is
// killed with SIGKILL: no deferred function, no graceful stop, a stale
// socket left behind, as when the kernel's OOM killer strikes. Cancelling
// an in-process daemon would run its shutdown path instead. The kill
// lands while the pool manager has had EC2 assign addresses and waits for
// instance metadata to show them (ec2sim's clock held still): the
// checkpoint does not know them, and the restart must find them.
func TestCrash(t *testing.T) {
	t.Parallel()
	const lag = time.Second
	c := startCloud(t, world{instType: "c5.4xlarge"}, nil)
	env := map[string]string{"WARM_IP_TARGET": "5", "MINIMUM_IP_TARGET": "10", "VPC_CNI_ADD_WAIT": "60"}
	n := newNode(t, c, env)
	r, p := n.startChild(env)
	r.waitSteady()

	ips := map[int]netip.Addr{}
	var mu sync.Mutex
	addAll := func(from, to int) {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for i := from; i < to; i++ {
			wg.Go(func() {
				sem <- struct{}{}
				defer func() { <-sem }()
				ip := r.add(i)
				mu.Lock()
				ips[i] = ip
				mu.Unlock()
			})
		}
		wg.Wait()
	}
	addAll(0, 45)
	r.waitSteady()

	// Metadata stops catching up; the last 5 ADDs take the 5 warm
	// addresses, and the pool's growth, in EC2, waits for metadata.
	c.clock.Freeze()
	c.clock.Advance(2 * lag)
	c.srv.World().SetDelays(0, 0, lag)
	addAll(45, 50)
	eventually(t, "EC2 assigns addresses ipamd waits to see in metadata", func() bool {
		return total(c.truthView()) > countsOf(r.enis()).total
	})
	checkUnique(t, ips)

	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = r.stop()
	if _, err := os.Stat(n.cfg.SocketPath); err != nil {
		t.Errorf("the killed ipamd's socket: %v, want it left behind, stale", err)
	}
	c.clock.Advance(2 * lag)
	c.clock.Resume()

	r, p = n.startChild(env)
	for i, want := range ips {
		if got, ok := r.check(i); !ok || got != want {
			t.Errorf("container %d after the crash: %s, %v; want %s", i, got, ok, want)
		}
	}
	v := r.waitSteady()
	assigned := map[netip.Addr]bool{}
	for _, e := range v.ENIs {
		for _, b := range e.Blocks {
			for _, a := range b.Addresses {
				if a.State == introspect.StateAssigned {
					assigned[a.IP] = true
				}
			}
		}
	}
	if len(assigned) != len(ips) {
		t.Errorf("%d addresses assigned after the crash, want %d", len(assigned), len(ips))
	}
	for i, ip := range ips {
		if !assigned[ip] {
			t.Errorf("container %d's %s is not assigned after the crash", i, ip)
		}
	}
	if got := countsOf(v); got.total != 55 || got.free != 5 {
		t.Errorf("pool after the crash = %+v, want the 55 addresses EC2 has, 5 free", got)
	}
	r.assertMatchesCloud()
	if testing.Verbose() {
		t.Logf("restarted ipamd's log:\n%s", p.log())
	}
}

func total(v view) int {
	n := 0
	for _, blocks := range v {
		for _, b := range blocks {
			n += 1 << (32 - b.Bits())
		}
	}
	return n
}

func checkUnique(t testing.TB, ips map[int]netip.Addr) {
	t.Helper()
	seen := map[netip.Addr]int{}
	for i, ip := range ips {
		if j, dup := seen[ip]; dup {
			t.Errorf("%s handed to containers %d and %d", ip, i, j)
		}
		seen[ip] = i
	}
}
