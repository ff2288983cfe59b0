package datastore

import (
	"fmt"
	"net/netip"
	"time"
)

// QuarantineAddrs keeps the given addresses from pods until the given
// time, wherever they turn up: each the store has that is free cools until
// then (one already cooling cools until then at least; an assigned one is
// left alone), and each it does not have cools from the moment a block
// bringing it is added, if that is before then. It is for addresses whose
// allocation was dropped because the cloud no longer had their block: the
// pod that held one may still be using it if it comes back to the node.
// It returns how many addresses the store has that it cooled now. The
// record of addresses the store does not have is not in the checkpoint.
// One checkpoint write; if it fails, nothing changes.
func (s *Store) QuarantineAddrs(until time.Time, addrs []netip.Addr) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, now := s.st, s.now()
	st.expire(now)
	if !now.Before(until) || len(addrs) == 0 {
		return 0, nil
	}
	until = until.UTC()
	st.pruneHolds(now)
	if st.held == nil {
		st.held = map[netip.Addr]time.Time{}
	}
	var undo []func()
	n := 0
	for _, ip := range addrs {
		old, had := st.held[ip]
		if !had || old.Before(until) {
			st.held[ip] = until
			undo = append(undo, func() {
				if had {
					st.held[ip] = old
				} else {
					delete(st.held, ip)
				}
			})
		}
		if b := st.blockFor(ip); b != nil {
			off, _ := b.offset(ip)
			if u, ok := st.holdSlot(b, off, until); ok {
				undo = append(undo, u)
				n++
			}
		}
	}
	if n == 0 {
		return 0, nil // nothing in the checkpoint changes
	}
	err := s.commit(func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	})
	if err != nil {
		return 0, fmt.Errorf("quarantine addresses: %w", err)
	}
	return n, nil
}

// holdSlot makes a free slot of b cool until at least until, and returns
// how to undo that; ok is false when there was nothing to do (assigned,
// not usable, or cooling until then already).
func (st *state) holdSlot(b *block, off int, until time.Time) (undo func(), ok bool) {
	s := &b.slots[off]
	switch {
	case b.usable&(1<<off) == 0, s.alloc != nil, !s.coolUntil.Before(until):
		return nil, false
	case s.coolUntil.IsZero():
		b.avail &^= 1 << off
		st.cool(b, off, until)
		st.reindex(b)
		return func() { st.uncool(b, off) }, true
	}
	old := s.coolUntil
	s.coolUntil = until // the old heap entry goes stale; expire skips it
	st.pushCool(coolEntry{b: b, off: off, until: until})
	return func() {
		s.coolUntil = old
		st.pushCool(coolEntry{b: b, off: off, until: old})
	}, true
}

// applyHolds cools the addresses of new blocks that QuarantineAddrs holds
// at now, or that the quarantine rule in force covers.
func (st *state) applyHolds(bs []*block, now time.Time) {
	st.applyQuarantine(bs, now)
	if len(st.held) == 0 {
		return
	}
	st.pruneHolds(now)
	for _, b := range bs {
		for off := range b.slots {
			if until, ok := st.held[b.addr(off)]; ok {
				st.holdSlot(b, off, until)
			}
		}
	}
}

// pruneHolds forgets the holds that ended by now.
func (st *state) pruneHolds(now time.Time) {
	for ip, until := range st.held {
		if !now.Before(until) {
			delete(st.held, ip)
		}
	}
}
