package daemon_test

import (
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
)

// TestIMDSLag: instance metadata lags EC2 (ec2sim's imdsLag, on a clock
// the test holds still): an address EC2 has assigned is not handed out
// until metadata shows it, for an address added to an ENI and for a new
// ENI alike.
func TestIMDSLag(t *testing.T) {
	t.Parallel()
	const lag = 300 * time.Millisecond
	c := startCloud(t, world{}, func(cfg *sim.Config) { cfg.Delays.IMDSLag = sim.Duration(lag) })
	c.clock.Freeze()
	r := newNode(t, c, map[string]string{"VPC_CNI_ADD_WAIT": "30"}).start()

	// Assigned in EC2, not shown by metadata: nothing to hand out.
	eventually(t, "EC2 assigns the primary ENI's addresses", func() bool {
		return len(c.truthView()[c.inst.PrimaryENIID]) == 9
	})
	r.addAfterMetadataCatchesUp(0, lag)
	for i := 1; i < 9; i++ {
		r.add(i)
	}

	// The pool now needs a new ENI: attached in EC2, not in metadata.
	eventually(t, "EC2 attaches a second ENI", func() bool { return len(c.truthView()) == 2 })
	r.addAfterMetadataCatchesUp(9, lag)
	c.clock.Resume()
	r.waitSteady()
	r.assertMatchesCloud()
}

// addAfterMetadataCatchesUp runs ADD i while instance metadata lags EC2
// on a frozen clock, checks that it has not been answered while metadata
// could not show a new address, then advances the clock past the lag and
// checks that the address it gets is one metadata shows.
func (r *running) addAfterMetadataCatchesUp(i int, lag time.Duration) {
	t := r.t
	t.Helper()
	c := r.n.cloud
	shownBefore := c.imdsAddrs(t)
	var advanced atomic.Bool
	type answer struct {
		ip    netip.Addr
		err   error
		early bool
	}
	done := make(chan answer, 1)
	go func() {
		ip, err := r.tryAdd(i)
		done <- answer{ip: ip, err: err, early: !advanced.Load()}
	}()
	// Give a daemon that would hand out an address too early every chance
	// to do so; this is no bound on anything.
	time.Sleep(500 * time.Millisecond)
	select {
	case a := <-done:
		t.Fatalf("ADD %d answered (%s, %v) while instance metadata showed none of the new addresses", i, a.ip, a.err)
	default:
	}
	if got := countsOf(r.enis()); got.free != 0 {
		t.Fatalf("ipamd holds free addresses metadata does not show: %+v", got)
	}
	advanced.Store(true)
	c.clock.Advance(2 * lag)
	a := <-done
	if a.err != nil || a.early {
		t.Fatalf("ADD %d = %s, %v (before the clock moved: %v)", i, a.ip, a.err, a.early)
	}
	shown := c.imdsAddrs(t)
	if !slices.Contains(shown, a.ip) || slices.Contains(shownBefore, a.ip) {
		t.Fatalf("ADD %d got %s; metadata shows %v now and showed %v before", i, a.ip, shown, shownBefore)
	}
}

// imdsAddrs are the secondary addresses (and those of prefixes) instance
// metadata shows for the instance now.
func (c *cloudEnv) imdsAddrs(t testing.TB) []netip.Addr {
	t.Helper()
	v, err := c.srv.World().IMDSView(c.inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	var out []netip.Addr
	for _, e := range v.ENIs {
		if len(e.LocalIPv4s) > 1 {
			out = append(out, e.LocalIPv4s[1:]...)
		}
		for _, p := range e.Prefixes {
			for a := p.Addr(); p.Contains(a); a = a.Next() {
				out = append(out, a)
			}
		}
	}
	return out
}
