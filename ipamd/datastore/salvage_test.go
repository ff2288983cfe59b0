package datastore

import (
	"errors"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// rebuilt is a store with the ENIs and blocks of s and nothing else, as a
// rebuild from the cloud makes it.
func rebuilt(t *testing.T, s *Store, opts Options) *Store {
	t.Helper()
	r := New(opts)
	for _, e := range s.ENIs() {
		mustAddENI(t, r, e)
	}
	return r
}

func TestSalvageAndRestore(t *testing.T) {
	clk := newClock()
	path := filepath.Join(t.TempDir(), "ipam.json")
	s := New(Options{Path: path, Now: clk.Now, Cooldown: 30 * time.Second})
	populate(t, s, clk)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := s.Allocations()
	wantCooling := s.Cooling()

	whole := Salvage(data)
	if !whole.Complete || len(whole.Allocations) != len(want) || !maps.EqualFunc(whole.Cooling, wantCooling, time.Time.Equal) {
		t.Fatalf("Salvage(whole checkpoint) = %d allocations, cooling %v; want %d, %v",
			len(whole.Allocations), whole.Cooling, len(want), wantCooling)
	}
	r := rebuilt(t, s, Options{Now: clk.Now, Cooldown: 30 * time.Second})
	rep, err := r.Restore(whole.Allocations, whole.Cooling)
	if err != nil || rep.Allocations != len(want) || rep.Cooling != len(wantCooling) || len(rep.Skipped) != 0 {
		t.Fatalf("Restore = %+v, %v", rep, err)
	}
	sameSnapshot(t, "restored from the whole checkpoint", snap(r), snap(s))
	checkConsistent(t, r)

	// Truncated anywhere, what is salvaged is a prefix of the allocations
	// and restores as it was.
	for cut := 0; cut < len(data); cut += 7 {
		got := Salvage(data[:cut])
		if got.Complete {
			t.Fatalf("cut at %d of %d: Salvage says it read everything", cut, len(data))
		}
		if len(got.Allocations) > len(want) {
			t.Fatalf("cut at %d: %d allocations salvaged, more than %d", cut, len(got.Allocations), len(want))
		}
		r := rebuilt(t, s, Options{Now: clk.Now})
		rep, err := r.Restore(got.Allocations, nil)
		if err != nil || rep.Allocations != len(got.Allocations) {
			t.Fatalf("cut at %d: Restore = %+v, %v", cut, rep, err)
		}
		if have := r.Allocations(); !reflect.DeepEqual(have, sortedPrefix(want, got.Allocations)) {
			t.Fatalf("cut at %d: restored %v, not among the originals", cut, have)
		}
		checkConsistent(t, r)
	}
}

// sortedPrefix returns those of want whose keys are in got, in want's order.
func sortedPrefix(want, got []Allocation) []Allocation {
	keys := map[Key]bool{}
	for _, a := range got {
		keys[a.Key] = true
	}
	out := []Allocation{}
	for _, a := range want {
		if keys[a.Key] {
			out = append(out, a)
		}
	}
	return out
}

func TestSalvageComplete(t *testing.T) {
	tests := []struct {
		data     string
		complete bool
	}{
		{`{"version":1,"enis":[],"allocations":[],"cooling":[]}`, true},
		{`{"version":1,"enis":[],"allocations":[],"cooling":[]}` + "\n", true},
		{`{"version":1,"allocations":[{"containerId":"c","ifName":"eth0","ip":"198.18.1.1","eni":"eni-9"}]}`, true},
		{`{"version":2,"enis":[],"allocations":[],"cooling":[]}`, false},
		{`{"enis":[],"allocations":[],"cooling":[]}`, false},
		{`{"version":1,"enis":[],"allocations":[],"cooling":[]}{}`, false},
		{`{"version":1,"enis":[],"allocations":[],"cooling":[]`, false},
	}
	for _, tt := range tests {
		if got := Salvage([]byte(tt.data)); got.Complete != tt.complete {
			t.Errorf("Salvage(%s).Complete = %v, want %v", tt.data, got.Complete, tt.complete)
		}
	}
}

func TestSalvageGarbage(t *testing.T) {
	for _, data := range []string{"", "garbage", "[1,2]", `{"version":1,"enis":[{"id":`, `{"allocations":{}}`,
		`{"allocations":[{"ip":"bad"}]}`, "\x00\x01\x02"} {
		got := Salvage([]byte(data))
		if len(got.Allocations) != 0 || len(got.Cooling) != 0 {
			t.Errorf("Salvage(%q) = %+v, want nothing", data, got)
		}
	}
}

func TestRestoreSkips(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now, Cooldown: time.Minute})
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.0/28"))
	held := mustAssign(t, s, key(1))
	tests := []struct {
		name string
		a    Allocation
	}{
		{"address taken", Allocation{Key: key(2), IP: held.IP, ENI: "eni-1"}},
		{"key taken", Allocation{Key: key(1), IP: netip.MustParseAddr("198.18.1.9"), ENI: "eni-1"}},
		{"no block", Allocation{Key: key(3), IP: netip.MustParseAddr("198.18.9.9"), ENI: "eni-1"}},
		{"other ENI", Allocation{Key: key(4), IP: netip.MustParseAddr("198.18.1.9"), ENI: "eni-9"}},
		{"primary address", Allocation{Key: key(5), IP: netip.MustParseAddr("198.18.15.17"), ENI: "eni-1"}},
		{"empty key", Allocation{IP: netip.MustParseAddr("198.18.1.9"), ENI: "eni-1"}},
	}
	before := snap(s)
	for _, tt := range tests {
		rep, err := s.Restore([]Allocation{tt.a}, nil)
		if err != nil || rep.Allocations != 0 || len(rep.Skipped) != 1 {
			t.Errorf("%s: Restore = %+v, %v; want one skipped", tt.name, rep, err)
		}
	}
	past := clk.Now().Add(-time.Second)
	rep, err := s.Restore(nil, map[netip.Addr]time.Time{held.IP: clk.Now().Add(time.Hour), netip.MustParseAddr("198.18.1.3"): past})
	if err != nil || rep.Cooling != 0 || len(rep.Skipped) != 1 {
		t.Errorf("Restore(cooling of a held address, an ended one) = %+v, %v", rep, err)
	}
	sameSnapshot(t, "after skipped restores", snap(s), before)
}

func TestQuarantine(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now, Cooldown: time.Minute})
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.0/28", "198.18.2.2/32"))
	mustAssign(t, s, key(1))
	mustAssign(t, s, key(2))
	mustRelease(t, s, key(2))
	st := s.Stats()
	until := clk.Now().Add(time.Hour)
	n, err := s.Quarantine(QuarantineRule{Until: until})
	if err != nil || n != st.Available {
		t.Fatalf("Quarantine = %d, %v; want %d", n, err, st.Available)
	}
	if got := s.Stats(); got.Available != 0 || got.Cooling != st.Cooling+st.Available || got.Assigned != 1 {
		t.Fatalf("Stats after Quarantine = %+v", got)
	}
	if _, err := s.Assign(key(3), Pod{}); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("Assign during the quarantine = %v, want ErrNoAddress", err)
	}
	if n, err := s.Quarantine(QuarantineRule{Until: clk.Now()}); n != 0 || err != nil {
		t.Errorf("Quarantine(now) = %d, %v; want nothing", n, err)
	}
	clk.Advance(time.Hour)
	if got := s.Stats(); got.Available != st.Available+st.Cooling || got.Cooling != 0 {
		t.Fatalf("Stats after the quarantine = %+v", got)
	}
	checkConsistent(t, s)
}

func TestRestoreAndQuarantineUndoOnFailedWrite(t *testing.T) {
	clk := newClock()
	w := &failingWriter{}
	path := filepath.Join(tmpfsDir(t), "ipam.json")
	s := New(Options{Path: path, Now: clk.Now, Cooldown: time.Minute, WriteFile: w.write})
	populate(t, s, clk)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sal := Salvage(data)
	r := rebuilt(t, s, Options{Path: filepath.Join(tmpfsDir(t), "ipam.json"), Now: clk.Now, WriteFile: w.write})
	before := snap(r)
	w.failNext(1)
	if _, err := r.Restore(sal.Allocations, sal.Cooling); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("Restore with a failing write = %v, want ErrCheckpoint", err)
	}
	sameSnapshot(t, "after a failed Restore", snap(r), before)
	if c := r.Cooling(); len(c) != 0 {
		t.Errorf("Cooling after a failed Restore = %v", c)
	}
	w.failNext(1)
	if _, err := r.Quarantine(QuarantineRule{Until: clk.Now().Add(time.Hour)}); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("Quarantine with a failing write = %v, want ErrCheckpoint", err)
	}
	sameSnapshot(t, "after a failed Quarantine", snap(r), before)
	checkConsistent(t, r)
	if _, err := r.Restore(sal.Allocations, sal.Cooling); err != nil {
		t.Fatal(err)
	}
	sameSnapshot(t, "restored after the failures", snap(r), snap(s))
}
