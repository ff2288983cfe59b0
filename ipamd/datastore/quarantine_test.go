package datastore

import (
	"bytes"
	"errors"
	"maps"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestRebuildIsCrashSafe (B4): after Load finds a damaged checkpoint (or
// another instance's), the file stays in place, with a copy set aside,
// until the write that carries the quarantine replaces it. A crash before
// that write (here: the write fails and the store is dropped) finds the
// same file again, and the rebuild is done again; after it, the
// checkpoint carries the quarantine.
func TestRebuildIsCrashSafe(t *testing.T) {
	good := func(t *testing.T, path string, primary string) []byte {
		s := New(Options{Path: path})
		e := testENI(primary, 0, "198.18.1.1/32")
		mustAddENI(t, s, e)
		mustAssign(t, s, key(1))
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	tests := []struct {
		name    string
		damage  func(t *testing.T, path string) []byte
		kind    string
		foreign bool
	}{
		{"corrupt", func(t *testing.T, path string) []byte {
			data := good(t, path, "eni-0")[:40]
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			return data
		}, "corrupt", false},
		{"another instance's", func(t *testing.T, path string) []byte {
			return good(t, path, "eni-other")
		}, "foreign", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			path := filepath.Join(tmpfsDir(t), "ipam.json")
			data := tt.damage(t, path)
			w := &failingWriter{}
			open := func() (*Store, LoadReport) {
				s := New(Options{Path: path, Now: clk.Now, PrimaryENI: "eni-0", WriteFile: w.write})
				rep, err := s.Load()
				if err != nil {
					t.Fatal(err)
				}
				if !errors.Is(rep.Corrupt, ErrCorrupt) || errors.Is(rep.Corrupt, ErrForeign) != tt.foreign {
					t.Fatalf("Load: Corrupt = %v, want ErrCorrupt (foreign: %v)", rep.Corrupt, tt.foreign)
				}
				if len(s.ENIs()) != 0 || len(s.Allocations()) != 0 {
					t.Fatalf("the store is not empty: %+v", snap(s))
				}
				return s, rep
			}
			rule := QuarantineRule{Until: clk.Now().Add(time.Hour), Within: pfx("198.18.1.0/24")}

			s, rep := open()
			w.failNext(1) // the crash: the write never happens
			if _, err := s.Quarantine(rule); !errors.Is(err, ErrCheckpoint) {
				t.Fatalf("Quarantine = %v, want ErrCheckpoint", err)
			}
			if kept, err := os.ReadFile(path); err != nil || !bytes.Equal(kept, data) {
				t.Fatalf("after a crash before the write the checkpoint is not the damaged one: %v", err)
			}
			s, rep2 := open() // the same second: a second copy
			if rep2.CorruptPath == rep.CorruptPath || !strings.Contains(rep.CorruptPath, "."+tt.kind+"-") {
				t.Errorf("copies set aside at %s and %s", rep.CorruptPath, rep2.CorruptPath)
			}
			for _, p := range []string{rep.CorruptPath, rep2.CorruptPath} {
				if kept, err := os.ReadFile(p); err != nil || !bytes.Equal(kept, data) {
					t.Errorf("copy %s: %v", p, err)
				}
			}
			if _, err := s.Quarantine(rule); err != nil {
				t.Fatal(err)
			}
			// The next start loads a good checkpoint carrying the rule,
			// which cools the addresses the reconciliation brings.
			r := New(Options{Path: path, Now: clk.Now, PrimaryENI: "eni-0"})
			if rep, err := r.Load(); err != nil || rep.Corrupt != nil {
				t.Fatalf("Load after the rebuild's write = %+v, %v", rep, err)
			}
			if got, ok := r.Quarantined(); !ok || !got.Until.Equal(rule.Until) {
				t.Fatalf("Quarantined = %+v, %v", got, ok)
			}
			mustAddENI(t, r, testENI("eni-0", 0, "198.18.1.1/32"))
			if _, err := r.Assign(key(2), Pod{}); !errors.Is(err, ErrNoAddress) {
				t.Errorf("Assign of a quarantined address = %v, want ErrNoAddress", err)
			}
		})
	}
}

// TestRestoreOverQuarantine: a salvaged allocation gets its address back
// from the quarantine (its owner is known); a salvaged cooldown of a
// quarantined address leaves it quarantined; a failed write undoes both.
func TestRestoreOverQuarantine(t *testing.T) {
	clk := newClock()
	w := &failingWriter{}
	s := New(Options{Path: filepath.Join(tmpfsDir(t), "ipam.json"), Now: clk.Now, WriteFile: w.write})
	until := clk.Now().Add(time.Hour)
	if _, err := s.Quarantine(QuarantineRule{Until: until}); err != nil {
		t.Fatal(err)
	}
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.1/32", "198.18.1.2/32", "198.18.1.3/32"))
	owned := Allocation{Key: key(1), IP: ip("198.18.1.1"), ENI: "eni-1", Pod: Pod{Name: "p1"}}
	cooling := map[netip.Addr]time.Time{ip("198.18.1.2"): clk.Now().Add(time.Minute)}
	before, beforeCooling := snap(s), s.Cooling()
	w.failNext(1)
	if _, err := s.Restore([]Allocation{owned}, cooling); !errors.Is(err, ErrCheckpoint) {
		t.Fatalf("Restore = %v, want ErrCheckpoint", err)
	}
	sameSnapshot(t, "after a failed Restore", snap(s), before)
	if got := s.Cooling(); len(got) != len(beforeCooling) || !got[ip("198.18.1.1")].Equal(until) {
		t.Errorf("Cooling after a failed Restore = %v, want %v", got, beforeCooling)
	}
	rep, err := s.Restore([]Allocation{owned}, cooling)
	if err != nil || rep.Allocations != 1 || len(rep.Skipped) != 0 {
		t.Fatalf("Restore = %+v, %v", rep, err)
	}
	if a, ok := s.Get(key(1)); !ok || a.IP != owned.IP {
		t.Errorf("Get = %+v, %v; want the salvaged allocation", a, ok)
	}
	want := map[netip.Addr]time.Time{ip("198.18.1.2"): until, ip("198.18.1.3"): until}
	if got := s.Cooling(); !maps.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("Cooling = %v, want %v", got, want)
	}
	checkConsistent(t, s)
}
