package datastore

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/netip"
	"time"
)

// Salvaged is what could be read out of a damaged checkpoint.
type Salvaged struct {
	Allocations []Allocation
	Cooling     map[netip.Addr]time.Time
	// Complete is true when the whole file was read, in the current
	// format version: nothing can have been lost (the damage was in
	// the content, an allocation on no block for instance).
	Complete bool
}

// Salvage reads what it can out of a checkpoint that Load found corrupt:
// every complete allocation and cooldown record before the damage (a
// truncated file keeps those it wrote first). It never fails; from
// garbage it salvages nothing. Nothing it returns has been checked
// against the ENIs: Restore does that.
func Salvage(data []byte) Salvaged {
	out := Salvaged{Cooling: map[netip.Addr]time.Time{}}
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return out
	}
	version := 0
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return out
		}
		var ok bool
		switch tok {
		case "version":
			ok = dec.Decode(&version) == nil
		case "allocations":
			ok = salvageArray(dec, func(a Allocation) { out.Allocations = append(out.Allocations, a) })
		case "cooling":
			ok = salvageArray(dec, func(c coolRecord) { out.Cooling[c.IP] = c.Until })
		default:
			var skip json.RawMessage
			ok = dec.Decode(&skip) == nil
		}
		if !ok {
			return out
		}
	}
	if tok, err := dec.Token(); err == nil && tok == json.Delim('}') && version == checkpointVersion {
		_, err := dec.Token()
		out.Complete = err == io.EOF
	}
	return out
}

// salvageArray decodes the elements of the array at the decoder's
// position, passing each to add, until the array ends (true) or something
// does not decode (false).
func salvageArray[T any](dec *json.Decoder, add func(T)) bool {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
		return false
	}
	for dec.More() {
		var v T
		if err := dec.Decode(&v); err != nil {
			return false
		}
		add(v)
	}
	_, err := dec.Token()
	return err == nil
}

// RestoreReport says what Restore put back.
type RestoreReport struct {
	Allocations int
	Cooling     int
	// Skipped says, for each allocation or cooldown left out, why (its
	// address is on no managed block, is taken, ...).
	Skipped []error
}

// Restore puts allocations and cooldowns back into a store that was
// rebuilt from the cloud (after Load found the checkpoint corrupt): each
// allocation whose address is a usable, unassigned address of its ENI's
// blocks and whose key holds nothing, even if the address is cooling (a
// quarantine keeps addresses from pods whose owner is unknown: this one's
// is known); each cooldown that has not ended and whose address is usable
// and not assigned (one cooling already cools until the later end). The
// others are reported as skipped. One checkpoint write; if it fails,
// nothing is restored.
func (s *Store) Restore(allocs []Allocation, cooling map[netip.Addr]time.Time) (RestoreReport, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, now := s.st, s.now()
	st.expire(now)
	var rep RestoreReport
	var undo []func()
	for _, r := range allocs {
		u, err := st.restoreOwned(r)
		if err != nil {
			rep.Skipped = append(rep.Skipped, err)
			continue
		}
		undo = append(undo, u)
		rep.Allocations++
	}
	for ip, until := range cooling {
		u, err := st.restoreCooldown(ip, until, now)
		switch {
		case err != nil:
			rep.Skipped = append(rep.Skipped, err)
		case u != nil:
			undo = append(undo, u)
			rep.Cooling++
		}
	}
	if len(undo) == 0 {
		return rep, nil
	}
	err := s.commit(func() {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	})
	if err != nil {
		return RestoreReport{}, fmt.Errorf("restore: %w", err)
	}
	return rep, nil
}

// restoreOwned restores an allocation as restoreAllocation does, taking
// its address out of a cooldown first, and returns how to undo it.
func (st *state) restoreOwned(r Allocation) (undo func(), err error) {
	b := st.blockFor(r.IP)
	var off int
	var was time.Time
	if b != nil {
		off, _ = b.offset(r.IP)
		if s := b.slots[off]; s.alloc == nil && !s.coolUntil.IsZero() {
			was = s.coolUntil
			st.uncool(b, off)
		}
	}
	recool := func() {
		if !was.IsZero() {
			b.avail &^= 1 << off
			st.cool(b, off, was)
			st.reindex(b)
		}
	}
	if err := st.restoreAllocation(r); err != nil {
		recool()
		return nil, err
	}
	a := st.allocs[r.Key]
	return func() { st.unassign(a); recool() }, nil
}

// restoreCooldown restores a cooldown as restoreCooling does, or makes an
// address cooling already cool until the later end; it returns how to
// undo it, nil when nothing changed.
func (st *state) restoreCooldown(ip netip.Addr, until, now time.Time) (undo func(), err error) {
	if b := st.blockFor(ip); b != nil {
		off, _ := b.offset(ip)
		if s := b.slots[off]; s.alloc == nil && !s.coolUntil.IsZero() && !until.IsZero() {
			u, _ := st.holdSlot(b, off, until.UTC())
			return u, nil
		}
	}
	cooling, err := st.restoreCooling(coolRecord{IP: ip, Until: until}, now)
	if err != nil || !cooling {
		return nil, err
	}
	b := st.blockFor(ip)
	off, _ := b.offset(ip)
	return func() { st.uncool(b, off) }, nil
}

// uncool undoes a cooldown restoreCooling set; the heap entry it leaves
// is stale and expire skips it.
func (st *state) uncool(b *block, off int) {
	s := &b.slots[off]
	if s.coolUntil.IsZero() {
		return
	}
	s.coolUntil = time.Time{}
	b.cooling--
	b.avail |= 1 << off
	st.reindex(b)
}
