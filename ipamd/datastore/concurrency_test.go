package datastore

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// holders is the test's own record of who holds which address. A worker
// records an address after Assign returns and forgets it before it calls
// Release, so the store handing out an address someone still holds is
// always caught.
type holders struct {
	mu  sync.Mutex
	ip  map[netip.Addr]Key
	bad []string
}

func (h *holders) take(k Key, a netip.Addr) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if o, held := h.ip[a]; held && o != k {
		h.bad = append(h.bad, fmt.Sprintf("%s handed to %v while %v holds it", a, k, o))
	}
	h.ip[a] = k
}

func (h *holders) drop(a netip.Addr) {
	h.mu.Lock()
	delete(h.ip, a)
	h.mu.Unlock()
}

// TestConcurrentAssignRelease is a property test for -race: many
// goroutines assign and release concurrently (and release in bulk, and
// read); no address is ever held twice, and the counts stay consistent.
func TestConcurrentAssignRelease(t *testing.T) {
	for _, tc := range []struct {
		name     string
		path     bool
		cooldown time.Duration
		ops      int
	}{
		{"memory, no cooldown", false, 0, 400},
		{"memory, cooldown", false, time.Millisecond, 400},
		{"checkpoint, cooldown", true, time.Millisecond, 60},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clk := newClock()
			opts := Options{Cooldown: tc.cooldown, Now: clk.Now}
			if tc.path {
				opts.Path = filepath.Join(tmpfsDir(t), "ipam.json")
			}
			s := New(opts)
			mustAddENI(t, s, testENI("eni-0", 0, "198.18.0.20/32", "198.18.0.21/32", "198.18.0.22/32"))
			mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.0/28", "198.18.2.0/28"))
			total := s.Stats().Total
			h := &holders{ip: map[netip.Addr]Key{}}

			const workers, keysPerWorker = 8, 6 // 48 keys for 35 addresses: the pool runs dry
			var wg sync.WaitGroup
			for w := range workers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					worker(t, s, h, clk, w, keysPerWorker, tc.ops)
				}()
			}
			wg.Add(1)
			go func() { // a reader checking the counts meanwhile
				defer wg.Done()
				for range tc.ops {
					st := s.Stats()
					if st.Total != total || st.Assigned+st.Cooling+st.Available != total {
						t.Errorf("Stats = %+v, want total %d = assigned + cooling + available", st, total)
						return
					}
				}
			}()
			wg.Wait()
			for _, b := range h.bad {
				t.Error(b)
			}
			checkConsistent(t, s)
			if got, want := len(s.Allocations()), len(h.ip); got != want {
				t.Errorf("%d allocations, the workers hold %d", got, want)
			}
			if tc.path {
				s2 := New(opts)
				if _, err := s2.Load(); err != nil {
					t.Fatal(err)
				}
				sameSnapshot(t, "the checkpoint after the run", snap(s2), snap(s))
			}
		})
	}
}

func worker(t *testing.T, s *Store, h *holders, clk *clock, w, nkeys, ops int) {
	rng := rand.New(rand.NewPCG(uint64(w), 7))
	keys := make([]Key, nkeys)
	held := map[Key]netip.Addr{}
	for i := range keys {
		keys[i] = Key{ContainerID: fmt.Sprintf("w%d-c%d", w, i), IfName: "eth0"}
	}
	for range ops {
		k := keys[rng.IntN(nkeys)]
		switch r := rng.IntN(20); {
		case r < 10: // assign, maybe again
			a, err := s.Assign(k, Pod{Name: k.ContainerID})
			if err == nil {
				if prev, ok := held[k]; ok && prev != a.IP {
					t.Errorf("repeated Assign of %v: %s, then %s", k, prev, a.IP)
				}
				h.take(k, a.IP)
				held[k] = a.IP
			} else if !errors.Is(err, ErrNoAddress) {
				t.Errorf("Assign: %v", err)
			}
		case r < 18:
			if a, ok := held[k]; ok {
				h.drop(a)
				delete(held, k)
			}
			if _, _, err := s.Release(k); err != nil {
				t.Errorf("Release: %v", err)
			}
		case r < 19: // release all of this worker's odd keys at once
			mine := map[Key]bool{}
			for i := 1; i < nkeys; i += 2 {
				mine[keys[i]] = true
				if a, ok := held[keys[i]]; ok {
					h.drop(a)
					delete(held, keys[i])
				}
			}
			if _, err := s.ReleaseWhere(func(a Allocation) bool { return mine[a.Key] }); err != nil {
				t.Errorf("ReleaseWhere: %v", err)
			}
		default:
			clk.Advance(time.Duration(rng.IntN(400)) * time.Microsecond)
		}
	}
}
