package datastore

import (
	"maps"
	"net/netip"
	"testing"
	"time"
)

func TestCooling(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now, Cooldown: 30 * time.Second})
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.1/32", "198.18.2.0/28"))
	if got := s.Cooling(); len(got) != 0 {
		t.Fatalf("Cooling of a fresh store = %v, want none", got)
	}
	a1 := mustAssign(t, s, key(1))
	a2 := mustAssign(t, s, key(2))
	mustAssign(t, s, key(3))
	t0 := clk.Now()
	mustRelease(t, s, key(1))
	clk.Advance(10 * time.Second)
	mustRelease(t, s, key(2))

	want := map[netip.Addr]time.Time{a1.IP: t0.Add(30 * time.Second), a2.IP: t0.Add(40 * time.Second)}
	got := s.Cooling()
	if !maps.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("Cooling = %v, want %v", got, want)
	}
	got[a1.IP] = time.Time{} // the caller's copy
	if again := s.Cooling(); !maps.EqualFunc(again, want, time.Time.Equal) {
		t.Fatalf("Cooling after the caller changed its map = %v, want %v", again, want)
	}
	if st := s.Stats(); st.Cooling != len(want) {
		t.Errorf("Stats.Cooling = %d, Cooling lists %d", st.Cooling, len(want))
	}

	clk.Advance(20 * time.Second) // a1's cooldown ends
	want = map[netip.Addr]time.Time{a2.IP: t0.Add(40 * time.Second)}
	if got := s.Cooling(); !maps.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("Cooling after the first cooldown ended = %v, want %v", got, want)
	}
	clk.Advance(10 * time.Second)
	if got := s.Cooling(); len(got) != 0 {
		t.Fatalf("Cooling after every cooldown ended = %v, want none", got)
	}
}
