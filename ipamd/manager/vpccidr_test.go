package manager

import (
	"context"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud/fake"
)

// cidrCalls records the calls of OnVPCCIDRs.
type cidrCalls struct {
	mu    sync.Mutex
	calls [][]netip.Prefix
}

func (c *cidrCalls) on(p []netip.Prefix) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, p)
}

func (c *cidrCalls) got() [][]netip.Prefix {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

// TestSyncVPCCIDRs: a CIDR block associated to the VPC at runtime reaches
// OnVPCCIDRs at the first sync after metadata lists it, once, and is in
// the report; the CIDRs the manager started with do not call it.
func TestSyncVPCCIDRs(t *testing.T) {
	var calls cidrCalls
	e := newEnv(t, func(c *setup) { c.noClock = true; c.opts.OnVPCCIDRs = calls.on })
	if got := calls.got(); len(got) != 0 {
		t.Fatalf("OnVPCCIDRs called at start with %v", got)
	}
	extra := netip.MustParsePrefix("198.19.0.0/16")
	e.cloud.SetMetadataLag(10 * time.Second)
	if err := e.cloud.AssociateVPCCIDR(extra); err != nil {
		t.Fatal(err)
	}
	rep, err := e.m.Sync(context.Background())
	if err != nil || rep.VPCCIDRsChanged || len(calls.got()) != 0 {
		t.Fatalf("before metadata lists it: report %+v, %v, calls %v", rep, err, calls.got())
	}
	if !slices.Equal(rep.VPCCIDRs, []netip.Prefix{fake.DefaultVPCCIDR}) {
		t.Errorf("report lists %v", rep.VPCCIDRs)
	}
	e.clock.Advance(10 * time.Second)
	rep, err = e.m.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []netip.Prefix{fake.DefaultVPCCIDR, extra}
	if !rep.VPCCIDRsChanged || !slices.Equal(rep.VPCCIDRs, want) || !rep.Changed() {
		t.Errorf("report %+v, want the CIDRs %v changed", rep, want)
	}
	if got := calls.got(); len(got) != 1 || !slices.Equal(got[0], want) {
		t.Errorf("OnVPCCIDRs calls %v, want one with %v", got, want)
	}
	if rep, err := e.m.Sync(context.Background()); err != nil || rep.VPCCIDRsChanged || len(calls.got()) != 1 {
		t.Errorf("a second sync: %+v, %v, calls %v", rep, err, calls.got())
	}
}

func TestSameCIDRs(t *testing.T) {
	a, b, c := netip.MustParsePrefix("198.18.0.0/16"), netip.MustParsePrefix("198.19.0.0/16"),
		netip.MustParsePrefix("198.19.0.0/24")
	for _, tc := range []struct {
		x, y []netip.Prefix
		want bool
	}{
		{nil, nil, true},
		{[]netip.Prefix{a, b}, []netip.Prefix{b, a}, true},
		{[]netip.Prefix{a}, []netip.Prefix{a, b}, false},
		{[]netip.Prefix{b}, []netip.Prefix{c}, false},
		{[]netip.Prefix{a, a}, []netip.Prefix{a}, true},
	} {
		if got := sameCIDRs(tc.x, tc.y); got != tc.want {
			t.Errorf("sameCIDRs(%v, %v) = %v, want %v", tc.x, tc.y, got, tc.want)
		}
	}
}
