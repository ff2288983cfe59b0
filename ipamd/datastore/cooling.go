package datastore

import (
	"net/netip"
	"time"
)

// coolEntry says when a released address may be reused. Entries are not
// removed when an undo or a removal makes them stale; expire skips those.
type coolEntry struct {
	b     *block
	off   int
	until time.Time
}

// cool marks a free slot as cooling until the given time.
func (st *state) cool(b *block, off int, until time.Time) {
	b.slots[off].coolUntil = until
	b.cooling++
	st.pushCool(coolEntry{b: b, off: off, until: until})
}

// expire makes the addresses whose cooldown ended by now available.
func (st *state) expire(now time.Time) {
	for len(st.cooling) > 0 && !now.Before(st.cooling[0].until) {
		e := st.popCool()
		s := &e.b.slots[e.off]
		if e.b.detached || s.alloc != nil || !s.coolUntil.Equal(e.until) {
			continue // stale: undone, or the block is gone
		}
		s.coolUntil = time.Time{}
		e.b.cooling--
		e.b.avail |= 1 << e.off
		st.reindex(e.b)
	}
}

func (st *state) pushCool(e coolEntry) {
	h := append(st.cooling, e)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].until.Before(h[p].until) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	st.cooling = h
}

func (st *state) popCool() coolEntry {
	h := st.cooling
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = coolEntry{}
	h = h[:last]
	for i := 0; ; {
		m, l, r := i, 2*i+1, 2*i+2
		if l < len(h) && h[l].until.Before(h[m].until) {
			m = l
		}
		if r < len(h) && h[r].until.Before(h[m].until) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	st.cooling = h
	return top
}

// Cooling returns, for each address cooling down now, when it becomes
// usable again (introspection shows it). The map is the caller's.
func (s *Store) Cooling() map[netip.Addr]time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.expire(s.now())
	out := map[netip.Addr]time.Time{}
	for _, e := range s.st.order {
		for _, b := range e.blocks {
			for i := 0; b.cooling > 0 && i < len(b.slots); i++ {
				if until := b.slots[i].coolUntil; !until.IsZero() {
					out[b.addr(i)] = until
				}
			}
		}
	}
	return out
}
