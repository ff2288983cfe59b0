package datastore

import (
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// assignAll assigns until the store has no address left and returns the
// addresses handed out.
func assignAll(t *testing.T, s *Store, from int) []netip.Addr {
	t.Helper()
	var out []netip.Addr
	for i := from; ; i++ {
		a, err := s.Assign(key(i), Pod{})
		if errors.Is(err, ErrNoAddress) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a.IP)
	}
}

// TestQuarantineRuleCoversLaterBlocks: the rule cools what the store has
// and what enters it later (an ENI, blocks) within its scope until its end,
// also across a restart (it is in the checkpoint); what it does not cover,
// and what enters after its end, is usable at once.
func TestQuarantineRuleCoversLaterBlocks(t *testing.T) {
	tests := []struct {
		name    string
		within  []netip.Prefix
		covered []string // some of the addresses added below the rule covers
		free    []string // all those it does not cover
	}{
		{"every address", nil, []string{"198.18.1.1", "198.18.2.1", "198.18.3.0", "198.18.3.15", "198.18.4.1"}, nil},
		{"within the node's blocks", pfx("198.18.1.1/32", "198.18.2.1/32", "198.18.3.0/28"),
			[]string{"198.18.1.1", "198.18.2.1", "198.18.3.0", "198.18.3.15"}, []string{"198.18.4.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			path := filepath.Join(tmpfsDir(t), "ipam.json")
			s := New(Options{Path: path, Now: clk.Now, Cooldown: 30 * time.Second})
			mustAddENI(t, s, testENI("eni-0", 0, "198.18.1.1/32"))
			until := clk.Now().Add(time.Hour)
			if n, err := s.Quarantine(QuarantineRule{Until: until, Within: tt.within}); n != 1 || err != nil {
				t.Fatalf("Quarantine = %d, %v; want the one address the store has", n, err)
			}
			// A restart: the rule comes back from the checkpoint.
			s = New(Options{Path: path, Now: clk.Now, Cooldown: 30 * time.Second})
			if _, err := s.Load(); err != nil {
				t.Fatal(err)
			}
			if r, ok := s.Quarantined(); !ok || !r.Until.Equal(until) || !slices.Equal(r.Within, tt.within) {
				t.Fatalf("Quarantined after a reload = %+v, %v", r, ok)
			}
			clk.Advance(10 * time.Minute)
			mustAddENI(t, s, testENI("eni-1", 1, "198.18.2.1/32", "198.18.3.0/28"))
			if err := s.AddBlocks("eni-0", pfx("198.18.4.1/32")); err != nil {
				t.Fatal(err)
			}
			cooling := s.Cooling()
			for _, a := range tt.covered {
				if got := cooling[ip(a)]; !got.Equal(until) {
					t.Errorf("%s cooling until %v, want the quarantine's end %v", a, got, until)
				}
			}
			var got []string
			for _, a := range assignAll(t, s, 1) {
				got = append(got, a.String())
			}
			if !slices.Equal(got, tt.free) {
				t.Errorf("handed out %v during the quarantine, want %v", got, tt.free)
			}
			checkConsistent(t, s)

			// At its end the rule is gone: what it cooled is usable, and
			// what enters now is not cooled.
			clk.Advance(time.Hour)
			if _, ok := s.Quarantined(); ok {
				t.Error("the rule is in force after its end")
			}
			if _, err := s.DropBlocks("eni-0", pfx("198.18.4.1/32")); err != nil {
				t.Fatal(err)
			}
			if err := s.AddBlocks("eni-0", pfx("198.18.4.1/32")); err != nil {
				t.Fatal(err)
			}
			if c := s.Cooling(); len(c) != 0 {
				t.Errorf("cooling after the quarantine: %v", c)
			}
			r := New(Options{Path: path, Now: clk.Now})
			if _, err := r.Load(); err != nil {
				t.Fatal(err)
			}
			if q, ok := r.Quarantined(); ok {
				t.Errorf("an ended rule came back from the checkpoint: %+v", q)
			}
		})
	}
}

// TestQuarantineRulesJoin: a second rule while one is in force covers what
// either covers, until the later end; a rule that ended is replaced.
func TestQuarantineRulesJoin(t *testing.T) {
	clk := newClock()
	s := New(Options{Now: clk.Now})
	now := clk.Now()
	steps := []struct {
		rule QuarantineRule
		want QuarantineRule
	}{
		{QuarantineRule{Until: now.Add(time.Hour), Within: pfx("198.18.1.1/32")},
			QuarantineRule{Until: now.Add(time.Hour), Within: pfx("198.18.1.1/32")}},
		{QuarantineRule{Until: now.Add(time.Minute), Within: pfx("198.18.2.0/28")},
			QuarantineRule{Until: now.Add(time.Hour), Within: pfx("198.18.1.1/32", "198.18.2.0/28")}},
		{QuarantineRule{Until: now.Add(2 * time.Hour)}, QuarantineRule{Until: now.Add(2 * time.Hour)}},
		{QuarantineRule{Until: now.Add(time.Minute), Within: pfx("198.18.3.1/32")}, QuarantineRule{Until: now.Add(2 * time.Hour)}},
	}
	for i, st := range steps {
		if _, err := s.Quarantine(st.rule); err != nil {
			t.Fatal(err)
		}
		if got, ok := s.Quarantined(); !ok || !got.Until.Equal(st.want.Until) || !slices.Equal(got.Within, st.want.Within) {
			t.Errorf("step %d: Quarantined = %+v, %v; want %+v", i, got, ok, st.want)
		}
	}
	clk.Advance(3 * time.Hour)
	next := QuarantineRule{Until: clk.Now().Add(time.Minute), Within: pfx("198.18.3.1/32")}
	if _, err := s.Quarantine(next); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Quarantined(); !slices.Equal(got.Within, next.Within) {
		t.Errorf("after the first rule ended: %+v, want %+v", got, next)
	}
}

// TestQuarantineRuleFailedWrite: a quarantine whose checkpoint write fails
// changes nothing, the rule included.
func TestQuarantineRuleFailedWrite(t *testing.T) {
	clk := newClock()
	w := &failingWriter{}
	path := filepath.Join(tmpfsDir(t), "ipam.json")
	s := New(Options{Path: path, Now: clk.Now, WriteFile: w.write})
	mustAddENI(t, s, testENI("eni-0", 0, "198.18.1.1/32"))
	before := snap(s)
	w.failNext(1)
	if _, err := s.Quarantine(QuarantineRule{Until: clk.Now().Add(time.Hour)}); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("Quarantine = %v, want ErrCheckpoint", err)
	}
	sameSnapshot(t, "after a failed write", snap(s), before)
	if r, ok := s.Quarantined(); ok {
		t.Errorf("a failed quarantine left a rule: %+v", r)
	}
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.2.1/32"))
	if c := s.Cooling(); len(c) != 0 {
		t.Errorf("a failed quarantine cooled %v", c)
	}
}

// TestQuarantineRuleInCheckpointIsChecked: a rule without an end, or with
// a scope that is not IPv4 prefixes, makes the checkpoint corrupt.
func TestQuarantineRuleInCheckpointIsChecked(t *testing.T) {
	now := newClock().Now()
	for _, q := range []string{
		`{}`,
		`{"until":"2100-01-01T00:00:00Z","within":[""]}`,
		`{"until":"2100-01-01T00:00:00Z","within":["2001:db8::/64"]}`,
		`{"until":"2100-01-01T00:00:00Z","within":["not a prefix"]}`,
	} {
		data := `{"version":1,"enis":[],"allocations":[],"cooling":[],"quarantine":` + q + `}`
		if _, _, err := decodeCheckpoint([]byte(data), now); !errors.Is(err, ErrCorrupt) {
			t.Errorf("quarantine %s: %v, want ErrCorrupt", q, err)
		}
	}
	ok := `{"version":1,"enis":[],"allocations":[],"cooling":[],"quarantine":{"until":"2100-01-01T00:00:00Z","within":["198.18.0.0/28"]}}`
	st, _, err := decodeCheckpoint([]byte(ok), now)
	if err != nil || st.quarantine == nil {
		t.Fatalf("a good rule: %v", err)
	}
}
