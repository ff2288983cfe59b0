package datastore

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// populate gives s two ENIs with /28s and /32s, allocations with pods,
// and cooling addresses.
func populate(t *testing.T, s *Store, clk *clock) {
	t.Helper()
	mustAddENI(t, s, testENI("eni-0", 0, "198.18.0.20/32", "198.18.0.21/32", "198.18.0.22/32"))
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.15.16/28", "198.18.1.0/28"))
	if err := s.AddBlocks("eni-1", pfx("198.18.2.0/28")); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := s.Assign(key(i), Pod{Namespace: "ns", Name: "p\"ö\n" + key(i).ContainerID, UID: "u"}); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Millisecond)
	}
	for _, i := range []int{1, 5, 18} {
		mustRelease(t, s, key(i))
	}
	clk.Advance(10 * time.Second)
	mustRelease(t, s, key(7))
}

func TestCheckpointRoundTrip(t *testing.T) {
	clk := newClock()
	path := filepath.Join(tmpfsDir(t), "state", "ipam.json") // the directory is made on first write
	opts := Options{Path: path, Cooldown: 30 * time.Second, Now: clk.Now}
	s := New(opts)
	if rep, err := s.Load(); err != nil || rep != (LoadReport{}) {
		t.Fatalf("Load of a missing checkpoint = %+v, %v", rep, err)
	}
	populate(t, s, clk)
	want := snap(s)
	if want.Stats.Cooling != 4 || want.Stats.Assigned != 16 {
		t.Fatalf("populate: %+v", want.Stats)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(data, &f); err != nil || string(f["version"]) != "1" {
		t.Fatalf("checkpoint is not JSON with version 1 (%v): %s", err, data)
	}

	s2 := New(opts)
	rep, err := s2.Load()
	if err != nil {
		t.Fatal(err)
	}
	if rep != (LoadReport{ENIs: 2, Allocations: 16, Cooling: 4}) {
		t.Errorf("LoadReport = %+v", rep)
	}
	sameSnapshot(t, "after Load", snap(s2), want)

	// Both stores go on identically: same choices, same cooldowns.
	for i := 100; i < 140; i++ {
		a1, err1 := s.Assign(key(i), Pod{})
		a2, err2 := s2.Assign(key(i), Pod{})
		if a1 != a2 || !errors.Is(err2, err1) {
			t.Fatalf("assign %d: %+v, %v vs loaded %+v, %v", i, a1, err1, a2, err2)
		}
		if i == 120 {
			clk.Advance(20 * time.Second) // the first three cooldowns end
		}
	}
	sameSnapshot(t, "after more assigns", snap(s2), snap(s))
	checkConsistent(t, s2)

	// A third store loads the file the second one wrote.
	s3 := New(opts)
	if _, err := s3.Load(); err != nil {
		t.Fatal(err)
	}
	sameSnapshot(t, "after a second Load", snap(s3), snap(s2))
}

func TestCooldownSurvivesLoad(t *testing.T) {
	clk := newClock()
	opts := Options{Path: filepath.Join(tmpfsDir(t), "ipam.json"), Cooldown: 30 * time.Second, Now: clk.Now}
	s := New(opts)
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.1/32"))
	mustAssign(t, s, key(1))
	mustRelease(t, s, key(1))

	clk.Advance(10 * time.Second)
	s2 := New(Options{Path: opts.Path, Cooldown: time.Second, Now: clk.Now}) // a new period applies to new releases only
	rep, err := s2.Load()
	if err != nil || rep.Cooling != 1 {
		t.Fatalf("Load = %+v, %v; want one cooling", rep, err)
	}
	if _, err := s2.Assign(key(2), Pod{}); !errors.Is(err, ErrNoAddress) {
		t.Fatalf("Assign of a still cooling address after restart = %v, want ErrNoAddress", err)
	}
	clk.Advance(20 * time.Second)
	if a := mustAssign(t, s2, key(2)); a.IP != ip("198.18.1.1") {
		t.Errorf("got %s", a.IP)
	}

	// A cooldown that ended while ipamd was down is not restored.
	mustRelease(t, s2, key(2))
	clk.Advance(time.Hour)
	s3 := New(opts)
	if rep, err := s3.Load(); err != nil || rep.Cooling != 0 {
		t.Fatalf("Load = %+v, %v; want nothing cooling", rep, err)
	}
	if st := s3.Stats(); st.Available != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestLoadCorrupt(t *testing.T) {
	clk := newClock()
	good := func() []byte {
		path := filepath.Join(t.TempDir(), "ipam.json")
		s := New(Options{Path: path, Cooldown: time.Minute, Now: clk.Now})
		populate(t, s, clk)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}()
	// edit decodes the good checkpoint, changes it and encodes it again.
	edit := func(change func(f *checkpointFile)) []byte {
		var f checkpointFile
		if err := json.Unmarshal(good, &f); err != nil {
			t.Fatal(err)
		}
		change(&f)
		data, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	tests := []struct {
		name string
		data []byte
		want string // in the error
	}{
		{"empty file", nil, "unexpected end"},
		{"truncated", good[:len(good)/2], "unexpected end"},
		{"truncated to one byte", good[:1], "unexpected end"},
		{"garbage", []byte("\x00\x01garbage\xff"), "invalid character"},
		{"trailing garbage", append(append([]byte{}, good...), "}x"...), "invalid character"},
		{"not an object", []byte(`[1,2,3]`), "cannot unmarshal"},
		{"unknown version", bytes.Replace(good, []byte(`"version":1`), []byte(`"version":2`), 1), "version 2"},
		{"no version", bytes.Replace(good, []byte(`"version":1,`), nil, 1), "version none"},
		{"wrong type", edit2(good, `"deviceIndex":0`, `"deviceIndex":"zero"`), "cannot unmarshal"},
		{"bad address", edit2(good, `"ip":"198.18.0.20"`, `"ip":"198.18.0.300"`), "198.18.0.300"},
		{"allocation outside its ENI's blocks", edit(func(f *checkpointFile) {
			f.Allocations[0].IP = ip("198.18.9.9")
		}), "none of eni-0's blocks"},
		{"allocation on another ENI's block", edit(func(f *checkpointFile) {
			f.Allocations[0].ENI = "eni-1"
		}), "none of eni-1's blocks"},
		{"allocation naming another block", edit(func(f *checkpointFile) {
			f.Allocations[0].Block = mustPrefix("198.18.2.0/28")
		}), "none of eni-0's blocks"},
		{"allocation of an ENI's primary address", edit(func(f *checkpointFile) {
			f.Allocations[len(f.Allocations)-1].IP = ip("198.18.15.17")
			f.Allocations[len(f.Allocations)-1].Block = mustPrefix("198.18.15.16/28")
		}), "primary address"},
		{"address held twice", edit(func(f *checkpointFile) {
			f.Allocations[1].IP = f.Allocations[0].IP
			f.Allocations[1].Block = f.Allocations[0].Block
			f.Allocations[1].ENI = f.Allocations[0].ENI
		}), "held twice"},
		{"key held twice", edit(func(f *checkpointFile) {
			f.Allocations[1].Key = f.Allocations[0].Key
		}), "two addresses"},
		{"empty key", edit(func(f *checkpointFile) {
			f.Allocations[1].ContainerID = ""
		}), "empty container id"},
		{"overlapping blocks", edit(func(f *checkpointFile) {
			f.ENIs[1].Blocks = append(f.ENIs[1].Blocks, mustPrefix("198.18.1.4/32"))
		}), "overlaps 198.18.1.0/28 of eni-1"},
		{"overlapping blocks of two ENIs", edit(func(f *checkpointFile) {
			f.ENIs[1].Blocks = append(f.ENIs[1].Blocks, mustPrefix("198.18.0.16/28"))
		}), "overlaps"},
		{"ENI twice", edit(func(f *checkpointFile) {
			f.ENIs = append(f.ENIs, f.ENIs[0])
		}), "already exists"},
		{"block outside the subnet", edit(func(f *checkpointFile) {
			f.ENIs[1].Blocks = append(f.ENIs[1].Blocks, mustPrefix("203.0.113.0/28"))
		}), "outside"},
		{"cooling and assigned", edit(func(f *checkpointFile) {
			f.Cooling[0].IP = f.Allocations[0].IP
		}), "both assigned and cooling"},
		{"cooling twice", edit(func(f *checkpointFile) {
			f.Cooling[1].IP = f.Cooling[0].IP
		}), "cooling twice"},
		{"cooling outside every block", edit(func(f *checkpointFile) {
			f.Cooling[0].IP = ip("198.18.9.9")
		}), "in no block"},
		{"cooling without an end", edit(func(f *checkpointFile) {
			f.Cooling[0].Until = time.Time{}
		}), "no end time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "ipam.json")
			s := New(Options{Path: path, Now: clk.Now})
			mustAddENI(t, s, testENI("eni-9", 9, "198.18.9.0/28")) // Load replaces this
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			rep, err := s.Load()
			if err != nil {
				t.Fatalf("Load returned an error for a corrupt checkpoint: %v", err)
			}
			if !errors.Is(rep.Corrupt, ErrCorrupt) || !strings.Contains(rep.Corrupt.Error(), tt.want) {
				t.Errorf("Corrupt = %v, want ErrCorrupt saying %q", rep.Corrupt, tt.want)
			}
			wantAside := path + ".corrupt-" + strconv.FormatInt(clk.Now().Unix(), 10)
			if rep.CorruptPath != wantAside || rep.ENIs+rep.Allocations+rep.Cooling != 0 {
				t.Errorf("LoadReport = %+v, want only Corrupt and CorruptPath %s", rep, wantAside)
			}
			if aside, err := os.ReadFile(wantAside); err != nil || !bytes.Equal(aside, tt.data) {
				t.Errorf("no intact copy of the corrupt checkpoint set aside: %v", err)
			}
			if kept, err := os.ReadFile(path); err != nil || !bytes.Equal(kept, tt.data) {
				t.Errorf("the corrupt checkpoint did not stay in place until the next write: %v", err)
			}
			if len(s.ENIs()) != 0 || len(s.Allocations()) != 0 {
				t.Fatalf("the store is not empty after a corrupt Load: %+v", snap(s))
			}
			if _, err := s.Assign(key(1), Pod{}); !errors.Is(err, ErrNoAddress) {
				t.Errorf("Assign after a corrupt Load = %v, want ErrNoAddress", err)
			}
			// Rebuilt from the cloud, it writes a good checkpoint again.
			mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.0/28"))
			mustAssign(t, s, key(1))
			s2 := New(Options{Path: path, Now: clk.Now})
			if rep, err := s2.Load(); err != nil || rep.Corrupt != nil || rep.Allocations != 1 {
				t.Errorf("Load after the rebuild = %+v, %v", rep, err)
			}
		})
	}
}

// edit2 replaces the first old in data with new.
func edit2(data []byte, old, new string) []byte {
	return bytes.Replace(data, []byte(old), []byte(new), 1)
}

func TestLoadIOError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ipam.json")
	if err := os.Mkdir(path, 0o700); err != nil { // a directory cannot be read as a file
		t.Fatal(err)
	}
	rep, err := New(Options{Path: path}).Load()
	if err == nil || errors.Is(err, ErrCorrupt) || rep.Corrupt != nil {
		t.Errorf("Load = %+v, %v; want an I/O error", rep, err)
	}
}

func TestLoadRemovesStaleTemp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ipam.json")
	if err := os.WriteFile(path+".tmp", []byte(`{"version":1,"en`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{Path: path}).Load(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".tmp"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file left: %v", err)
	}
}

func TestMemoryOnlyWritesNothing(t *testing.T) {
	w := &failingWriter{}
	s := New(Options{WriteFile: w.write})
	if rep, err := s.Load(); err != nil || rep != (LoadReport{}) {
		t.Fatalf("Load = %+v, %v", rep, err)
	}
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.0/28"))
	mustAssign(t, s, key(1))
	mustRelease(t, s, key(1))
	if w.count() != 0 {
		t.Errorf("%d writes with an empty Path", w.count())
	}
}
