package datastore

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestFailedWriteUndoes: every change whose checkpoint write fails is
// undone, in memory and on disk, and the store goes on working.
func TestFailedWriteUndoes(t *testing.T) {
	type op func(s *Store) error
	tests := []struct {
		name     string
		cooldown time.Duration
		op       op
	}{
		{"assign", 0, func(s *Store) error { _, err := s.Assign(key(50), Pod{Name: "new"}); return err }},
		{"assign filling in the pod", 0, func(s *Store) error { _, err := s.Assign(key(40), Pod{Name: "late"}); return err }},
		{"release into cooldown", time.Minute, func(s *Store) error { _, _, err := s.Release(key(3)); return err }},
		{"release at once", 0, func(s *Store) error { _, _, err := s.Release(key(3)); return err }},
		{"release where", time.Minute, func(s *Store) error {
			_, err := s.ReleaseWhere(func(a Allocation) bool { return a.ENI == "eni-1" })
			return err
		}},
		{"add ENI", 0, func(s *Store) error { return s.AddENI(testENI("eni-2", 2, "198.18.2.0/28")) }},
		{"remove ENI", 0, func(s *Store) error { return s.RemoveENI("eni-3") }},
		{"drop ENI", time.Minute, func(s *Store) error { _, err := s.DropENI("eni-1"); return err }},
		{"add blocks", 0, func(s *Store) error { return s.AddBlocks("eni-1", pfx("198.18.5.0/28", "198.18.6.6/32")) }},
		{"remove blocks", 0, func(s *Store) error { return s.RemoveBlocks("eni-1", pfx("198.18.4.0/28", "198.18.3.3/32")) }},
		{"drop blocks", time.Minute, func(s *Store) error { _, err := s.DropBlocks("eni-1", pfx("198.18.1.0/28")); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			w := &failingWriter{}
			path := filepath.Join(tmpfsDir(t), "ipam.json")
			s := New(Options{Path: path, Cooldown: tt.cooldown, Now: clk.Now, WriteFile: w.write})
			mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.0/28", "198.18.3.3/32", "198.18.4.0/28"))
			mustAddENI(t, s, testENI("eni-3", 3))
			for i := range 10 {
				mustAssign(t, s, key(i))
			}
			if _, err := s.Assign(key(40), Pod{}); err != nil {
				t.Fatal(err)
			}
			mustRelease(t, s, key(9))
			before := snap(s)
			disk, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			changed := s.Changed()

			w.failNext(1)
			err = tt.op(s)
			if !errors.Is(err, ErrCheckpoint) || !errors.Is(err, errDiskFull) {
				t.Fatalf("err = %v, want ErrCheckpoint wrapping the write error", err)
			}
			sameSnapshot(t, "after a failed write", snap(s), before)
			checkConsistent(t, s)
			if now, _ := os.ReadFile(path); !bytes.Equal(now, disk) {
				t.Errorf("the checkpoint changed:\n%s\nwant\n%s", now, disk)
			}
			select {
			case <-changed:
				t.Error("Changed fired for an undone change")
			default:
			}
			s2 := New(Options{Path: path, Cooldown: tt.cooldown, Now: clk.Now})
			if _, err := s2.Load(); err != nil {
				t.Fatal(err)
			}
			sameSnapshot(t, "the checkpoint after a failed write", snap(s2), before)

			// The same change succeeds once the disk is back.
			if err := tt.op(s); err != nil {
				t.Fatalf("retry: %v", err)
			}
			checkConsistent(t, s)
			s3 := New(Options{Path: path, Cooldown: tt.cooldown, Now: clk.Now})
			if _, err := s3.Load(); err != nil {
				t.Fatal(err)
			}
			sameSnapshot(t, "the checkpoint after the retry", snap(s3), snap(s))
		})
	}
}

// TestEveryChangeIsWritten: each change is on disk when its method returns.
func TestEveryChangeIsWritten(t *testing.T) {
	clk := newClock()
	w := &failingWriter{}
	path := filepath.Join(tmpfsDir(t), "ipam.json")
	opts := Options{Path: path, Cooldown: time.Minute, Now: clk.Now, WriteFile: w.write}
	s := New(opts)
	steps := []struct {
		name   string
		op     func() error
		writes int
	}{
		{"add ENI", func() error { return s.AddENI(testENI("eni-1", 1, "198.18.1.0/28")) }, 1},
		{"add blocks", func() error { return s.AddBlocks("eni-1", pfx("198.18.2.0/28", "198.18.3.0/28")) }, 1},
		{"add no blocks", func() error { return s.AddBlocks("eni-1", nil) }, 0},
		{"assign", func() error { _, err := s.Assign(key(1), Pod{}); return err }, 1},
		{"assign again", func() error { _, err := s.Assign(key(1), Pod{}); return err }, 0},
		{"assign filling in the pod", func() error { _, err := s.Assign(key(1), Pod{Name: "p"}); return err }, 1},
		{"assign another", func() error { _, err := s.Assign(key(2), Pod{}); return err }, 1},
		{"assign a third", func() error { _, err := s.Assign(key(3), Pod{}); return err }, 1},
		{"release", func() error { _, _, err := s.Release(key(1)); return err }, 1},
		{"release unknown", func() error { _, _, err := s.Release(key(1)); return err }, 0},
		{"release where", func() error {
			_, err := s.ReleaseWhere(func(Allocation) bool { return true })
			return err
		}, 1},
		{"remove blocks", func() error { return s.RemoveBlocks("eni-1", pfx("198.18.3.0/28")) }, 1},
		{"drop blocks", func() error { _, err := s.DropBlocks("eni-1", pfx("198.18.1.0/28")); return err }, 1},
		{"add ENI 2", func() error { return s.AddENI(testENI("eni-2", 2)) }, 1},
		{"remove ENI", func() error { return s.RemoveENI("eni-2") }, 1},
		{"drop ENI", func() error { _, err := s.DropENI("eni-1"); return err }, 1},
	}
	for _, st := range steps {
		n := w.count()
		if err := st.op(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if got := w.count() - n; got != st.writes {
			t.Errorf("%s: %d writes, want %d", st.name, got, st.writes)
		}
		s2 := New(opts)
		if _, err := s2.Load(); err != nil {
			t.Fatal(err)
		}
		sameSnapshot(t, st.name+": the checkpoint", snap(s2), snap(s))
	}
}
