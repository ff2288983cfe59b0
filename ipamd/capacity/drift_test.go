package capacity

import (
	"context"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
	clocktesting "k8s.io/utils/clock/testing"
)

// TestWriterWatchNode: the node's status overwritten behind the writer's
// back (kubelet zeroes extended resources when it registers again) is
// restored from the watch, with no resync to wait for.
func TestWriterWatchNode(t *testing.T) {
	client := fake.NewClientset(testNode())
	clk := clocktesting.NewFakeClock(t0)
	w, err := NewWriter(Options{Client: client, NodeName: "node-1", Clock: clk, Resync: -1})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, client: client, clock: clk, w: w}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); w.Run(ctx) }()
	go func() { defer wg.Done(); w.WatchNode(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	s := ready(3)
	w.Update(s)
	h.waitFor("the state", func() bool { return h.shows(s) })
	n := h.node().DeepCopy()
	delete(n.Status.Capacity, ResourcePodIPs)
	delete(n.Status.Allocatable, ResourcePodIPs)
	if _, err := client.CoreV1().Nodes().UpdateStatus(context.Background(), n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	overwritten := clk.Now()
	h.waitFor("vpc-cni.io/pod-ips restored", func() bool {
		q, ok := h.node().Status.Allocatable[ResourcePodIPs]
		return ok && q.Value() == int64(s.PodIPs)
	})
	// As a change: within MinInterval of the last write, not FiguresEvery
	// (the written state is unchanged, only the node drifted). The fake
	// clock keeps stepping while the write is in flight: a generous bound.
	if waited := clk.Since(overwritten); waited >= 20*time.Second {
		t.Errorf("restored %s after the overwrite, want within about %s", waited, DefaultMinInterval)
	}
	if got := h.count("patch", "nodes"); got != 2 {
		t.Errorf("%d patches, want 2 (the state, then its restoration)", got)
	}
}

// TestWriterDriftedIgnoresOthers: another node, or a node that shows the
// written state, is no drift; nothing is written.
func TestWriterDriftedIgnoresOthers(t *testing.T) {
	h := newHarness(t, testNode())
	s := ready(1)
	h.w.Update(s)
	h.waitFor("the state", func() bool { return h.shows(s) })
	other := h.node().DeepCopy()
	other.Name = "node-2"
	delete(other.Status.Capacity, ResourcePodIPs)
	h.w.Drifted(other)
	h.w.Drifted(h.node())
	h.w.Drifted(nil)
	for range 40 {
		h.clock.Step(time.Second)
		time.Sleep(time.Millisecond)
	}
	if got := h.count("patch", "nodes"); got != 1 {
		t.Errorf("%d patches, want 1", got)
	}
}
