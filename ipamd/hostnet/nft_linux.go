package hostnet

import (
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// The nftables side of SNAT: one table of our own, `ip vpc-cni`, rebuilt
// whole and swapped in one netlink batch (add table, delete table, add table
// and everything in it), so the kernel only ever holds the old copy or the
// new one, never two and never none. In `nft list table ip vpc-cni` terms,
// with eth0 the primary ENI's link, 198.18.0.10 its address, eni the veth
// prefix and 0x80 the mark:
//
//	set vpc-cidrs    { type ipv4_addr; flags interval; elements = { VPC CIDRs } }
//	set snat-exclude { type ipv4_addr; flags interval; elements = { AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS } }
//
//	chain primary-in { type filter hook prerouting priority mangle;
//	    # a connection that enters by the primary ENI to an address of the
//	    # node (NodePort, before kube-proxy's DNAT) is marked
//	    iifname "eth0" fib daddr . iif type local ct mark set ct mark | 0x80 }
//
//	chain pod-out { type filter hook prerouting priority dstnat + 10;
//	    # a connection a pod opens to beyond the VPC (after DNAT, so a
//	    # service address counts as its backend) is marked
//	    iifname "eni*" ct state new ip daddr != @vpc-cidrs ip daddr != @snat-exclude ct mark set ct mark | 0x80
//	    # pod packets of a marked connection carry the mark
//	    iifname "eni*" ct mark & 0x80 == 0x80 meta mark set meta mark | 0x80 }
//
//	chain snat { type nat hook postrouting priority srcnat;
//	    oifname "eth0" ip saddr != 198.18.0.10 ip daddr != @vpc-cidrs ip daddr != @snat-exclude snat to 198.18.0.10 fully-random }
//
// The ip rule `fwmark 0x80/0x80 lookup main` at PriorityOffVPC (routes.go)
// then sends marked packets through the main table ahead of the plugin's
// `from <pod> lookup <ENI table>` at PriorityFromPod: replies to NodePort
// connections leave by the primary ENI, where they came in (kube-proxy's
// un-DNAT happens after routing), and traffic beyond the VPC leaves by the
// primary ENI, where it is SNATed to the primary address. This is the AWS
// VPC CNI's scheme (its CONNMARK rules and `fwmark 0x80/0x80 lookup main`
// at priority 1024) expressed in one nftables table.

// Names in our nftables table.
const (
	nftTable        = "vpc-cni"
	nftChainPrimary = "primary-in"
	nftChainPodOut  = "pod-out"
	nftChainSNAT    = "snat"
	nftSetVPC       = "vpc-cidrs"
	nftSetExclude   = "snat-exclude"
)

// podOutPriority runs after DNAT (dstnat, -100), so the destination a
// pod's connection is classified by is the service's backend, not its
// virtual address.
const podOutPriority = -90

// ruleset is the whole content of our table for one SNAT configuration.
type ruleset struct {
	table  *nftables.Table
	sets   []setSpec
	chains []*nftables.Chain
	rules  []*nftables.Rule
}

// setSpec is a named set and its elements.
type setSpec struct {
	set   *nftables.Set
	elems []nftables.SetElement
}

// ourTable is the table SetupSNAT owns.
func ourTable() *nftables.Table {
	return &nftables.Table{Name: nftTable, Family: nftables.TableFamilyIPv4}
}

// buildRuleset returns the table for s (already validated, not External),
// with primaryLink the name of the primary ENI's link.
func buildRuleset(s SNAT, primaryLink string, mark uint32) (*ruleset, error) {
	random, fully, err := randomFlags(s.Random)
	if err != nil {
		return nil, err
	}
	t := ourTable()
	rs := &ruleset{table: t}
	// Set ids only need to be unique within one batch; setting them here
	// keeps the library's global id counter (unguarded) out of it.
	vpc := &nftables.Set{Table: t, Name: nftSetVPC, ID: 1, KeyType: nftables.TypeIPAddr, Interval: true}
	excl := &nftables.Set{Table: t, Name: nftSetExclude, ID: 2, KeyType: nftables.TypeIPAddr, Interval: true}
	rs.sets = []setSpec{
		{set: vpc, elems: intervalElements(mergeRanges(s.VPCCIDRs))},
		{set: excl, elems: intervalElements(mergeRanges(s.Exclude))},
	}
	primary := baseChain(t, nftChainPrimary, nftables.ChainTypeFilter, nftables.ChainHookPrerouting, *nftables.ChainPriorityMangle)
	podOut := baseChain(t, nftChainPodOut, nftables.ChainTypeFilter, nftables.ChainHookPrerouting, podOutPriority)
	snat := baseChain(t, nftChainSNAT, nftables.ChainTypeNAT, nftables.ChainHookPostrouting, *nftables.ChainPriorityNATSource)
	rs.chains = []*nftables.Chain{primary, podOut, snat}

	notVPC := concat(daddrNotIn(vpc), daddrNotIn(excl))
	rs.rules = []*nftables.Rule{
		rule(primary, "vpc-cni: mark connections to the node that enter by the primary ENI",
			concat(ifnameIs(expr.MetaKeyIIFNAME, primaryLink), daddrLocalOnIIF(), ctMarkOr(mark))),
		rule(podOut, "vpc-cni: mark connections pods open beyond the VPC",
			concat(ifnamePrefix(expr.MetaKeyIIFNAME, s.VethPrefix), ctStateNew(), notVPC, ctMarkOr(mark))),
		rule(podOut, "vpc-cni: pod packets of marked connections route by the main table",
			concat(ifnamePrefix(expr.MetaKeyIIFNAME, s.VethPrefix), ctMarkHas(mark), metaMarkOr(mark))),
		rule(snat, "vpc-cni: SNAT traffic leaving the VPC by the primary ENI",
			concat(ifnameIs(expr.MetaKeyOIFNAME, primaryLink), saddrNot(s.PrimaryIP), notVPC,
				snatTo(s.PrimaryIP, random, fully))),
	}
	return rs, nil
}

// baseChain is a chain of table t on hook at priority, policy accept.
func baseChain(t *nftables.Table, name string, typ nftables.ChainType, hook *nftables.ChainHook, prio nftables.ChainPriority) *nftables.Chain {
	accept := nftables.ChainPolicyAccept
	return &nftables.Chain{
		Name: name, Table: t, Type: typ, Hooknum: hook,
		Priority: nftables.ChainPriorityRef(prio), Policy: &accept,
	}
}

// rule is a rule of chain c with a comment nft shows.
func rule(c *nftables.Chain, comment string, exprs []expr.Any) *nftables.Rule {
	return &nftables.Rule{
		Table: c.Table, Chain: c, Exprs: exprs,
		UserData: userdata.AppendString(nil, userdata.TypeComment, comment),
	}
}

// intervalElements encodes ranges as an interval set's elements the way
// nft does: each range is a start element and an end element one past its
// last address (none when it reaches 255.255.255.255), preceded by an end
// element at 0.0.0.0 when the first range does not start there.
func intervalElements(rs []addrRange) []nftables.SetElement {
	var out []nftables.SetElement
	if len(rs) > 0 && rs[0].first != netip.IPv4Unspecified() {
		out = append(out, nftables.SetElement{Key: ipv4Bytes(netip.IPv4Unspecified()), IntervalEnd: true})
	}
	for _, r := range rs {
		out = append(out, nftables.SetElement{Key: ipv4Bytes(r.first)})
		if end := r.last.Next(); end.IsValid() {
			out = append(out, nftables.SetElement{Key: ipv4Bytes(end), IntervalEnd: true})
		}
	}
	return out
}

func ipv4Bytes(a netip.Addr) []byte {
	b := a.As4()
	return b[:]
}

func concat(parts ...[]expr.Any) []expr.Any {
	var out []expr.Any
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// ifnameIs matches a link name exactly (NUL-padded to IFNAMSIZ, as nft).
func ifnameIs(key expr.MetaKey, name string) []expr.Any {
	b := make([]byte, ifNameSize)
	copy(b, name)
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: b},
	}
}

// ifnamePrefix matches link names starting with prefix (nft's "eni*").
func ifnamePrefix(key expr.MetaKey, prefix string) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: key, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte(prefix)},
	}
}

// daddrLocalOnIIF is `fib daddr . iif type local`: the destination is an
// address of the node on the link the packet came in by.
func daddrLocalOnIIF() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, FlagIIF: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

// ctStateNew is `ct state new`.
func ctStateNew() []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(expr.CtStateBitNEW), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// orMark is the bitwise step `reg | mark`: (reg & ^mark) ^ mark.
func orMark(mark uint32) *expr.Bitwise {
	return &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
		Mask: binaryutil.NativeEndian.PutUint32(^mark), Xor: binaryutil.NativeEndian.PutUint32(mark)}
}

// ctMarkOr is `ct mark set ct mark | mark`.
func ctMarkOr(mark uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeyMARK},
		orMark(mark),
		&expr.Ct{Register: 1, Key: expr.CtKeyMARK, SourceRegister: true},
	}
}

// ctMarkHas is `ct mark & mark == mark`.
func ctMarkHas(mark uint32) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: 1, Key: expr.CtKeyMARK},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(mark), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(mark)},
	}
}

// metaMarkOr is `meta mark set meta mark | mark`: other bits (kube-proxy's,
// Calico's) are kept.
func metaMarkOr(mark uint32) []expr.Any {
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
		orMark(mark),
		&expr.Meta{Key: expr.MetaKeyMARK, Register: 1, SourceRegister: true},
	}
}

// IPv4 header offsets of the source and destination addresses.
const (
	ipv4SaddrOffset = 12
	ipv4DaddrOffset = 16
)

// saddrNot is `ip saddr != a`.
func saddrNot(a netip.Addr) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: ipv4SaddrOffset, Len: 4},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: ipv4Bytes(a)},
	}
}

// daddrNotIn is `ip daddr != @set`.
func daddrNotIn(s *nftables.Set) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: ipv4DaddrOffset, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: s.Name, SetID: s.ID, Invert: true},
	}
}

// snatTo is `snat to a` with the port selection flags.
func snatTo(a netip.Addr, random, fully bool) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: ipv4Bytes(a)},
		&expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1,
			Random: random, FullyRandom: fully},
	}
}

// replaceBatch queues, on c, the swap of our table for rs: whatever table
// exists goes, rs's arrives, in the batch Flush sends.
func replaceBatch(c *nftables.Conn, rs *ruleset) error {
	c.AddTable(rs.table)
	c.DelTable(rs.table)
	c.AddTable(rs.table)
	for _, s := range rs.sets {
		if err := c.AddSet(s.set, s.elems); err != nil {
			return err
		}
	}
	for _, ch := range rs.chains {
		c.AddChain(ch)
	}
	for _, r := range rs.rules {
		c.AddRule(r)
	}
	return nil
}

// removeBatch queues, on c, the removal of our table if it exists.
func removeBatch(c *nftables.Conn) {
	t := ourTable()
	c.AddTable(t)
	c.DelTable(t)
}
