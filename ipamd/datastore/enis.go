package datastore

import (
	"fmt"
	"net/netip"
)

// AddENI starts managing an ENI with its blocks. ErrExists if known, if
// another ENI has its network card and device index, or if a block
// overlaps one the store has; ErrInvalid for a malformed ENI or block (not
// a /32 or /28, outside the subnet, the ENI's primary address as a /32).
// Addresses QuarantineAddrs holds, or the Quarantine rule in force covers,
// start cooling until the hold or the rule ends.
func (s *Store) AddENI(e ENI) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	entry, err := st.addENI(e)
	if err != nil {
		return fmt.Errorf("add eni: %w", err)
	}
	st.applyHolds(entry.blocks, s.now())
	if err := s.commit(func() { st.removeENI(entry) }); err != nil {
		return fmt.Errorf("add eni %s: %w", e.ID, err)
	}
	if len(entry.blocks) > 0 {
		s.notify()
	}
	return nil
}

// RemoveENI stops managing an ENI. ErrInUse while any of its addresses is
// assigned or cooling; ErrNotFound for an unknown ENI.
func (s *Store) RemoveENI(id string) error {
	_, err := s.removeENI(id, false)
	return err
}

// DropENI stops managing an ENI even while its addresses are assigned or
// cooling, and returns the allocations it dropped. It is for an ENI the
// cloud says is gone: its addresses cannot serve pods any more.
func (s *Store) DropENI(id string) ([]Allocation, error) {
	return s.removeENI(id, true)
}

func (s *Store) removeENI(id string, force bool) ([]Allocation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.expire(s.now())
	e := st.enis[id]
	if e == nil {
		return nil, fmt.Errorf("remove eni %s: %w", id, ErrNotFound)
	}
	if !force {
		for _, b := range e.blocks {
			if !b.idle() {
				return nil, fmt.Errorf("remove eni %s: %w: block %s has %d assigned, %d cooling",
					id, ErrInUse, b.prefix, b.assigned, b.cooling)
			}
		}
	}
	dropped := allocationsOf(e.blocks)
	st.removeENI(e)
	if err := s.commit(func() { st.restoreENI(e) }); err != nil {
		return nil, fmt.Errorf("remove eni %s: %w", id, err)
	}
	sortByIP(dropped)
	return dropped, nil
}

// AddBlocks adds /32 or /28 blocks to a known ENI, all or none: ErrNotFound
// for an unknown ENI, ErrExists for a block overlapping one the store has,
// ErrInvalid for a malformed block. Addresses QuarantineAddrs holds, or the
// Quarantine rule in force covers, start cooling until the hold or the rule
// ends.
func (s *Store) AddBlocks(eniID string, blocks []netip.Prefix) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	e := st.enis[eniID]
	if e == nil {
		return fmt.Errorf("add blocks to %s: %w", eniID, ErrNotFound)
	}
	if len(blocks) == 0 {
		return nil
	}
	added, err := st.addBlocks(e, blocks)
	if err != nil {
		return fmt.Errorf("add blocks to %s: %w", eniID, err)
	}
	st.applyHolds(added, s.now())
	if err := s.commit(func() { st.removeBlocks(e, added) }); err != nil {
		return fmt.Errorf("add blocks to %s: %w", eniID, err)
	}
	s.notify()
	return nil
}

// RemoveBlocks removes blocks from an ENI; ErrInUse (and nothing removed)
// if any of their addresses is assigned or cooling, ErrNotFound (and
// nothing removed) if the ENI or one of the blocks is unknown.
func (s *Store) RemoveBlocks(eniID string, blocks []netip.Prefix) error {
	_, err := s.removeBlocks(eniID, blocks, false)
	return err
}

// DropBlocks removes blocks from an ENI even while their addresses are
// assigned or cooling, and returns the allocations it dropped. It is for
// blocks the cloud says the ENI no longer owns. ErrNotFound (and nothing
// removed) if the ENI or one of the blocks is unknown.
func (s *Store) DropBlocks(eniID string, blocks []netip.Prefix) ([]Allocation, error) {
	return s.removeBlocks(eniID, blocks, true)
}

func (s *Store) removeBlocks(eniID string, blocks []netip.Prefix, force bool) ([]Allocation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.expire(s.now())
	e := st.enis[eniID]
	if e == nil {
		return nil, fmt.Errorf("remove blocks from %s: %w", eniID, ErrNotFound)
	}
	var bs []*block
	seen := make(map[*block]bool, len(blocks))
	for _, p := range blocks {
		b := st.prefixes[p]
		if b == nil || b.eni != e {
			return nil, fmt.Errorf("remove block %s from %s: %w", p, eniID, ErrNotFound)
		}
		if !force && !b.idle() {
			return nil, fmt.Errorf("remove block %s from %s: %w: %d assigned, %d cooling",
				p, eniID, ErrInUse, b.assigned, b.cooling)
		}
		if !seen[b] {
			seen[b] = true
			bs = append(bs, b)
		}
	}
	if len(bs) == 0 {
		return nil, nil
	}
	dropped := allocationsOf(bs)
	st.removeBlocks(e, bs)
	if err := s.commit(func() { st.restoreBlocks(e, bs) }); err != nil {
		return nil, fmt.Errorf("remove blocks from %s: %w", eniID, err)
	}
	sortByIP(dropped)
	return dropped, nil
}

// ENIs lists the managed ENIs, ordered by network card and device index.
func (s *Store) ENIs() []ENI {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ENI, len(s.st.order))
	for i, e := range s.st.order {
		out[i] = e.public()
	}
	return out
}

// FreeBlocks returns an ENI's blocks none of whose addresses is assigned or
// cooling, in the order they should be released (the most recently added
// first). Nil for an unknown ENI.
func (s *Store) FreeBlocks(eniID string) []netip.Prefix {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.expire(s.now())
	e := s.st.enis[eniID]
	if e == nil {
		return nil
	}
	var out []netip.Prefix
	for i := len(e.blocks) - 1; i >= 0; i-- {
		if b := e.blocks[i]; b.idle() {
			out = append(out, b.prefix)
		}
	}
	return out
}

// Stats counts blocks and addresses now.
func (s *Store) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.st.expire(s.now())
	var out Stats
	out.ENIs = make([]ENIStats, len(s.st.order))
	for i, e := range s.st.order {
		es := ENIStats{
			ID: e.eni.ID, DeviceIndex: e.eni.DeviceIndex, NetworkCard: e.eni.NetworkCard,
			Primary: e.eni.Primary, Blocks: make([]BlockStats, len(e.blocks)),
		}
		for j, b := range e.blocks {
			bs := BlockStats{Prefix: b.prefix, Assigned: b.assigned, Cooling: b.cooling, Available: b.available()}
			es.Blocks[j] = bs
			es.Total += b.total()
			es.Assigned += bs.Assigned
			es.Cooling += bs.Cooling
			es.Available += bs.Available
		}
		out.ENIs[i] = es
		out.Total += es.Total
		out.Assigned += es.Assigned
		out.Cooling += es.Cooling
		out.Available += es.Available
	}
	return out
}
