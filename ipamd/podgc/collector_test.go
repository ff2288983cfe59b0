package podgc

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// memStore is ipamd's allocations in memory.
type memStore struct {
	mu     sync.Mutex
	allocs map[datastore.Key]datastore.Allocation
	inUse  map[string]bool // container IDs whose release fails with ErrInUse
	tries  int
}

func (s *memStore) Allocations() []datastore.Allocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []datastore.Allocation
	for _, a := range s.allocs {
		out = append(out, a)
	}
	return out
}

func (s *memStore) Release(_ context.Context, k datastore.Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tries++
	if s.inUse[k.ContainerID] {
		return fmt.Errorf("%w: veth still there", ErrInUse)
	}
	delete(s.allocs, k)
	return nil
}

func (s *memStore) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.allocs[datastore.Key{ContainerID: id, IfName: "eth0"}]
	return ok
}

func pod(name, node string, phase corev1.PodPhase) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)},
		Spec: corev1.PodSpec{NodeName: node}, Status: corev1.PodStatus{Phase: phase}}
}

// TestCollector: over a fake API server, the allocation of a deleted pod
// is released after the grace period; a live pod's never is; another
// node's pods do not count; nothing is released before the watch syncs.
func TestCollector(t *testing.T) {
	client := fake.NewClientset(pod("web", "node-1", corev1.PodRunning), pod("done", "node-1", corev1.PodSucceeded),
		pod("elsewhere", "node-2", corev1.PodRunning))
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	old := now.Add(-time.Hour)
	store := &memStore{allocs: map[datastore.Key]datastore.Allocation{}}
	for i, name := range []string{"web", "done", "elsewhere", "deleted"} {
		k := datastore.Key{ContainerID: name, IfName: "eth0"}
		store.allocs[k] = datastore.Allocation{Key: k, IP: netip.AddrFrom4([4]byte{198, 18, 1, byte(10 + i)}),
			Pod: datastore.Pod{Namespace: "default", Name: name, UID: "uid-" + name}, AssignedAt: old}
	}
	c := New(client, store, Options{Node: "node-1", Grace: time.Minute, Now: clock})
	if n := c.Pass(t.Context()); n != 0 {
		t.Fatalf("released %d before the watch synced", n)
	}
	c.Start(t.Context())
	deadline := time.Now().Add(30 * time.Second)
	for !c.Synced() {
		if time.Now().After(deadline) {
			t.Fatal("the pod watch never synced")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := c.Pass(t.Context()); n != 0 {
		t.Fatalf("released %d at once, want none before the grace", n)
	}
	advance(2 * time.Minute)
	if n := c.Pass(t.Context()); n != 3 {
		t.Errorf("released %d after the grace, want 3 (done, elsewhere, deleted)", n)
	}
	if !store.has("web") {
		t.Fatal("the live pod's address was released")
	}
	if err := client.CoreV1().Pods("default").Delete(t.Context(), "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := c.pods.Pods("default").Get("web"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the watch never saw the delete")
		}
	}
	c.Pass(t.Context())
	if !store.has("web") {
		t.Fatal("released at once after the pod's delete, want after the grace")
	}
	advance(2 * time.Minute)
	c.Pass(t.Context())
	if store.has("web") {
		t.Error("the deleted pod's address is still held after the grace")
	}
}

// TestCollectorInUse: an allocation whose pod is gone from the API server
// but whose release says the address is still in use on the node is kept,
// tried again at every pass without a new grace period, logged once; once
// it can be released, it is.
func TestCollectorInUse(t *testing.T) {
	client := fake.NewClientset()
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	k := datastore.Key{ContainerID: "forced", IfName: "eth0"}
	store := &memStore{allocs: map[datastore.Key]datastore.Allocation{k: {Key: k,
		IP: netip.MustParseAddr("198.18.1.10"), Pod: datastore.Pod{Namespace: "default", Name: "forced"},
		AssignedAt: now.Add(-time.Hour)}}, inUse: map[string]bool{"forced": true}}
	var logs bytes.Buffer
	c := New(client, store, Options{Node: "node-1", Grace: time.Minute, Now: clock,
		Log: slog.New(slog.NewTextHandler(&logs, nil))})
	c.Start(t.Context())
	for deadline := time.Now().Add(30 * time.Second); !c.Synced(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the pod watch never synced")
		}
	}
	c.Pass(t.Context())
	advance(2 * time.Minute)
	for range 3 {
		if n := c.Pass(t.Context()); n != 0 {
			t.Fatalf("released %d while in use", n)
		}
		advance(time.Second)
	}
	if store.tries != 3 || !store.has("forced") {
		t.Fatalf("%d release attempts (want 3, one per pass past the grace), held %v", store.tries, store.has("forced"))
	}
	if n := strings.Count(logs.String(), "still holds its address"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, logs.String())
	}
	store.mu.Lock()
	store.inUse = nil
	store.mu.Unlock()
	if n := c.Pass(t.Context()); n != 1 || store.has("forced") {
		t.Errorf("released %d once no longer in use, want 1", n)
	}
}
