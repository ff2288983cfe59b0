package manager

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// The addresses of the allocations Sync drops (the cloud took their block
// away while a pod held them) are kept from pods for DroppedQuarantine
// should they come back to the node: the pod that held one may still use
// it. Sync quarantines them right after each drop, before it adds any
// block, so that an address the cloud moved to another of the node's ENIs
// is never free in between. A quarantine whose write failed stays pending:
// the next Sync retries it before adding anything, and adds no block
// holding a pending address meanwhile.

// quarantine quarantines the addresses of dropped allocations until
// DroppedQuarantine from now, with every earlier one still pending.
func (m *Manager) quarantine(dropped []datastore.Allocation) error {
	if len(dropped) == 0 {
		return nil
	}
	until := m.now().Add(m.opts.DroppedQuarantine)
	for _, a := range dropped {
		if old, ok := m.unquarantined[a.IP]; !ok || old.Before(until) {
			m.unquarantined[a.IP] = until
		}
	}
	return m.flushQuarantine()
}

// flushQuarantine writes the pending quarantines, forgetting those that
// succeed and those over by now. Called with passMu held.
func (m *Manager) flushQuarantine() error {
	now := m.now()
	byUntil := map[time.Time][]netip.Addr{}
	for ip, until := range m.unquarantined {
		if !now.Before(until) {
			delete(m.unquarantined, ip)
			continue
		}
		byUntil[until] = append(byUntil[until], ip)
	}
	var failed []netip.Addr
	var err error
	for _, until := range slices.SortedFunc(maps.Keys(byUntil), time.Time.Compare) {
		addrs := byUntil[until]
		if _, qerr := m.quarantineAddrs(until, addrs); qerr != nil {
			failed, err = append(failed, addrs...), qerr
			continue
		}
		for _, ip := range addrs {
			delete(m.unquarantined, ip)
		}
	}
	if err != nil {
		slices.SortFunc(failed, netip.Addr.Compare)
		return fmt.Errorf("sync: quarantine the addresses of dropped allocations %v (retried at the next sync): %w",
			failed, err)
	}
	return nil
}

// unquarantinedIn reports whether a block holds an address whose
// quarantine is still pending: Sync must not add it yet.
func (m *Manager) unquarantinedIn(b netip.Prefix) bool {
	for ip := range m.unquarantined {
		if b.Contains(ip) {
			return true
		}
	}
	return false
}

// addable returns the blocks Sync may add now: those no pending
// quarantine's address is in.
func (m *Manager) addable(blocks []netip.Prefix) []netip.Prefix {
	return slices.DeleteFunc(blocks, m.unquarantinedIn)
}
