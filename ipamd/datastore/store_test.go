package datastore

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func TestAssignPacking(t *testing.T) {
	s := New(Options{})
	// The primary ENI has two /32s; eni-1 a /28 holding its own primary
	// address (198.18.15.17), which is never handed out; eni-2 a /28.
	mustAddENI(t, s, testENI("eni-2", 2, "198.18.2.0/28"))
	primary := testENI("eni-0", 0, "198.18.0.21/32", "198.18.0.20/32")
	mustAddENI(t, s, primary)
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.15.16/28"))

	steps := []struct {
		op   string // "a" assign, "r" release
		key  int
		want string
	}{
		// All blocks are empty: ENI order, then the lowest address.
		{"a", 1, "198.18.0.20"},
		{"a", 2, "198.18.0.21"},
		{"a", 3, "198.18.15.16"},
		// The /28 with one assigned now comes first; .15.17 is eni-1's primary.
		{"a", 4, "198.18.15.18"},
		{"a", 5, "198.18.15.19"},
		// A freed /32 (no cooldown) has 0 assigned: the fuller /28 wins.
		{"r", 1, "198.18.0.20"},
		{"a", 6, "198.18.15.20"},
		// Free a hole in the /28: the lowest free address of the fullest block.
		{"r", 3, "198.18.15.16"},
		{"a", 7, "198.18.15.16"},
	}
	for i, st := range steps {
		var got netip.Addr
		if st.op == "a" {
			got = mustAssign(t, s, key(st.key)).IP
		} else {
			got = mustRelease(t, s, key(st.key)).IP
		}
		if got != ip(st.want) {
			t.Fatalf("step %d (%s %d): %s, want %s", i, st.op, st.key, got, st.want)
		}
	}
	for i := 8; i < 8+11; i++ { // the rest of eni-1's /28
		if a := mustAssign(t, s, key(i)); a.ENI != "eni-1" {
			t.Fatalf("assign %d went to %s (%s) before eni-1's /28 was full", i, a.ENI, a.IP)
		}
	}
	a := mustAssign(t, s, key(100))
	if a.IP != ip("198.18.0.20") || a.ENI != "eni-0" || a.RouteTable != MainRouteTable || a.DeviceIndex != 0 {
		t.Errorf("after eni-1 is full: %+v, want 198.18.0.20 on eni-0, main table", a)
	}
	a = mustAssign(t, s, key(101))
	if a.IP != ip("198.18.2.0") || a.RouteTable != 3 || a.DeviceIndex != 2 || a.Block != netip.MustParsePrefix("198.18.2.0/28") {
		t.Errorf("then: %+v, want 198.18.2.0 on eni-2, table 3", a)
	}
	if st := s.Stats(); st.Total != 2+15+16 || st.Assigned != 2+15+1 {
		t.Errorf("Stats = %+v", st)
	}
	checkConsistent(t, s)
}

func TestAssign(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now})
	if _, err := s.Assign(key(1), Pod{}); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("Assign on an empty store = %v, want ErrNoAddress", err)
	}
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.1/32", "198.18.1.2/32"))
	for _, k := range []Key{{"", "eth0"}, {"c1", ""}} {
		if _, err := s.Assign(k, Pod{}); !errors.Is(err, ErrInvalid) {
			t.Errorf("Assign(%v) = %v, want ErrInvalid", k, err)
		}
	}

	first, err := s.Assign(key(1), Pod{})
	if err != nil {
		t.Fatal(err)
	}
	want := Allocation{Key: key(1), IP: ip("198.18.1.1"), Block: netip.MustParsePrefix("198.18.1.1/32"),
		ENI: "eni-1", DeviceIndex: 1, RouteTable: 2, AssignedAt: clk.Now()}
	if first != want {
		t.Errorf("Assign = %+v, want %+v", first, want)
	}
	clk.Advance(time.Second)
	pod := Pod{Namespace: "ns", Name: "web", UID: "u1", Netns: "/var/run/netns/x", HostIfName: "eni1234"}
	again, err := s.Assign(key(1), pod)
	if err != nil {
		t.Fatal(err)
	}
	want.Pod = pod // an empty pod is filled in; nothing else changes
	if again != want {
		t.Errorf("repeated Assign = %+v, want %+v", again, want)
	}
	third, _ := s.Assign(key(1), Pod{Name: "other"})
	if third != want {
		t.Errorf("Assign with another pod = %+v, want it unchanged %+v", third, want)
	}
	other := mustAssign(t, s, Key{ContainerID: key(1).ContainerID, IfName: "eth1"})
	if other.IP != ip("198.18.1.2") {
		t.Errorf("second interface got %s", other.IP)
	}
	if _, err := s.Assign(key(3), Pod{}); !errors.Is(err, ErrNoAddress) {
		t.Errorf("Assign on a full pool = %v, want ErrNoAddress", err)
	}
	if g, ok := s.Get(key(1)); !ok || g != want {
		t.Errorf("Get = %+v, %v", g, ok)
	}
	if _, ok := s.Get(key(3)); ok {
		t.Error("Get of an unknown key found something")
	}
	if a, ok := s.Lookup(ip("198.18.1.2")); !ok || a.IfName != "eth1" {
		t.Errorf("Lookup = %+v, %v", a, ok)
	}
	for _, addr := range []string{"198.18.1.3", "203.0.113.1", "::1"} {
		if _, ok := s.Lookup(ip(addr)); ok {
			t.Errorf("Lookup(%s) found something", addr)
		}
	}
}

func TestReleaseAndCooldown(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now, Cooldown: 30 * time.Second})
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.1/32", "198.18.1.2/32"))
	a1 := mustAssign(t, s, key(1))
	mustAssign(t, s, key(2))

	if _, found, err := s.Release(key(9)); found || err != nil {
		t.Errorf("Release(unknown) = %v, %v", found, err)
	}
	if got := mustRelease(t, s, key(1)); got != a1 {
		t.Errorf("Release returned %+v, want %+v", got, a1)
	}
	if _, found, _ := s.Release(key(1)); found {
		t.Error("second Release found the allocation again")
	}
	if st := s.Stats(); st.Cooling != 1 || st.Available != 0 || st.Assigned != 1 {
		t.Errorf("Stats while cooling = %+v", st)
	}
	if _, err := s.Assign(key(3), Pod{}); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("Assign while the only free address cools = %v, want ErrNoAddress", err)
	}
	clk.Advance(30*time.Second - time.Nanosecond)
	if _, err := s.Assign(key(3), Pod{}); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("Assign a nanosecond before the cooldown ends = %v", err)
	}
	clk.Advance(time.Nanosecond)
	if st := s.Stats(); st.Cooling != 0 || st.Available != 1 {
		t.Errorf("Stats after the cooldown = %+v", st)
	}
	if a := mustAssign(t, s, key(3)); a.IP != a1.IP {
		t.Errorf("after the cooldown got %s, want %s", a.IP, a1.IP)
	}
	checkConsistent(t, s)
}

func TestChanged(t *testing.T) {
	clk := newClock()
	cooling := New(Options{Now: clk.Now, Cooldown: time.Second})
	immediate := New(Options{Now: clk.Now})
	for _, s := range []*Store{cooling, immediate} {
		mustAddENI(t, s, testENI("eni-0", 0))
	}
	tests := []struct {
		name string
		s    *Store
		op   func(s *Store) error
		want bool
	}{
		{"add ENI with blocks", immediate, func(s *Store) error { return s.AddENI(testENI("eni-1", 1, "198.18.1.0/28")) }, true},
		{"add ENI without blocks", immediate, func(s *Store) error { return s.AddENI(testENI("eni-2", 2)) }, false},
		{"add blocks", immediate, func(s *Store) error { return s.AddBlocks("eni-0", pfx("198.18.2.0/28")) }, true},
		{"assign", immediate, func(s *Store) error { _, err := s.Assign(key(1), Pod{}); return err }, false},
		{"release, no cooldown", immediate, func(s *Store) error { _, _, err := s.Release(key(1)); return err }, true},
		{"failed add", immediate, func(s *Store) error { s.AddBlocks("eni-0", pfx("198.18.2.0/28")); return nil }, false},
		{"add blocks (cooling store)", cooling, func(s *Store) error { return s.AddBlocks("eni-0", pfx("198.18.3.0/28")) }, true},
		{"assign (cooling store)", cooling, func(s *Store) error { _, err := s.Assign(key(1), Pod{}); return err }, false},
		{"release into cooldown", cooling, func(s *Store) error { _, _, err := s.Release(key(1)); return err }, false},
		{"remove blocks", immediate, func(s *Store) error { return s.RemoveBlocks("eni-0", pfx("198.18.2.0/28")) }, false},
	}
	for _, tt := range tests {
		ch := tt.s.Changed()
		if err := tt.op(tt.s); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		closed := false
		select {
		case <-ch:
			closed = true
		default:
		}
		if closed != tt.want {
			t.Errorf("%s: channel closed = %v, want %v", tt.name, closed, tt.want)
		}
		if closed {
			select {
			case <-tt.s.Changed():
				t.Errorf("%s: the next channel is closed already", tt.name)
			default:
			}
		}
	}
}

func TestReleaseWhere(t *testing.T) {
	s := New(Options{})
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.0/28"))
	for i := range 6 {
		mustAssign(t, s, key(i))
	}
	got, err := s.ReleaseWhere(func(a Allocation) bool {
		_, _ = s.Get(a.Key) // the predicate may call the store
		return a.IP.As4()[3]%2 == 1
	})
	if err != nil {
		t.Fatal(err)
	}
	var ips []string
	for _, a := range got {
		ips = append(ips, a.IP.String())
	}
	if want := []string{"198.18.1.1", "198.18.1.3", "198.18.1.5"}; !reflect.DeepEqual(ips, want) {
		t.Errorf("released %v, want %v", ips, want)
	}
	if n := len(s.Allocations()); n != 3 {
		t.Errorf("%d allocations left, want 3", n)
	}
	for _, pred := range []func(Allocation) bool{nil, func(Allocation) bool { return false }} {
		if got, err := s.ReleaseWhere(pred); got != nil || err != nil {
			t.Errorf("ReleaseWhere(none) = %v, %v", got, err)
		}
	}
	checkConsistent(t, s)
}

func TestStatsAndFreeBlocks(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now, Cooldown: time.Minute})
	mustAddENI(t, s, testENI("eni-0", 0, "198.18.0.5/32"))
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.0/28", "198.18.2.0/28"))
	if err := s.AddBlocks("eni-1", pfx("198.18.3.0/28")); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // .0.5, then 198.18.1.0 and .1
		mustAssign(t, s, key(i))
	}
	mustRelease(t, s, key(2))
	want := Stats{
		ENIs: []ENIStats{
			{ID: "eni-0", DeviceIndex: 0, Primary: true, Total: 1, Assigned: 1,
				Blocks: []BlockStats{{Prefix: netip.MustParsePrefix("198.18.0.5/32"), Assigned: 1}}},
			{ID: "eni-1", DeviceIndex: 1, Total: 48, Assigned: 1, Cooling: 1, Available: 46,
				Blocks: []BlockStats{
					{Prefix: netip.MustParsePrefix("198.18.1.0/28"), Assigned: 1, Cooling: 1, Available: 14},
					{Prefix: netip.MustParsePrefix("198.18.2.0/28"), Available: 16},
					{Prefix: netip.MustParsePrefix("198.18.3.0/28"), Available: 16},
				}},
		},
		Total: 49, Assigned: 2, Cooling: 1, Available: 46,
	}
	if got := s.Stats(); !reflect.DeepEqual(got, want) {
		t.Errorf("Stats =\n%+v\nwant\n%+v", got, want)
	}
	if got, want := s.FreeBlocks("eni-1"), pfx("198.18.3.0/28", "198.18.2.0/28"); !reflect.DeepEqual(got, want) {
		t.Errorf("FreeBlocks = %v, want %v (most recent first)", got, want)
	}
	if got := s.FreeBlocks("eni-0"); got != nil {
		t.Errorf("FreeBlocks(eni-0) = %v", got)
	}
	if got := s.FreeBlocks("eni-9"); got != nil {
		t.Errorf("FreeBlocks(unknown) = %v", got)
	}
}

func TestResultsAreCopies(t *testing.T) {
	s := New(Options{})
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.0/28", "198.18.2.0/28"))
	mustAssign(t, s, key(1))
	before := snap(s)
	e := s.ENIs()
	e[0].Blocks[0] = netip.MustParsePrefix("203.0.113.0/28")
	e[0].ID = "changed"
	st := s.Stats()
	st.ENIs[0].Blocks[0].Assigned = 99
	st.ENIs[0].ID = "changed"
	fb := s.FreeBlocks("eni-1")
	fb[0] = netip.Prefix{}
	al := s.Allocations()
	al[0].IP = ip("203.0.113.1")
	sameSnapshot(t, "after changing returned values", snap(s), before)

	// Changing the ENI passed in does not change the store either.
	in := testENI("eni-2", 2, "198.18.5.0/28")
	mustAddENI(t, s, in)
	in.Blocks[0] = netip.MustParsePrefix("198.18.6.0/28")
	if got := s.ENIs()[1].Blocks[0]; got != netip.MustParsePrefix("198.18.5.0/28") {
		t.Errorf("the store kept the caller's slice: %v", got)
	}
}
