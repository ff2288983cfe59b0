package datastore

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"slices"
	"time"
)

// QuarantineRule keeps addresses from pods until a time, also those that
// enter the store later: see Quarantine.
type QuarantineRule struct {
	Until time.Time `json:"until"`
	// Within are the addresses the rule covers; empty: every address.
	Within []netip.Prefix `json:"within,omitempty"`
}

// covers reports whether the rule covers ip.
func (r QuarantineRule) covers(ip netip.Addr) bool {
	if len(r.Within) == 0 {
		return true
	}
	for _, p := range r.Within {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// merge is a rule covering what r and o cover, until the later end.
func (r QuarantineRule) merge(o QuarantineRule) QuarantineRule {
	out := QuarantineRule{Until: r.Until}
	if o.Until.After(out.Until) {
		out.Until = o.Until
	}
	if len(r.Within) > 0 && len(o.Within) > 0 {
		out.Within = slices.Concat(r.Within, o.Within)
	}
	return out
}

// check says what is wrong with a rule read from a checkpoint.
func (r QuarantineRule) check() error {
	if r.Until.IsZero() {
		return fmt.Errorf("quarantine has no end time")
	}
	for _, p := range r.Within {
		if !p.IsValid() || !p.Addr().Is4() {
			return fmt.Errorf("quarantine covers %s, not an IPv4 prefix", p)
		}
	}
	return nil
}

// quarantine is the rule in force and its cached checkpoint JSON.
type quarantine struct {
	rule QuarantineRule
	frag []byte
}

func newQuarantine(r QuarantineRule) (*quarantine, error) {
	r.Until = r.Until.UTC()
	r.Within = slices.Clone(r.Within)
	frag, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode quarantine: %w", err)
	}
	return &quarantine{rule: r, frag: frag}, nil
}

// Quarantine keeps the addresses r covers from pods until r.Until: every
// free one the store has now cools until then (one cooling already keeps
// its cooldown; an assigned one is left alone), and so does every one that
// enters the store later (AddENI, AddBlocks) before then. It is for a
// datastore rebuilt from a damaged checkpoint: running pods whose
// allocation was lost may hold any address the node had, also those of ENIs
// and blocks the reconciliation with the cloud has not added yet (EC2 was
// unreachable). The rule is in the checkpoint, so it outlives a restart; a
// rule given while another is in force joins it (the later end, what
// either covers). It returns how many addresses it cooled now. One
// checkpoint write; if it fails, nothing changes.
func (s *Store) Quarantine(r QuarantineRule) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, now := s.st, s.now()
	st.expire(now)
	if !now.Before(r.Until) {
		return 0, nil
	}
	old := st.quarantine
	if old != nil && now.Before(old.rule.Until) {
		r = old.rule.merge(r)
	}
	q, err := newQuarantine(r)
	if err != nil {
		return 0, fmt.Errorf("quarantine: %w", err)
	}
	st.quarantine = q
	cooled, offs := st.quarantineFree(q.rule)
	err = s.commit(func() {
		for i, b := range cooled {
			st.uncool(b, offs[i])
		}
		st.quarantine = old
	})
	if err != nil {
		return 0, fmt.Errorf("quarantine: %w", err)
	}
	return len(cooled), nil
}

// quarantineFree cools every available address r covers until r.Until,
// and returns the blocks and offsets it cooled.
func (st *state) quarantineFree(r QuarantineRule) ([]*block, []int) {
	var cooled []*block
	var offs []int
	for _, e := range st.order {
		for _, b := range e.blocks {
			for off := range b.slots {
				if b.avail&(1<<off) == 0 || !r.covers(b.addr(off)) {
					continue
				}
				b.avail &^= 1 << off
				st.cool(b, off, r.Until)
				cooled, offs = append(cooled, b), append(offs, off)
			}
			st.reindex(b)
		}
	}
	return cooled, offs
}

// Quarantined returns the quarantine rule in force, if any.
func (s *Store) Quarantined() (QuarantineRule, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.st.quarantine
	if q == nil || !s.now().Before(q.rule.Until) {
		return QuarantineRule{}, false
	}
	r := q.rule
	r.Within = slices.Clone(r.Within)
	return r, true
}

// applyQuarantine cools the addresses of new blocks that the rule in force
// at now covers.
func (st *state) applyQuarantine(bs []*block, now time.Time) {
	q := st.quarantine
	if q == nil || !now.Before(q.rule.Until) {
		return
	}
	for _, b := range bs {
		for off := range b.slots {
			if q.rule.covers(b.addr(off)) {
				st.holdSlot(b, off, q.rule.Until)
			}
		}
	}
}

// restoreQuarantine puts back a checkpointed rule that has not ended by
// now.
func (st *state) restoreQuarantine(r *QuarantineRule, now time.Time) error {
	if r == nil {
		return nil
	}
	if err := r.check(); err != nil {
		return err
	}
	if !now.Before(r.Until) {
		return nil
	}
	q, err := newQuarantine(*r)
	if err != nil {
		return err
	}
	st.quarantine = q
	return nil
}
