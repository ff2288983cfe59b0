package capacity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"

	"github.com/vpc-cni/vpc-cni/ipamd/manager"
)

// harness is a Writer running over a fake clientset and a fake clock.
type harness struct {
	t      *testing.T
	client *fake.Clientset
	clock  *clocktesting.FakeClock
	w      *Writer
}

func newHarness(t *testing.T, node *corev1.Node) *harness {
	t.Helper()
	h := &harness{t: t, client: fake.NewClientset(node), clock: clocktesting.NewFakeClock(t0)}
	w, err := NewWriter(Options{Client: h.client, NodeName: node.Name, Clock: h.clock})
	if err != nil {
		t.Fatal(err)
	}
	h.w = w
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	return h
}

// node reads the node back.
func (h *harness) node() *corev1.Node {
	h.t.Helper()
	n, err := h.client.Tracker().Get(corev1.SchemeGroupVersion.WithResource("nodes"), "", "node-1")
	if err != nil {
		h.t.Fatalf("get node: %v", err)
	}
	return n.(*corev1.Node)
}

// shows reports whether the node shows the state's condition.
func (h *harness) shows(s State) bool {
	c := Condition(h.node(), ConditionPodIPsAvailable)
	return c != nil && c.Reason == s.Reason && c.Message == s.Message
}

// waitFor steps the fake clock until cond holds; the deadline is generous
// and in real time, the writer's timing is all on the fake clock.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		h.clock.Step(250 * time.Millisecond)
		time.Sleep(time.Millisecond)
	}
}

// count is the number of actions of the verb on the resource.
func (h *harness) count(verb, resource string) int {
	n := 0
	for _, a := range h.client.Actions() {
		if a.GetVerb() == verb && a.GetResource().Resource == resource {
			n++
		}
	}
	return n
}

func (h *harness) events() []corev1.Event {
	h.t.Helper()
	l, err := h.client.CoreV1().Events(metav1.NamespaceDefault).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	return l.Items
}

func ready(assigned int) State {
	return Desired(27, Pool{Ready: true, Assigned: assigned, Available: 27 - assigned})
}

func blocked(class, cause string, assigned int) State {
	return Desired(27, Pool{Ready: true, Assigned: assigned, Cause: cause, Class: class})
}

func TestNewWriterNeedsClientAndNode(t *testing.T) {
	if _, err := NewWriter(Options{NodeName: "n"}); err == nil {
		t.Error("no client: want an error")
	}
	if _, err := NewWriter(Options{Client: fake.NewClientset()}); err == nil {
		t.Error("no node name: want an error")
	}
}

func TestWriterWritesNode(t *testing.T) {
	h := newHarness(t, testNode())
	s := ready(0)
	h.w.Update(s)
	h.waitFor("the state", func() bool { return h.shows(s) })
	n := h.node()
	if q := n.Status.Allocatable[ResourcePodIPs]; q.Value() != 27 {
		t.Errorf("allocatable %s = %s, want 27", ResourcePodIPs, q.String())
	}
	if c := Condition(n, corev1.NodeNetworkUnavailable); c.Status != corev1.ConditionFalse || c.Reason != ReasonUp {
		t.Errorf("NetworkUnavailable %+v, want False %s", c, ReasonUp)
	}
	if c := Condition(n, corev1.NodeReady); c == nil || c.Reason != "KubeletReady" {
		t.Errorf("Ready %+v, want kept", c)
	}
	if h.w.Writes() != 1 {
		t.Errorf("%d writes, want 1", h.w.Writes())
	}
}

func TestWriterUpdateNeverBlocks(t *testing.T) {
	w, err := NewWriter(Options{Client: fake.NewClientset(), NodeName: "node-1"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 { // nobody runs the writer
		w.Update(ready(i % 27))
	}
}

func TestWriterChurn(t *testing.T) {
	h := newHarness(t, testNode())
	var last State
	for i := range 1000 { // 1000 changes over 10 s
		last = ready(i % 27)
		h.w.Update(last)
		h.clock.Step(10 * time.Millisecond)
	}
	h.waitFor("the last state", func() bool { return h.shows(last) })
	// One write per MinInterval (5 s) at most: 10 s of churn and the
	// last state give 3; a handful is the bound.
	t.Logf("%d patches for 1000 updates", h.count("patch", "nodes"))
	if n := h.count("patch", "nodes"); n > 4 || n != h.w.Writes() {
		t.Errorf("%d patches (%d writes) for 1000 updates, want at most 4", n, h.w.Writes())
	}
}

// TestWriterFiguresEvery: a minute of pods coming and going (only the
// figures change) is written about every FiguresEvery, not every
// MinInterval; a change of reason that follows is written within
// MinInterval of the last write.
func TestWriterFiguresEvery(t *testing.T) {
	h := newHarness(t, testNode())
	h.w.Update(ready(0))
	h.waitFor("the first state", func() bool { return h.shows(ready(0)) })
	for i := range 600 { // 60 s of churn
		h.w.Update(ready(1 + i%20))
		h.clock.Step(100 * time.Millisecond)
		time.Sleep(50 * time.Microsecond)
	}
	n := h.count("patch", "nodes")
	t.Logf("%d patches in 60 s of churn", n)
	// The first write, then one per 30 s: 3; MinInterval would give 13.
	if n > 4 {
		t.Errorf("%d patches in 60 s of figures-only churn, want at most 4", n)
	}
	s := blocked(manager.ClassSubnetExhausted, "subnet full", 20)
	start := h.clock.Now()
	h.w.Update(s)
	h.waitFor("the blocked state", func() bool { return h.shows(s) })
	// When it was written: the condition's transition time, on the
	// writer's clock (waitFor keeps stepping it while the write is in
	// flight, so the clock now says later). MinInterval and the debounce
	// allow 6 s; the bound leaves room for scheduling and stays far below
	// FiguresEvery.
	written := Condition(h.node(), ConditionPodIPsAvailable).LastTransitionTime.Time
	if waited := written.Sub(start); waited > 10*time.Second {
		t.Errorf("a reason change was written %s after it, want within about %s", waited, DefaultMinInterval+DefaultDebounce)
	}
}

func TestWriterNoWriteWhenUnchanged(t *testing.T) {
	h := newHarness(t, testNode())
	a, b := ready(1), ready(2)
	h.w.Update(a)
	h.waitFor("a", func() bool { return h.shows(a) })
	for range 100 {
		h.w.Update(a)
		h.clock.Step(time.Second)
	}
	h.w.Update(b) // changed and changed back within the debounce: no write
	h.w.Update(a)
	h.clock.Step(time.Minute)
	h.w.Update(b)
	h.waitFor("b", func() bool { return h.shows(b) })
	if n := h.count("patch", "nodes"); n != 2 {
		t.Errorf("%d patches, want 2 (a, then b)", n)
	}

	// A restarted ipamd finds the node showing its state: no patch.
	h2 := newHarness(t, h.node())
	h2.w.Update(b)
	c := ready(3)
	h2.clock.Step(time.Minute)
	h2.w.Update(c)
	h2.waitFor("c", func() bool { return h2.shows(c) })
	if n := h2.count("patch", "nodes"); n != 1 {
		t.Errorf("after a restart: %d patches, want 1 (c)", n)
	}
}

func TestWriterTransitionTimes(t *testing.T) {
	h := newHarness(t, testNode())
	steps := []struct {
		s           State
		transitions bool
	}{
		{blocked(manager.ClassSubnetExhausted, "subnet full", 5), true},
		{blocked(manager.ClassENILimit, "eni limit", 6), false},
		{ready(6), true},
		{ready(7), false},
	}
	var since time.Time
	for i, st := range steps {
		h.clock.Step(time.Minute)
		h.w.Update(st.s)
		h.waitFor(st.s.Reason, func() bool { return h.shows(st.s) })
		got := Condition(h.node(), ConditionPodIPsAvailable).LastTransitionTime.Time
		if st.transitions == got.Equal(since) {
			t.Errorf("step %d (%s): transition time %v, previous %v, want changed %v", i, st.s.Reason, got, since, st.transitions)
		}
		since = got
	}
}

func TestWriterEvents(t *testing.T) {
	h := newHarness(t, testNode())
	steps := []struct {
		s      State
		events int
	}{
		{ready(3), 0},
		{blocked(manager.ClassSubnetExhausted, "subnet subnet-1 has no free addresses", 4), 1},
		{blocked(manager.ClassSubnetExhausted, "subnet subnet-1 has no free addresses", 9), 1}, // same cause
		{blocked(manager.ClassPrefixFragmented, "no aligned /28", 9), 1},                       // same reason
		{blocked(manager.ClassENILimit, "ENI limit of m5.large reached (3 ENIs)", 9), 2},
		{ready(9), 2},
		{blocked(manager.ClassENILimit, "ENI limit of m5.large reached (3 ENIs)", 9), 3}, // again after a recovery
	}
	for i, st := range steps {
		h.clock.Step(time.Minute)
		h.w.Update(st.s)
		h.waitFor(st.s.Reason, func() bool { return h.shows(st.s) && len(h.events()) >= st.events })
		evs := h.events()
		if len(evs) != st.events {
			t.Fatalf("step %d (%s): %d events, want %d", i, st.s.Reason, len(evs), st.events)
		}
		if st.events == 0 {
			continue
		}
		found := false
		for _, ev := range evs {
			found = found || (ev.Reason == st.s.Reason && strings.Contains(ev.Message, "pool cannot grow"))
		}
		if !found && !st.s.Available {
			t.Errorf("step %d: no event with reason %s in %+v", i, st.s.Reason, evs)
		}
	}
}

func TestWriterRecovers(t *testing.T) {
	h := newHarness(t, testNode())
	var failing atomic.Bool
	var failures atomic.Int32
	fail := func(k8stesting.Action) (bool, runtime.Object, error) {
		if failing.Load() {
			failures.Add(1)
			return true, nil, errors.New("connection refused")
		}
		return false, nil, nil
	}
	h.client.PrependReactor("get", "nodes", fail)
	h.client.PrependReactor("create", "events", fail)
	failing.Store(true)
	for i := range 5 {
		h.w.Update(blocked(manager.ClassSubnetExhausted, "subnet full", i))
	}
	h.waitFor("three failures", func() bool { return failures.Load() >= 3 })
	last := blocked(manager.ClassSubnetExhausted, "subnet full", 7)
	h.w.Update(last)
	failing.Store(false)
	h.waitFor("the latest state and its event", func() bool { return h.shows(last) && len(h.events()) == 1 })
	if n := h.count("patch", "nodes"); n != 1 {
		t.Errorf("%d patches, want 1", n)
	}

	// A patch that gets through and an Event that fails: the Event is
	// retried, the node not patched again.
	var eventFailures atomic.Int32
	h.client.PrependReactor("create", "events", func(k8stesting.Action) (bool, runtime.Object, error) {
		if eventFailures.Add(1) <= 3 {
			return true, nil, fmt.Errorf("event store busy")
		}
		return false, nil, nil
	})
	eni := blocked(manager.ClassENILimit, "eni limit", 7)
	h.w.Update(eni)
	h.waitFor("the second event", func() bool { return len(h.events()) == 2 })
	if n := eventFailures.Load(); n != 4 {
		t.Errorf("%d event creations, want 4 (3 failed)", n)
	}
	if n := h.count("patch", "nodes"); n != 2 {
		t.Errorf("%d patches, want 2", n)
	}
}

func TestWriterBacksOff(t *testing.T) {
	h := newHarness(t, testNode())
	var attempts atomic.Int32
	h.client.PrependReactor("get", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		attempts.Add(1)
		return true, nil, errors.New("connection refused")
	})
	h.w.Update(ready(1))
	for range 600 { // ten minutes down
		h.clock.Step(time.Second)
		time.Sleep(100 * time.Microsecond)
	}
	// Retries after 1, 2, 4 ... 32 s, then every minute: about 15 in ten
	// minutes (fewer if the writer lags behind the clock).
	if n := attempts.Load(); n < 1 || n > 17 {
		t.Errorf("%d attempts in ten minutes, want 1 to 17", n)
	}
}

func TestWriterResync(t *testing.T) {
	h := newHarness(t, testNode())
	s := ready(2)
	h.w.Update(s)
	h.waitFor("the state", func() bool { return h.shows(s) })
	// The Node is registered again: our conditions and resource are gone.
	if err := h.client.Tracker().Update(corev1.SchemeGroupVersion.WithResource("nodes"), testNode(), ""); err != nil {
		t.Fatal(err)
	}
	h.waitFor("the state restored", func() bool { return h.shows(s) })
	if n := h.count("patch", "nodes"); n != 2 {
		t.Errorf("%d patches, want 2", n)
	}
}

// lockedBuffer is a log sink the writer's goroutine and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

func TestWriterLogsFailureOnce(t *testing.T) {
	var logs lockedBuffer
	client := fake.NewClientset(testNode())
	clk := clocktesting.NewFakeClock(t0)
	w, err := NewWriter(Options{Client: client, NodeName: "node-1", Clock: clk,
		Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, client: client, clock: clk, w: w}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	var failing atomic.Bool
	var failures atomic.Int32
	failing.Store(true)
	client.PrependReactor("get", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		if failing.Load() {
			failures.Add(1)
			return true, nil, errors.New("forbidden")
		}
		return false, nil, nil
	})
	s := ready(1)
	w.Update(s)
	h.waitFor("five failures", func() bool { return failures.Load() >= 5 })
	failing.Store(false)
	h.waitFor("the state", func() bool { return h.shows(s) })
	// The node shows the state as soon as the patch lands; the writer logs
	// its recovery just after.
	h.waitFor("the recovery logged", func() bool { return strings.Contains(logs.String(), "written after failures") })
	out := logs.String()
	if n := strings.Count(out, "node status write failed"); n != 1 {
		t.Errorf("%d failure lines for 5 failures, want 1:\n%s", n, out)
	}
	if !strings.Contains(out, "forbidden") || !strings.Contains(out, "written after failures") {
		t.Errorf("logs lack the error or the recovery:\n%s", out)
	}
}

func TestWriterRecoversFromFailingPatch(t *testing.T) {
	h := newHarness(t, testNode())
	var patches atomic.Int32
	h.client.PrependReactor("patch", "nodes", func(k8stesting.Action) (bool, runtime.Object, error) {
		if patches.Add(1) <= 3 {
			return true, nil, errors.New("etcd leader changed")
		}
		return false, nil, nil
	})
	h.w.Update(blocked(manager.ClassSubnetExhausted, "subnet full", 1))
	h.waitFor("two failed patches", func() bool { return patches.Load() >= 2 })
	last := blocked(manager.ClassSubnetExhausted, "subnet full", 2)
	h.w.Update(last)
	h.waitFor("the latest state and its event", func() bool { return h.shows(last) && len(h.events()) == 1 })
	if h.w.Writes() != 1 {
		t.Errorf("%d writes, want 1", h.w.Writes())
	}
	if ev := h.events()[0]; ev.Reason != ReasonSubnetExhausted {
		t.Errorf("event %s, want %s", ev.Reason, ReasonSubnetExhausted)
	}
}
