package datastore

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzDecodeCheckpoint: no input makes decoding panic, and whatever it
// accepts is a consistent store that writes itself back unchanged.
func FuzzDecodeCheckpoint(f *testing.F) {
	clk := newClock()
	path := filepath.Join(f.TempDir(), "ipam.json")
	s := New(Options{Path: path, Cooldown: time.Minute, Now: clk.Now})
	mustAddENI(f, s, testENI("eni-0", 0, "198.18.0.20/32", "198.18.0.21/32"))
	mustAddENI(f, s, testENI("eni-1", 1, "198.18.15.16/28", "198.18.1.0/28"))
	for i := range 4 {
		mustAssign(f, s, key(i))
	}
	mustRelease(f, s, key(2))
	good, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)/3])
	if _, err := s.Quarantine(QuarantineRule{Until: clk.Now().Add(time.Hour), Within: pfx("198.18.1.0/28")}); err != nil {
		f.Fatal(err)
	}
	quarantined, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(quarantined)
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"version":1,"enis":[{"id":"e","subnetCidr":"198.18.0.0/24","blocks":["198.18.0.0/28"]}],` +
		`"allocations":[{"containerId":"c","ifName":"eth0","ip":"198.18.0.3","eni":"e"}],"cooling":[{"ip":"198.18.0.4","until":"2100-01-01T00:00:00Z"}]}`))
	now := clk.Now()
	f.Fuzz(func(t *testing.T, data []byte) {
		st, _, err := decodeCheckpoint(data, now)
		if err != nil {
			return
		}
		out, err := st.appendCheckpoint(nil)
		if err != nil {
			t.Fatalf("encode an accepted checkpoint: %v", err)
		}
		st2, _, err := decodeCheckpoint(out, now)
		if err != nil {
			t.Fatalf("an accepted checkpoint, written back, is refused: %v\n%s", err, out)
		}
		out2, _ := st2.appendCheckpoint(nil)
		if !bytes.Equal(out, out2) {
			t.Fatalf("written back differently:\n%s\n%s", out, out2)
		}
		s := &Store{opts: Options{Now: func() time.Time { return now }}, st: st}
		checkConsistent(t, s)
	})
}
