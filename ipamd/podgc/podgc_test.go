package podgc

import (
	"slices"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func alloc(id, ns, name, uid string, at time.Time) datastore.Allocation {
	return datastore.Allocation{Key: datastore.Key{ContainerID: id, IfName: "eth0"},
		Pod: datastore.Pod{Namespace: ns, Name: name, UID: uid}, AssignedAt: at}
}

func TestDecide(t *testing.T) {
	grace := 5 * time.Minute
	old := t0.Add(-time.Hour)
	live := Live{}
	live.Add(PodRef{"default", "web-0", "uid-1"})
	live.Add(PodRef{"default", "db-0", "uid-new"})
	key := func(id string) datastore.Key { return datastore.Key{ContainerID: id, IfName: "eth0"} }
	tests := []struct {
		name    string
		a       datastore.Allocation
		missing map[datastore.Key]time.Time
		release bool
		tracked bool
	}{
		{"live pod", alloc("c1", "default", "web-0", "uid-1", old), nil, false, false},
		{"live pod, no uid recorded", alloc("c1", "default", "web-0", "", old), nil, false, false},
		{"not Kubernetes", alloc("c1", "", "", "", old), nil, false, false},
		{"missing, first seen now", alloc("c1", "default", "gone", "u", old), nil, false, true},
		{"missing for less than grace", alloc("c1", "default", "gone", "u", old),
			map[datastore.Key]time.Time{key("c1"): t0.Add(-time.Minute)}, false, true},
		{"missing for grace", alloc("c1", "default", "gone", "u", old),
			map[datastore.Key]time.Time{key("c1"): t0.Add(-grace)}, true, false},
		{"missing for grace but assigned just now", alloc("c1", "default", "gone", "u", t0.Add(-time.Minute)),
			map[datastore.Key]time.Time{key("c1"): t0.Add(-grace)}, false, true},
		{"same name, another pod", alloc("c1", "default", "db-0", "uid-old", old),
			map[datastore.Key]time.Time{key("c1"): t0.Add(-grace)}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rel, next := Decide([]datastore.Allocation{tt.a}, live, tt.missing, t0, grace)
			if got := slices.Contains(rel, tt.a.Key); got != tt.release {
				t.Errorf("released = %v, want %v", got, tt.release)
			}
			if _, got := next[tt.a.Key]; got != tt.tracked {
				t.Errorf("tracked as missing = %v, want %v", got, tt.tracked)
			}
		})
	}
}

// TestDecideKeepsFirstSeen: the time a pod was first seen missing is kept
// across passes, and a pod coming back clears it.
func TestDecideKeepsFirstSeen(t *testing.T) {
	a := alloc("c1", "default", "gone", "u", t0.Add(-time.Hour))
	_, m := Decide([]datastore.Allocation{a}, Live{}, nil, t0, time.Minute)
	_, m = Decide([]datastore.Allocation{a}, Live{}, m, t0.Add(30*time.Second), time.Minute)
	if !m[a.Key].Equal(t0) {
		t.Fatalf("first seen = %v, want %v", m[a.Key], t0)
	}
	live := Live{}
	live.Add(PodRef{"default", "gone", "u"})
	if _, m = Decide([]datastore.Allocation{a}, live, m, t0.Add(time.Minute), time.Minute); len(m) != 0 {
		t.Errorf("a pod that came back is still tracked: %v", m)
	}
	rel, _ := Decide([]datastore.Allocation{a}, Live{}, map[datastore.Key]time.Time{a.Key: t0}, t0.Add(time.Minute), time.Minute)
	if len(rel) != 1 {
		t.Errorf("released %v after the grace, want the allocation", rel)
	}
}
