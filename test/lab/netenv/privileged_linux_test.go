package netenv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
)

func TestPrivilegedNamespaces(t *testing.T) {
	needRoot(t)
	p := newPrefix(t)
	other := p + "x" // a lab whose names start like ours but are not P-*
	t.Cleanup(func() { _ = DeleteAll(other) })
	if err := CreateFabric(p); err != nil {
		t.Fatalf("CreateFabric: %v", err)
	}
	if err := CreateFabric(p); !errors.Is(err, ErrExists) {
		t.Errorf("second CreateFabric = %v, want ErrExists", err)
	}
	if !Exists(InetNS(p)) {
		t.Errorf("a failed second CreateFabric removed the first's %s", InetNS(p))
	}
	if err := CreateNode(p, NodeSpec{Index: 1, InstanceID: "i-1"}); err != nil {
		t.Fatalf("CreateNode: %v", err)
	}
	if _, err := CreateNS(PodNS(p, 1, 1)); err != nil {
		t.Fatalf("CreateNS: %v", err)
	}
	if _, err := CreateNS(FabricNS(other)); err != nil {
		t.Fatalf("CreateNS: %v", err)
	}
	names, err := List(p)
	want := []string{FabricNS(p), InetNS(p), PodNS(p, 1, 1), NodeNS(p, 1)}
	slices.Sort(want)
	if err != nil || !slices.Equal(names, want) {
		t.Errorf("List = %q, %v; want %q", names, err, want)
	}
	if got := sysctlIn(t, NodeNS(p, 1), "net/ipv4/ip_forward"); got != "1" {
		t.Errorf("node ip_forward = %s, want 1", got)
	}
	for key, want := range map[string]string{
		"net/ipv4/ip_forward": "1", "net/ipv4/conf/all/rp_filter": "0", "net/ipv4/conf/default/rp_filter": "0",
	} {
		if got := sysctlIn(t, FabricNS(p), key); got != want {
			t.Errorf("fabric %s = %s, want %s", key, got, want)
		}
	}
	lo := ip(t, "-n", FabricNS(p), "-4", "addr", "show", "dev", "lo")
	for _, a := range []string{"169.254.169.253/32", "169.254.169.254/32", "198.18.0.1/32"} {
		if !strings.Contains(lo, a) {
			t.Errorf("fabric lo lacks %s:\n%s", a, lo)
		}
	}
	if err := DeleteAll(p); err != nil {
		t.Fatalf("DeleteAll: %v", err)
	}
	if err := DeleteAll(p); err != nil {
		t.Errorf("second DeleteAll: %v", err)
	}
	if names, _ := List(p); len(names) != 0 {
		t.Errorf("after DeleteAll: %q", names)
	}
	if !Exists(FabricNS(other)) {
		t.Errorf("DeleteAll(%s) removed %s", p, FabricNS(other))
	}
}

func TestPrivilegedReconcile(t *testing.T) {
	needRoot(t)
	l := startLab(t, 1)
	n := l.nodes[0]
	node, fab := NodeNS(l.prefix, 1), FabricNS(l.prefix)

	// The primary ENI: eth0 with its MAC, the primary /20, default route.
	l.reconcile()
	e0 := l.primaryENI(n)
	if got := linkMAC(t, node, "eth0"); got != e0.MAC {
		t.Fatalf("eth0 MAC = %q, want %q", got, e0.MAC)
	}
	if out := ip(t, "-n", node, "-4", "addr", "show", "dev", "eth0"); !strings.Contains(out, "198.18.0.11/20") {
		t.Errorf("eth0 lacks 198.18.0.11/20:\n%s", out)
	}
	if out := ip(t, "-n", node, "route", "show", "default"); !strings.Contains(out, "via 198.18.0.1 dev eth0") {
		t.Errorf("node default route: %q", out)
	}
	wantFabric(t, l.prefix, "n1e0", e0)
	for key, want := range map[string]string{"conf/n1e0/proxy_arp": "1", "conf/n1e0/rp_filter": "1", "neigh/n1e0/proxy_delay": "0"} {
		if got := sysctlIn(t, fab, "net/ipv4/"+key); got != want {
			t.Errorf("%s = %s, want %s", key, got, want)
		}
	}
	if ok, err := NodeReady(l.prefix, n); !ok || err != nil {
		t.Errorf("NodeReady = %v, %v", ok, err)
	}
	if done := l.reconcile(); len(done) != 0 {
		t.Errorf("second pass did %s", show(done))
	}

	// A second ENI with addresses and a prefix: eth1, routes, neighbours.
	e1, att := l.attachENI(n, 1, 2)
	if _, err := l.w.AssignPrivateIpAddresses(sim.AssignInput{ENIID: e1.ID, PrefixCount: 1}); err != nil {
		t.Fatalf("assign prefix: %v", err)
	}
	l.reconcile()
	e1 = l.eni(e1.ID)
	if got := linkMAC(t, node, "eth1"); got != e1.MAC {
		t.Fatalf("eth1 MAC = %q, want %q", got, e1.MAC)
	}
	if out := ip(t, "-n", node, "-4", "addr", "show", "dev", "eth1"); strings.Contains(out, "inet ") {
		t.Errorf("eth1 got an address; ipamd configures secondary ENIs:\n%s", out)
	}
	wantFabric(t, l.prefix, "n1e1", e1)
	wantFabric(t, l.prefix, "n1e0", e0)

	// Unassigned: their routes and neighbours go.
	gone := e1.SecondaryIPs[0]
	if err := l.w.UnassignPrivateIpAddresses(e1.ID, []netip.Addr{gone}, e1.Prefixes); err != nil {
		t.Fatalf("unassign: %v", err)
	}
	l.reconcile()
	e1 = l.eni(e1.ID)
	if len(e1.Prefixes) != 0 || slices.Contains(e1.SecondaryIPs, gone) {
		t.Fatalf("world still has them: %+v", e1)
	}
	wantFabric(t, l.prefix, "n1e1", e1)

	// An attach still in progress is not a device yet.
	l.w.SetDelays(time.Hour, 0, 0)
	l.attachENI(n, 2, 0)
	l.reconcile()
	if got := linkMAC(t, node, "eth2"); got != "" {
		t.Errorf("eth2 exists while its attach is in progress")
	}
	l.w.SetDelays(0, 0, 0)

	// Another ENI at device 1 after a detach: the pair is recreated with
	// the new MAC.
	if err := l.w.DetachNetworkInterface(att, false); err != nil {
		t.Fatalf("detach: %v", err)
	}
	e3, att3 := l.attachENI(n, 1, 1)
	l.reconcile()
	if got := linkMAC(t, node, "eth1"); got != e3.MAC {
		t.Fatalf("eth1 MAC after the swap = %q, want %q", got, e3.MAC)
	}
	wantFabric(t, l.prefix, "n1e1", l.eni(e3.ID))

	// Detached: the pair goes.
	if err := l.w.DetachNetworkInterface(att3, false); err != nil {
		t.Fatalf("detach: %v", err)
	}
	l.reconcile()
	if linkMAC(t, node, "eth1") != "" || linkMAC(t, fab, "n1e1") != "" {
		t.Errorf("eth1 or n1e1 still there after the detach")
	}
	if linkMAC(t, node, "eth0") != e0.MAC {
		t.Errorf("eth0 gone with eth1")
	}
}

func TestPrivilegedReconcileMissingNode(t *testing.T) {
	needRoot(t)
	l := startLab(t, 1)
	ghost := NodeSpec{Index: 2, InstanceID: "i-00000000000000002"}
	err := Reconcile(context.Background(), l.prefix, l.w.Snapshot(), append(l.nodes, ghost))
	if !errors.Is(err, ErrNoNamespace) {
		t.Errorf("Reconcile = %v, want ErrNoNamespace", err)
	}
	if linkMAC(t, NodeNS(l.prefix, 1), "eth0") == "" {
		t.Errorf("node 1 not reconciled beside the missing node 2")
	}
	if err := Reconcile(context.Background(), "nt-none", sim.State{}, nil); !errors.Is(err, ErrBadName) {
		t.Errorf("Reconcile(bad prefix) = %v", err)
	}
	if err := Reconcile(context.Background(), newPrefix(t), sim.State{}, nil); !errors.Is(err, ErrNoNamespace) {
		t.Errorf("Reconcile(no fabric) = %v, want ErrNoNamespace", err)
	}
}

func TestPrivilegedFollow(t *testing.T) {
	needRoot(t)
	old := PollInterval
	PollInterval = 10 * time.Millisecond
	t.Cleanup(func() { PollInterval = old })
	l := startLab(t, 1)
	n := l.nodes[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, l.prefix, l.srv.EC2URL()+"/sim/state", l.nodes, log) }()

	wait, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	if err := WaitNode(wait, l.prefix, n); err != nil {
		t.Fatalf("WaitNode: %v", err)
	}
	e1, _ := l.attachENI(n, 1, 1)
	waitFor(wait, t, "eth1 with the ENI's MAC", func() bool { return linkMAC(t, NodeNS(l.prefix, 1), "eth1") == e1.MAC })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Follow = %v, want nil once ctx ends", err)
	}
}

// waitFor polls cond until it holds or ctx ends (a generous deadline).
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// testWriter sends log lines to t.Log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// TestPrivilegedFollowErrors: Follow goes on through failing reads of the
// state, logs a repeated error once and its end once, and then follows.
func TestPrivilegedFollowErrors(t *testing.T) {
	needRoot(t)
	old := PollInterval
	PollInterval = 5 * time.Millisecond
	t.Cleanup(func() { PollInterval = old })
	l := startLab(t, 1)
	var hits atomic.Int64
	const failures = 10
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= failures {
			http.Error(w, "not yet", http.StatusServiceUnavailable)
			return
		}
		_ = json.NewEncoder(w).Encode(l.w.Snapshot())
	}))
	t.Cleanup(ts.Close)
	var logs lockedBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Follow(ctx, l.prefix, ts.URL, l.nodes, slog.New(slog.NewTextHandler(&logs, nil))) }()
	wait, stop := context.WithTimeout(ctx, time.Minute)
	defer stop()
	if err := WaitNode(wait, l.prefix, l.nodes[0]); err != nil {
		t.Fatalf("WaitNode: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Follow = %v", err)
	}
	out := logs.String()
	if n := strings.Count(out, "level=WARN"); n != 1 {
		t.Errorf("%d warnings for %d identical failures, want 1:\n%s", n, failures, out)
	}
	if n := strings.Count(out, "fabric in step again"); n != 1 {
		t.Errorf("%d recoveries logged, want 1:\n%s", n, out)
	}
}

// lockedBuffer is a bytes.Buffer safe for a logging goroutine.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
