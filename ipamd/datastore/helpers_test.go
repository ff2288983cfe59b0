package datastore

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"reflect"
	"sync"
	"testing"
	"time"
)

// clock is an injectable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

var testSubnet = netip.MustParsePrefix("198.18.0.0/20")

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func mustPrefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

// testENI is an ENI at device index dev of the test subnet, its primary
// address 198.18.15.<16*dev+1>.
func testENI(id string, dev int, blocks ...string) ENI {
	return ENI{
		ID: id, MAC: fmt.Sprintf("02:00:00:00:00:%02x", dev), DeviceIndex: dev, Primary: dev == 0,
		SubnetID: "subnet-0a", SubnetCIDR: testSubnet,
		PrimaryIP: netip.AddrFrom4([4]byte{198, 18, 15, byte(16*dev + 1)}),
		Blocks:    pfx(blocks...),
	}
}

func key(n int) Key { return Key{ContainerID: fmt.Sprintf("c%04d", n), IfName: "eth0"} }

func mustAddENI(t testing.TB, s *Store, e ENI) {
	t.Helper()
	if err := s.AddENI(e); err != nil {
		t.Fatalf("AddENI(%s): %v", e.ID, err)
	}
}

func mustAssign(t testing.TB, s *Store, k Key) Allocation {
	t.Helper()
	a, err := s.Assign(k, Pod{Namespace: "default", Name: "pod-" + k.ContainerID})
	if err != nil {
		t.Fatalf("Assign(%v): %v", k, err)
	}
	return a
}

func mustRelease(t testing.TB, s *Store, k Key) Allocation {
	t.Helper()
	a, found, err := s.Release(k)
	if err != nil || !found {
		t.Fatalf("Release(%v) = found %v, %v", k, found, err)
	}
	return a
}

// snapshot is everything a store shows.
type snapshot struct {
	ENIs        []ENI
	Allocations []Allocation
	Stats       Stats
	Free        map[string][]netip.Prefix
}

func snap(s *Store) snapshot {
	sn := snapshot{ENIs: s.ENIs(), Allocations: s.Allocations(), Stats: s.Stats(), Free: map[string][]netip.Prefix{}}
	for _, e := range sn.ENIs {
		sn.Free[e.ID] = s.FreeBlocks(e.ID)
	}
	return sn
}

func sameSnapshot(t testing.TB, what string, got, want snapshot) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: state differs\ngot:  %+v\nwant: %+v", what, got, want)
	}
}

// checkConsistent checks the invariants of a store's counts.
func checkConsistent(t testing.TB, s *Store) {
	t.Helper()
	st := s.Stats()
	allocs := s.Allocations()
	if st.Assigned != len(allocs) {
		t.Errorf("Stats.Assigned = %d, %d allocations", st.Assigned, len(allocs))
	}
	if st.Total != st.Assigned+st.Cooling+st.Available {
		t.Errorf("Stats: total %d != assigned %d + cooling %d + available %d", st.Total, st.Assigned, st.Cooling, st.Available)
	}
	seen := map[netip.Addr]Key{}
	for _, a := range allocs {
		if k, dup := seen[a.IP]; dup {
			t.Errorf("address %s held by %v and %v", a.IP, k, a.Key)
		}
		seen[a.IP] = a.Key
		if g, ok := s.Get(a.Key); !ok || g != a {
			t.Errorf("Get(%v) = %v, %v; want %v", a.Key, g, ok, a)
		}
	}
}

// failingWriter writes through to the real writer, except that it fails
// the writes it is told to.
type failingWriter struct {
	mu    sync.Mutex
	fail  int // fail this many of the next writes
	calls int
}

var errDiskFull = errors.New("no space left on device (injected)")

func (w *failingWriter) write(path string, data []byte) error {
	w.mu.Lock()
	w.calls++
	fail := w.fail > 0
	if fail {
		w.fail--
	}
	w.mu.Unlock()
	if fail {
		return errDiskFull
	}
	return writeFileAtomic(path, data)
}

func (w *failingWriter) failNext(n int) {
	w.mu.Lock()
	w.fail = n
	w.mu.Unlock()
}

func (w *failingWriter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.calls
}

// tmpfsDir is a fresh directory on tmpfs (/dev/shm) if there is one, else
// a test temp directory.
func tmpfsDir(t testing.TB) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		d, err := os.MkdirTemp("/dev/shm", "vpc-cni-datastore-")
		if err == nil {
			t.Cleanup(func() { _ = os.RemoveAll(d) })
			return d
		}
	}
	return t.TempDir()
}
