package datastore

import (
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Options configures a Store.
type Options struct {
	// Path of the checkpoint file, e.g. /run/vpc-cni/ipam.json. Empty:
	// in memory only (tests).
	Path string
	// Cooldown is how long a released address waits before reuse
	// (IP_COOLDOWN_PERIOD). Zero or negative: reusable at once.
	Cooldown time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// PrimaryENI is the instance's primary ENI. When set, Load treats a
	// checkpoint whose primary ENI is another as another instance's (a
	// state directory copied or shared between nodes): like a corrupt one,
	// with ErrForeign.
	PrimaryENI string
	// WriteFile writes the checkpoint's bytes to path so that the file is
	// either the old or the new checkpoint, whatever crashes. Default: a
	// temp file in the same directory, fsync, rename over path, fsync the
	// directory. Tests replace it to make writes fail.
	WriteFile func(path string, data []byte) error
}

// LoadReport says what Load restored.
type LoadReport struct {
	ENIs        int
	Allocations int
	Cooling     int
	// Corrupt is set when the checkpoint existed but could not be read
	// (it wraps ErrCorrupt), or was another instance's (ErrForeign too); a
	// copy of it is at CorruptPath, it stays in place until the next
	// write, and the store starts empty.
	Corrupt     error
	CorruptPath string
}

// Store is the datastore. Safe for concurrent use.
//
// One mutex guards the model and is held across the checkpoint write, so
// the file always matches a state the store was in and a failed write can
// be undone before anyone else sees the change.
type Store struct {
	opts Options

	mu      sync.Mutex
	st      *state
	changed chan struct{} // closed by notify; nil until someone asks
	buf     []byte        // checkpoint encoding buffer, reused
	// damaged: the file on disk is a damaged (or another instance's)
	// checkpoint Load found, not yet replaced by a write.
	damaged bool
}

// New returns an empty store.
func New(opts Options) *Store {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Cooldown < 0 {
		opts.Cooldown = 0
	}
	if opts.WriteFile == nil {
		opts.WriteFile = writeFileAtomic
	}
	return &Store{opts: opts, st: newState()}
}

// now returns the time in UTC without a monotonic reading, as it would
// read back from the checkpoint.
func (s *Store) now() time.Time { return s.opts.Now().UTC() }

// commit writes the checkpoint; if that fails it runs undo, tries to put
// the previous state back on disk and returns an error wrapping
// ErrCheckpoint.
func (s *Store) commit(undo func()) error {
	if s.opts.Path == "" {
		return nil
	}
	err := s.save()
	if err == nil {
		return nil
	}
	undo()
	// If the failure came after the rename, the file holds the undone
	// change: rewrite the restored state, best effort (the next
	// successful write fixes it in any case). Not over a damaged
	// checkpoint not yet replaced, though: the next start must find it
	// (and rebuild again), not an empty store.
	if !s.damaged {
		_ = s.save()
	}
	return err
}

// notify wakes the waiters of Changed.
func (s *Store) notify() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// Changed returns a channel closed at the next change that can make an
// Assign succeed: an ENI or blocks added, or a release with no cooldown. A
// cooldown expiring is not a change: callers also poll on a timer.
func (s *Store) Changed() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// Assign gives the key an address: the one it already holds if any
// (idempotent; the pod is recorded only if none was), else a free
// cooled-down one, from the block with the most assigned addresses, then
// the first ENI (network card, device index), then the lowest address.
// ErrNoAddress when there is none. The checkpoint is written before it
// returns.
func (s *Store) Assign(key Key, pod Pod) (Allocation, error) {
	if key.ContainerID == "" || key.IfName == "" {
		return Allocation{}, fmt.Errorf("assign: %w: empty container id or interface name", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	st, now := s.st, s.now()
	st.expire(now)
	if a := st.allocs[key]; a != nil {
		if a.pub.Pod == (Pod{}) && pod != (Pod{}) {
			a.pub.Pod, a.frag = pod, nil
			if err := s.commit(func() { a.pub.Pod, a.frag = Pod{}, nil }); err != nil {
				return Allocation{}, fmt.Errorf("assign: %w", err)
			}
		}
		return a.pub, nil
	}
	b, off := st.pick()
	if b == nil {
		return Allocation{}, ErrNoAddress
	}
	e := b.eni.eni
	a := &allocation{b: b, off: off, pub: Allocation{
		Key: key, Pod: pod, IP: b.addr(off), Block: b.prefix,
		ENI: e.ID, DeviceIndex: e.DeviceIndex, RouteTable: e.RouteTable(), AssignedAt: now,
	}}
	st.assign(a)
	if err := s.commit(func() { st.unassign(a) }); err != nil {
		return Allocation{}, fmt.Errorf("assign: %w", err)
	}
	return a.pub, nil
}

// coolUntil is when an address released now may be reused; zero: at once.
func (s *Store) coolUntil(now time.Time) time.Time {
	if s.opts.Cooldown <= 0 {
		return time.Time{}
	}
	return now.Add(s.opts.Cooldown)
}

// Release frees the key's address into cooldown; found is false (and err
// nil) when the key holds nothing. The checkpoint is written before it
// returns.
func (s *Store) Release(key Key) (a Allocation, found bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, now := s.st, s.now()
	st.expire(now)
	al := st.allocs[key]
	if al == nil {
		return Allocation{}, false, nil
	}
	until := s.coolUntil(now)
	st.release(al, until)
	if err := s.commit(func() { st.unrelease(al) }); err != nil {
		return Allocation{}, false, fmt.Errorf("release: %w", err)
	}
	if until.IsZero() {
		s.notify()
	}
	return al.pub, true, nil
}

// ReleaseWhere releases every allocation the predicate selects (pods that
// are gone, attachments the runtime no longer holds), with one checkpoint
// write, and returns them ordered by IP. The predicate runs without the
// store's lock held (it may be slow, and may call the store); an
// allocation that changed meanwhile is left alone.
func (s *Store) ReleaseWhere(pred func(Allocation) bool) ([]Allocation, error) {
	if pred == nil {
		return nil, nil
	}
	type candidate struct {
		a   *allocation
		pub Allocation
	}
	s.mu.Lock()
	snap := make([]candidate, 0, len(s.st.allocs))
	for _, a := range s.st.allocs {
		snap = append(snap, candidate{a, a.pub})
	}
	s.mu.Unlock()
	picked := snap[:0]
	for _, c := range snap {
		if pred(c.pub) {
			picked = append(picked, c)
		}
	}
	if len(picked) == 0 {
		return nil, nil
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	st, now := s.st, s.now()
	st.expire(now)
	until := s.coolUntil(now)
	var done []*allocation
	for _, c := range picked {
		if st.allocs[c.pub.Key] == c.a && c.a.pub == c.pub {
			st.release(c.a, until)
			done = append(done, c.a)
		}
	}
	if len(done) == 0 {
		return nil, nil
	}
	err := s.commit(func() {
		for i := len(done) - 1; i >= 0; i-- {
			st.unrelease(done[i])
		}
	})
	if err != nil {
		return nil, fmt.Errorf("release: %w", err)
	}
	if until.IsZero() {
		s.notify()
	}
	out := make([]Allocation, len(done))
	for i, a := range done {
		out[i] = a.pub
	}
	sortByIP(out)
	return out, nil
}

func sortByIP(as []Allocation) {
	slices.SortFunc(as, func(x, y Allocation) int { return x.IP.Compare(y.IP) })
}

// Get returns the key's allocation.
func (s *Store) Get(key Key) (Allocation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.st.allocs[key]; a != nil {
		return a.pub, true
	}
	return Allocation{}, false
}

// Allocations lists every allocation, ordered by IP.
func (s *Store) Allocations() []Allocation {
	s.mu.Lock()
	out := make([]Allocation, 0, len(s.st.allocs))
	for _, a := range s.st.allocs {
		out = append(out, a.pub)
	}
	s.mu.Unlock()
	sortByIP(out)
	return out
}

// Lookup returns the allocation holding ip, if any.
func (s *Store) Lookup(ip netip.Addr) (Allocation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.st.blockFor(ip)
	if b == nil {
		return Allocation{}, false
	}
	off, _ := b.offset(ip)
	if a := b.slots[off].alloc; a != nil {
		return a.pub, true
	}
	return Allocation{}, false
}
