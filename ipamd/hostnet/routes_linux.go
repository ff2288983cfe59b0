package hostnet

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The netlink side: an ENI's route table and source rule, and the fwmark
// rule of SNAT. Builders are pure; the reconcilers list what the kernel
// has, delete what is stale or duplicated, and add what is missing, so any
// number of runs leaves exactly one copy.

// eniRoutes are the routes of e's table on the link with index link: the
// gateway on the link, and the default route through it.
func eniRoutes(e ENI, link int) []netlink.Route {
	gw := Gateway(e.SubnetCIDR)
	return []netlink.Route{
		{LinkIndex: link, Dst: ipNet(netip.PrefixFrom(gw, 32)), Scope: netlink.SCOPE_LINK,
			Table: e.RouteTable, Family: netlink.FAMILY_V4},
		{LinkIndex: link, Dst: ipNet(netip.PrefixFrom(netip.IPv4Unspecified(), 0)), Gw: net.IP(ipv4Bytes(gw)),
			Scope: netlink.SCOPE_UNIVERSE, Table: e.RouteTable, Family: netlink.FAMILY_V4},
	}
}

// eniRule is `from <e's primary IP>/32 lookup <e's table>` at PriorityFromENI.
func eniRule(e ENI) *netlink.Rule {
	r := netlink.NewRule()
	r.Family = netlink.FAMILY_V4
	r.Priority = PriorityFromENI
	r.Src = ipNet(netip.PrefixFrom(e.PrimaryIP, 32))
	r.Table = e.RouteTable
	return r
}

// offVPCRule is `fwmark mark/mark lookup main` at PriorityOffVPC.
func offVPCRule(mark uint32) *netlink.Rule {
	r := netlink.NewRule()
	r.Family = netlink.FAMILY_V4
	r.Priority = PriorityOffVPC
	r.Mark = mark
	m := mark
	r.Mask = &m
	r.Table = unix.RT_TABLE_MAIN
	return r
}

// ipNet converts a prefix for netlink.
func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: net.IP(p.Addr().AsSlice()), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// prefixOf converts netlink's *net.IPNet (nil is the default route).
func prefixOf(n *net.IPNet) netip.Prefix {
	if n == nil {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}
	}
	ones, _ := n.Mask.Size()
	a = a.Unmap()
	if a.Is4() && len(n.Mask) == net.IPv6len {
		ones -= 96
	}
	return netip.PrefixFrom(a, ones)
}

// addrOf converts a netlink IP (nil is the invalid Addr).
func addrOf(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

// sameRoute reports whether have is the route want describes.
func sameRoute(have, want netlink.Route) bool {
	return prefixOf(have.Dst) == prefixOf(want.Dst) && addrOf(have.Gw) == addrOf(want.Gw) &&
		have.LinkIndex == want.LinkIndex && have.Scope == want.Scope && have.Table == want.Table &&
		len(have.MultiPath) == 0 && have.Priority == want.Priority &&
		(have.Type == 0 || have.Type == unix.RTN_UNICAST)
}

// staleRoutes are the routes of have that are none of want.
func staleRoutes(have, want []netlink.Route) []netlink.Route {
	var out []netlink.Route
	for _, h := range have {
		keep := false
		for _, w := range want {
			if sameRoute(h, w) {
				keep = true
				break
			}
		}
		if !keep {
			out = append(out, h)
		}
	}
	return out
}

// sameRule reports whether have is the rule want describes: same
// priority, selectors and action.
func sameRule(have, want netlink.Rule) bool {
	return have.Priority == want.Priority && have.Table == want.Table &&
		prefixString(have.Src) == prefixString(want.Src) && prefixString(have.Dst) == prefixString(want.Dst) &&
		have.Mark == want.Mark && maskOf(have.Mask) == maskOf(want.Mask) &&
		have.IifName == want.IifName && have.OifName == want.OifName && have.Invert == want.Invert &&
		have.Tos == want.Tos && have.Goto == want.Goto
}

func prefixString(n *net.IPNet) string {
	if n == nil {
		return ""
	}
	return prefixOf(n).String()
}

// maskOf is the fwmark mask the kernel applies: all ones when a mark is
// given without a mask.
func maskOf(m *uint32) uint32 {
	if m == nil {
		return 0
	}
	return *m
}

// planRules splits the rules at want's priority that claim want's place
// (owns says which do) into the ones to delete: every claimant that is
// not want, and every copy of want after the first. add says whether want
// must be added.
func planRules(have []netlink.Rule, want netlink.Rule, owns func(netlink.Rule) bool) (del []netlink.Rule, add bool) {
	copies := 0
	for _, h := range have {
		if h.Priority != want.Priority || !owns(h) {
			continue
		}
		if !sameRule(h, want) {
			del = append(del, h)
			continue
		}
		copies++
		if copies > 1 {
			del = append(del, h)
		}
	}
	return del, copies == 0
}

// ownsENIRule says which rules at PriorityFromENI stand for e: those from
// its primary address or into its table.
func ownsENIRule(e ENI) func(netlink.Rule) bool {
	src := netip.PrefixFrom(e.PrimaryIP, 32)
	return func(r netlink.Rule) bool {
		return (r.Src != nil && prefixOf(r.Src) == src) || r.Table == e.RouteTable
	}
}

// ownsOffVPCRule says which rules at PriorityOffVPC are SNAT's: the
// fwmark rules into the main table.
func ownsOffVPCRule(r netlink.Rule) bool {
	return r.Table == unix.RT_TABLE_MAIN && (r.Mark != 0 || r.Mask != nil)
}

// isNotExist reports an error the kernel gives for something already gone.
func isNotExist(err error) bool {
	return errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH)
}

// listRetries bounds the retries of a netlink dump that was interrupted by
// a concurrent change.
const listRetries = 5

// dump runs a netlink dump, retrying while the kernel reports it was
// interrupted by a concurrent change (its results may then be incomplete).
func dump[T any](what string, f func() ([]T, error)) ([]T, error) {
	var err error
	for range listRetries {
		var out []T
		out, err = f()
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			break
		}
	}
	return nil, fmt.Errorf("list %s: %w", what, err)
}

// listRules lists the kernel's IPv4 rules.
func listRules(h *netlink.Handle) ([]netlink.Rule, error) {
	return dump("rules", func() ([]netlink.Rule, error) { return h.RuleList(netlink.FAMILY_V4) })
}

// deleteRules deletes rules; one already gone is fine.
func deleteRules(h *netlink.Handle, rules []netlink.Rule) error {
	for _, r := range rules {
		if err := h.RuleDel(&r); err != nil && !isNotExist(err) {
			return fmt.Errorf("delete rule %s: %w", r, err)
		}
	}
	return nil
}

// reconcileRules makes want the only rule owns claims at want's priority.
func reconcileRules(h *netlink.Handle, want *netlink.Rule, owns func(netlink.Rule) bool) error {
	have, err := listRules(h)
	if err != nil {
		return err
	}
	del, add := planRules(have, *want, owns)
	if err := deleteRules(h, del); err != nil {
		return err
	}
	if add {
		if err := h.RuleAdd(want); err != nil && !errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("add rule %s: %w", want, err)
		}
	}
	return nil
}

// removeRules deletes every rule at prio that owns claims.
func removeRules(h *netlink.Handle, prio int, owns func(netlink.Rule) bool) error {
	have, err := listRules(h)
	if err != nil {
		return err
	}
	var del []netlink.Rule
	for _, r := range have {
		if r.Priority == prio && owns(r) {
			del = append(del, r)
		}
	}
	return deleteRules(h, del)
}

// reconcileRoutes makes want the only routes of table (none when want is
// empty).
func reconcileRoutes(h *netlink.Handle, table int, want []netlink.Route) error {
	filter := &netlink.Route{Table: table}
	have, err := dump(fmt.Sprintf("routes of table %d", table), func() ([]netlink.Route, error) {
		return h.RouteListFiltered(netlink.FAMILY_V4, filter, netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return err
	}
	for _, r := range staleRoutes(have, want) {
		if err := h.RouteDel(&r); err != nil && !isNotExist(err) {
			return fmt.Errorf("delete route %s from table %d: %w", prefixOf(r.Dst), table, err)
		}
	}
	for _, r := range want {
		if err := h.RouteReplace(&r); err != nil {
			return fmt.Errorf("add route %s via %s to table %d: %w", prefixOf(r.Dst), addrOf(r.Gw), table, err)
		}
	}
	return nil
}
