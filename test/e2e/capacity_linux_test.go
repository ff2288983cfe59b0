package e2e

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
)

// A t3.medium node filled to capacity.
//
// How many pods a t3.medium holds: it takes 3 ENIs of 6 IPv4 addresses
// each; an ENI's first address is its own primary, so each ENI has 5
// secondary addresses for pods: 3 × 5 = 15 pod addresses. Kubernetes'
// max pods for it (the AWS VPC CNI's formula, ENIs × (addresses per ENI −
// 1) + 2) is 17: the + 2 are host-network pods (kube-proxy and the CNI's
// own daemonset), which need no address of their own. So 15 pods get an
// address and the 16th ADD fails, naming the ENI limit.
//
// Then 5 pods are deleted. With IP_COOLDOWN_PERIOD=5 their addresses are
// free again after 5 seconds; the warm pool (WARM_ENI_TARGET=1, the
// default: one ENI's worth, 5 addresses, available) is back at its target
// with exactly those 5 available and nothing to do, and 5 new pods get
// exactly those addresses again (the node can hold no others).
func TestPrivilegedFillNode(t *testing.T) {
	const (
		typ       = "t3.medium"
		enis      = 3
		perENI    = 6 // IPv4 addresses per ENI, the primary included
		podAddrs  = enis * (perENI - 1)
		maxPods   = podAddrs + 2
		deleted   = 5
		cooldownS = 5
	)
	timed(t)
	l := startLab(t, 4, labSpec{nodes: 1, instanceType: typ, ipamdEnv: map[string]string{
		"IP_COOLDOWN_PERIOD": fmt.Sprint(cooldownS),
	}})
	ctx := testCtx(t)

	checkLimits(ctx, t, l, introspect.LimitsView{MaxPods: maxPods, MaxENIs: enis, IPv4PerENI: perENI})

	start := time.Now()
	addPods(ctx, t, l, podAddrs)
	t.Logf("timing: %d pods added in %v", podAddrs, time.Since(start).Round(time.Millisecond))
	pods := l.Pods()
	perDevice := map[int]int{}
	for _, pl := range placeAll(ctx, t, l, pods) {
		perDevice[pl.device]++
	}
	if want := map[int]int{0: perENI - 1, 1: perENI - 1, 2: perENI - 1}; !maps.Equal(perDevice, want) {
		t.Errorf("pod addresses per device index: %v, want %v", perDevice, want)
	}

	fillUp(ctx, t, l, typ)

	// Delete some pods (every third): their addresses come back after the
	// cooldown, and the pool is at its target again.
	var gone []netip.Addr
	for i := 0; i < len(pods) && len(gone) < deleted; i += 3 {
		if err := l.DelPod(ctx, pods[i]); err != nil {
			t.Fatalf("delete %s: %v", pods[i].Name, err)
		}
		gone = append(gone, pods[i].IP)
	}
	waitUntil(ctx, t, 2*time.Minute, "the warm pool back at its target after the cooldown",
		func() (bool, string) { return atTarget(ctx, l, podAddrs-deleted, deleted) })

	again := addPods(ctx, t, l, deleted)
	slices.SortFunc(gone, netip.Addr.Compare)
	slices.SortFunc(again, netip.Addr.Compare)
	if !slices.Equal(gone, again) {
		t.Errorf("the new pods got %v, want the deleted pods' addresses %v", again, gone)
	}
	placeAll(ctx, t, l, l.Pods())
}

// checkLimits checks node 1's limits as ipamd's introspection shows them.
func checkLimits(ctx context.Context, t *testing.T, l *testLab, want introspect.LimitsView) {
	t.Helper()
	var lim introspect.LimitsView
	if err := l.Introspect(ctx, 1, introspect.PathLimits, &lim); err != nil {
		t.Fatalf("introspection: %v", err)
	}
	if lim.MaxPods != want.MaxPods || lim.MaxENIs != want.MaxENIs || lim.IPv4PerENI != want.IPv4PerENI {
		t.Fatalf("ipamd's limits for %s: max pods %d, %d ENIs of %d addresses; want %d, %d of %d",
			lim.InstanceType, lim.MaxPods, lim.MaxENIs, lim.IPv4PerENI, want.MaxPods, want.MaxENIs, want.IPv4PerENI)
	}
}

// addPods adds n pods to node 1 and returns their addresses.
func addPods(ctx context.Context, t *testing.T, l *testLab, n int) []netip.Addr {
	t.Helper()
	var ips []netip.Addr
	for i := range n {
		p, err := l.AddPod(ctx, 1)
		if err != nil {
			t.Fatalf("pod %d of %d (the lab has %d): %v", i+1, n, len(l.Pods()), err)
		}
		ips = append(ips, p.IP)
	}
	return ips
}

// fillUp checks that the next ADD on the full node fails, names the
// limit, and leaves no pod behind.
func fillUp(ctx context.Context, t *testing.T, l *testLab, typ string) {
	t.Helper()
	before := len(l.Pods())
	start := time.Now()
	p, err := l.AddPod(ctx, 1)
	t.Logf("timing: the ADD on a full node failed after %v", time.Since(start).Round(time.Millisecond))
	if err == nil {
		t.Fatalf("a pod beyond the node's capacity got %s", p.IP)
	}
	msg := err.Error()
	for _, want := range []string{"no address", "ENI limit of " + typ} {
		if !strings.Contains(msg, want) {
			t.Errorf("the ADD on a full node failed with %q; want it to say %q", msg, want)
		}
	}
	var cniErr *types.Error
	if errors.As(err, &cniErr) && cniErr.Code != 100 {
		t.Errorf("the ADD on a full node failed with CNI code %d, want 100 (no address): %v", cniErr.Code, err)
	}
	if n := len(l.Pods()); n != before {
		t.Errorf("the failed ADD left the lab with %d pods, want %d", n, before)
	}
	if ns := podNamespaces(t, l.prefix); len(ns) != before {
		t.Errorf("the failed ADD left %d pod namespaces, want %d: %v", len(ns), before, ns)
	}

	var pool introspect.PoolView
	if err := l.Introspect(ctx, 1, introspect.PathPool, &pool); err != nil {
		t.Fatalf("introspection: %v", err)
	}
	if !strings.Contains(pool.LastDecision.Blocked, "ENI limit") {
		t.Errorf("the pool of the full node says it is blocked by %q, want the ENI limit", pool.LastDecision.Blocked)
	}
}

// atTarget says whether node 1's pool is at its target with assigned
// addresses in use and available free (none cooling), and the pool
// manager's last decision is that there is nothing to do.
func atTarget(ctx context.Context, l *testLab, assigned, available int) (bool, string) {
	var enis introspect.ENIsView
	var pool introspect.PoolView
	if err := l.Introspect(ctx, 1, introspect.PathENIs, &enis); err != nil {
		return false, err.Error()
	}
	if err := l.Introspect(ctx, 1, introspect.PathPool, &pool); err != nil {
		return false, err.Error()
	}
	count := map[string]int{}
	for _, e := range enis.ENIs {
		for _, b := range e.Blocks {
			for _, a := range b.Addresses {
				count[a.State]++
			}
		}
	}
	d := pool.LastDecision
	ok := count[introspect.StateAssigned] == assigned && count[introspect.StateFree] == available &&
		count[introspect.StateCooling] == 0 && d.Short == 0 && d.Excess == 0 && d.Blocked == "" && len(d.Actions) == 0
	return ok, fmt.Sprintf("addresses by state %v (want %d assigned, %d free); last decision %+v (want short 0, excess 0, no actions)",
		count, assigned, available, d)
}
