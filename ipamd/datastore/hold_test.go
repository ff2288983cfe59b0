package datastore

import (
	"errors"
	"maps"
	"net/netip"
	"path/filepath"
	"testing"
	"time"
)

// TestQuarantineAddrs: held addresses are kept from pods until the time
// given, whether the store has them now (free, cooling, assigned) or they
// come later with a block or an ENI; then they are usable again.
func TestQuarantineAddrs(t *testing.T) {
	held := []netip.Addr{ip("198.18.1.1"), ip("198.18.1.2"), ip("198.18.1.3"), ip("198.18.2.5"), ip("198.18.3.1")}
	clk := newClock()
	s := New(Options{Now: clk.Now, Cooldown: 30 * time.Second})
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.1/32", "198.18.1.2/32", "198.18.1.3/32"))
	a := mustAssign(t, s, key(1)) // 198.18.1.1: assigned, left alone
	b := mustAssign(t, s, key(2)) // 198.18.1.2: released, cooling 30s
	mustRelease(t, s, key(2))
	t0 := clk.Now()
	until := t0.Add(time.Minute)
	n, err := s.QuarantineAddrs(until, held)
	if err != nil || n != 2 {
		t.Fatalf("QuarantineAddrs = %d, %v; want 2 (the cooling one extended, the free one cooled)", n, err)
	}
	if a.IP != held[0] || b.IP != held[1] {
		t.Fatalf("setup: assigned %s and %s", a.IP, b.IP)
	}
	// Later: a block and an ENI bring held addresses; one not held.
	clk.Advance(10 * time.Second)
	if err := s.AddBlocks("eni-1", pfx("198.18.2.0/28", "198.18.4.1/32")); err != nil {
		t.Fatal(err)
	}
	mustAddENI(t, s, testENI("eni-2", 2, "198.18.3.1/32"))
	want := map[netip.Addr]time.Time{held[1]: until, held[2]: until, held[3]: until, held[4]: until}
	if got := s.Cooling(); !maps.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("Cooling = %v, want %v", got, want)
	}
	checkConsistent(t, s)
	for i := 3; ; i++ {
		got, err := s.Assign(key(i), Pod{})
		if errors.Is(err, ErrNoAddress) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := want[got.IP]; ok {
			t.Fatalf("held address %s handed out", got.IP)
		}
	}
	// After the hold: usable again, and a block added now is not held.
	clk.Advance(time.Minute)
	if got := s.Cooling(); len(got) != 0 {
		t.Errorf("Cooling after the hold = %v", got)
	}
	if st := s.Stats(); st.Available != len(want) {
		t.Errorf("%d available after the hold, want %d", st.Available, len(want))
	}
	if _, err := s.DropBlocks("eni-2", pfx("198.18.3.1/32")); err != nil {
		t.Fatal(err)
	}
	if err := s.AddBlocks("eni-2", pfx("198.18.3.1/32")); err != nil {
		t.Fatal(err)
	}
	if got := s.Cooling(); len(got) != 0 {
		t.Errorf("an expired hold cooled %v", got)
	}
	checkConsistent(t, s)
}

// TestQuarantineAddrsNothingToDo: a time not in the future, no addresses,
// or addresses all assigned or held longer change nothing.
func TestQuarantineAddrsNothingToDo(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now})
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.1/32", "198.18.1.2/32"))
	mustAssign(t, s, key(1))
	now := clk.Now()
	for _, tc := range []struct {
		name  string
		until time.Time
		addrs []netip.Addr
	}{
		{"past", now, []netip.Addr{ip("198.18.1.2")}},
		{"none", now.Add(time.Hour), nil},
		{"assigned", now.Add(time.Hour), []netip.Addr{ip("198.18.1.1")}},
	} {
		if n, err := s.QuarantineAddrs(tc.until, tc.addrs); n != 0 || err != nil {
			t.Errorf("%s: %d, %v", tc.name, n, err)
		}
	}
	if n, _ := s.QuarantineAddrs(now.Add(time.Hour), []netip.Addr{ip("198.18.1.2")}); n != 1 {
		t.Fatalf("quarantined %d", n)
	}
	if n, _ := s.QuarantineAddrs(now.Add(time.Minute), []netip.Addr{ip("198.18.1.2")}); n != 0 {
		t.Errorf("a shorter hold changed %d", n)
	}
	if got := s.Cooling()[ip("198.18.1.2")]; !got.Equal(now.Add(time.Hour)) {
		t.Errorf("cooling until %v, want the longer hold", got)
	}
}

// TestQuarantineAddrsCheckpoint: the cooled addresses are in the
// checkpoint; a failed write changes nothing, the record of addresses to
// hold included.
func TestQuarantineAddrsCheckpoint(t *testing.T) {
	clk := newClock()
	w := &failingWriter{}
	path := filepath.Join(tmpfsDir(t), "ipam.json")
	s := New(Options{Path: path, Now: clk.Now, WriteFile: w.write})
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.1/32"))
	until := clk.Now().Add(time.Hour)
	before := snap(s)
	w.failNext(1)
	if _, err := s.QuarantineAddrs(until, []netip.Addr{ip("198.18.1.1"), ip("198.18.9.9")}); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("err = %v, want ErrCheckpoint", err)
	}
	sameSnapshot(t, "after a failed write", snap(s), before)
	if err := s.AddBlocks("eni-1", pfx("198.18.9.9/32")); err != nil {
		t.Fatal(err)
	}
	if got := s.Cooling(); len(got) != 0 {
		t.Fatalf("a failed quarantine still holds %v", got)
	}
	if n, err := s.QuarantineAddrs(until, []netip.Addr{ip("198.18.1.1")}); n != 1 || err != nil {
		t.Fatalf("QuarantineAddrs = %d, %v", n, err)
	}
	r := New(Options{Path: path, Now: clk.Now})
	if _, err := r.Load(); err != nil {
		t.Fatal(err)
	}
	if got := r.Cooling(); !got[ip("198.18.1.1")].Equal(until) || len(got) != 1 {
		t.Errorf("reloaded cooling %v, want 198.18.1.1 until %v", got, until)
	}
}
