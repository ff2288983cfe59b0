package sim

import (
	"net/netip"
	"slices"
)

// unattachedAddrLimit is how many addresses an unattached ENI may hold: the
// largest per-ENI limit of any instance type.
const unattachedAddrLimit = 50

// addrAsk is one request for addresses: exactly one of the four ways is
// used (none is fine when creating an ENI).
type addrAsk struct {
	ips         []netip.Addr
	count       int
	prefixes    []netip.Prefix
	prefixCount int
	reassign    bool
}

// validate checks the ways of asking: at most one (exactly one when need),
// counts not negative.
func (a addrAsk) validate(need bool) error {
	ways := 0
	for _, used := range []bool{len(a.ips) > 0, a.count != 0, len(a.prefixes) > 0, a.prefixCount != 0} {
		if used {
			ways++
		}
	}
	if ways > 1 || (need && ways == 0) {
		return errf(CodeInvalidParameterCombination,
			"Specify exactly one of private IP addresses, a secondary private IP address count, IPv4 prefixes or an IPv4 prefix count.")
	}
	if a.count < 0 {
		return invalid("Value (%d) for parameter secondaryPrivateIpAddressCount is invalid. Expected a positive number.", a.count)
	}
	if a.prefixCount < 0 {
		return invalid("Value (%d) for parameter ipv4PrefixCount is invalid. Expected a positive number.", a.prefixCount)
	}
	return nil
}

// slots is how many address slots the ask adds to ENI eniID (a /28 prefix
// takes one); explicit addresses it already holds as secondaries are free.
func (a addrAsk) slots(p *addrPool, eniID string) int {
	n := a.count + a.prefixCount + len(a.prefixes)
	for _, ip := range a.ips {
		if off, ok := p.offset(ip); ok && p.used[off] == (owner{eniID, ownSecondary}) {
			continue
		}
		n++
	}
	return n
}

// addrPlan is what an ask resolved to, before anything changed.
type addrPlan struct {
	primary    uint32
	hasPrimary bool
	ips        []uint32 // new secondaries, in order
	prefixes   []uint32 // offsets of new /28 blocks
}

// plan resolves an ask for ENI eniID in a subnet, with a primary address
// too when needPrimary (explicit when primary is valid). It changes nothing.
func (w *World) plan(sn *subnetRec, eniID string, needPrimary bool, primary netip.Addr, a addrAsk) (addrPlan, error) {
	var pl addrPlan
	pk := newPicker(sn.pool, w.rng)
	if needPrimary && primary.IsValid() {
		off, err := explicitAddr(pk, sn, eniID, primary, false)
		if err != nil {
			return pl, err
		}
		pl.primary, pl.hasPrimary = off, true
	}
	for _, ip := range a.ips {
		off, err := explicitAddr(pk, sn, eniID, ip, a.reassign)
		if err != nil {
			return pl, err
		}
		if sn.pool.used[off] != (owner{eniID, ownSecondary}) {
			pl.ips = append(pl.ips, off)
		}
	}
	for _, p := range a.prefixes {
		off, err := explicitPrefix(pk, sn, p)
		if err != nil {
			return pl, err
		}
		pl.prefixes = append(pl.prefixes, off)
	}
	return pl, w.planCounts(pk, &pl, needPrimary && !primary.IsValid(), a)
}

// planCounts picks the primary (when pickPrimary) and the counted
// addresses and prefixes.
func (w *World) planCounts(pk *picker, pl *addrPlan, pickPrimary bool, a addrAsk) error {
	if pickPrimary {
		off, ok := pk.pickAddr()
		if !ok {
			return exhausted()
		}
		pl.primary, pl.hasPrimary = off, true
	}
	for range a.count {
		off, ok := pk.pickAddr()
		if !ok {
			return exhausted()
		}
		pl.ips = append(pl.ips, off)
	}
	for range a.prefixCount {
		off, ok := pk.pickBlock()
		if !ok {
			if pk.freeCount() <= 0 {
				return exhausted()
			}
			return errf(CodeInsufficientCidrBlocks,
				"There are not enough free cidr blocks in the specified subnet to satisfy the request.")
		}
		pl.prefixes = append(pl.prefixes, off)
	}
	return nil
}

func exhausted() error {
	return errf(CodeSubnetExhausted, "Insufficient free IP addresses in subnet to satisfy the request.")
}

// explicitAddr checks a requested address: in the subnet, not reserved, not
// asked twice, and free, already this ENI's secondary, or (with reassign) a
// secondary of another ENI, which then moves.
func explicitAddr(pk *picker, sn *subnetRec, eniID string, ip netip.Addr, reassign bool) (uint32, error) {
	off, ok := sn.pool.offset(ip)
	if !ok {
		return 0, invalid("Address %s does not fall within the subnet's address range", ip)
	}
	if sn.pool.reserved(off) {
		return 0, invalid("Address %s is reserved by AWS and cannot be assigned", ip)
	}
	if pk.taken[off] {
		return 0, invalid("Address %s is specified more than once", ip)
	}
	if o, used := sn.pool.used[off]; used {
		mine := o == owner{eniID, ownSecondary}
		if !mine && !(reassign && o.kind == ownSecondary) {
			return 0, errf(CodeAddressInUse, "Address %s is in use.", ip)
		}
	}
	pk.taken[off] = true
	return off, nil
}

// explicitPrefix checks a requested prefix: a /28, aligned, inside the
// subnet, entirely free and not asked twice.
func explicitPrefix(pk *picker, sn *subnetRec, p netip.Prefix) (uint32, error) {
	off, ok := sn.pool.offset(p.Addr())
	switch {
	case !p.IsValid() || p.Bits() != prefixBits || p.Masked() != p:
		return 0, invalid("Prefix %s is not a valid, aligned /28 IPv4 prefix", p)
	case !ok || sn.CIDR.Bits() > prefixBits:
		return 0, invalid("Prefix %s does not fall within the subnet's address range", p)
	case !pk.blockFree(off):
		return 0, invalid("Prefix %s is not available in the subnet: it is in use or holds reserved addresses", p)
	}
	pk.takeBlock(off)
	return off, nil
}

// commit applies a plan to an ENI: moved addresses leave their old ENI.
func (w *World) commit(sn *subnetRec, e *eniRec, pl addrPlan) {
	p := sn.pool
	if pl.hasPrimary {
		p.hold(pl.primary, owner{e.ID, ownPrimary})
		e.PrimaryIP = p.addr(pl.primary)
	}
	for _, off := range pl.ips {
		if o, used := p.used[off]; used && o.eni != e.ID {
			w.dropSecondary(o.eni, p.addr(off))
		}
		p.hold(off, owner{e.ID, ownSecondary})
		e.SecondaryIPs = append(e.SecondaryIPs, p.addr(off))
	}
	for _, off := range pl.prefixes {
		p.holdBlock(off, owner{e.ID, ownPrefix})
		e.Prefixes = append(e.Prefixes, p.prefix(off))
	}
}

// dropSecondary removes a reassigned secondary from its former ENI.
func (w *World) dropSecondary(eniID string, ip netip.Addr) {
	old := w.enis[eniID]
	if old == nil {
		return
	}
	old.SecondaryIPs = slices.DeleteFunc(old.SecondaryIPs, func(a netip.Addr) bool { return a == ip })
	w.touch(old)
}

// touch records a metadata change of an ENI attached to an instance.
func (w *World) touch(e *eniRec) {
	if e.Attachment == nil {
		return
	}
	if in := w.instances[e.Attachment.InstanceID]; in != nil {
		w.recordIMDS(in, w.now())
	}
}

// addrLimit is how many addresses ENI e may hold: its instance type's
// per-ENI limit when it is attached, else the largest of any type.
func (w *World) addrLimit(e *eniRec) int {
	if e.Attachment != nil {
		if in := w.instances[e.Attachment.InstanceID]; in != nil {
			return in.limits.IPv4PerENI
		}
	}
	return unattachedAddrLimit
}

// slotsUsed is how many address slots an ENI holds: its primary, its
// secondaries and one per prefix.
func slotsUsed(e ENI) int { return 1 + len(e.SecondaryIPs) + len(e.Prefixes) }

func addrLimitExceeded() error {
	return errf(CodeAddressLimitExceeded, "Number of private addresses will exceed limit.")
}

// AssignPrivateIpAddresses assigns secondary addresses or /28 prefixes.
func (w *World) AssignPrivateIpAddresses(in AssignInput) (AssignResult, error) {
	defer w.lock()()
	e, err := w.eni(in.ENIID)
	if err != nil {
		return AssignResult{}, err
	}
	a := addrAsk{ips: in.IPs, count: in.SecondaryIPCount, prefixes: in.Prefixes,
		prefixCount: in.PrefixCount, reassign: in.AllowReassignment}
	if err := a.validate(true); err != nil {
		return AssignResult{}, err
	}
	sn := w.subnets[e.SubnetID]
	if slotsUsed(e.ENI)+a.slots(sn.pool, e.ID) > w.addrLimit(e) {
		return AssignResult{}, addrLimitExceeded()
	}
	if len(a.prefixes) > 0 || a.prefixCount > 0 {
		if err := w.prefixesAllowed(e); err != nil {
			return AssignResult{}, err
		}
	}
	pl, err := w.plan(sn, e.ID, false, netip.Addr{}, a)
	if err != nil {
		return AssignResult{}, err
	}
	w.commit(sn, e, pl)
	w.touch(e)
	res := AssignResult{ENIID: e.ID}
	for _, off := range pl.ips {
		res.IPs = append(res.IPs, sn.pool.addr(off))
	}
	for _, off := range pl.prefixes {
		res.Prefixes = append(res.Prefixes, sn.pool.prefix(off))
	}
	return res, nil
}

// prefixesAllowed fails when ENI e is attached to an instance whose type
// cannot carry prefixes (not built on Nitro).
func (w *World) prefixesAllowed(e *eniRec) error {
	if e.Attachment == nil {
		return nil
	}
	in := w.instances[e.Attachment.InstanceID]
	if in == nil || in.limits.PrefixDelegation() {
		return nil
	}
	return invalid("Prefix delegation is not supported for the instance type %s.", in.Type)
}

// UnassignPrivateIpAddresses releases secondary addresses or prefixes, all
// or nothing.
func (w *World) UnassignPrivateIpAddresses(eniID string, ips []netip.Addr, prefixes []netip.Prefix) error {
	defer w.lock()()
	e, err := w.eni(eniID)
	if err != nil {
		return err
	}
	if len(ips) == 0 && len(prefixes) == 0 {
		return errf(CodeMissingParameter, "Either private IP addresses or IPv4 prefixes must be specified.")
	}
	for _, ip := range ips {
		if ip.Unmap() == e.PrimaryIP {
			return invalid("The primary private IP address %s of interface %s cannot be unassigned.", ip, e.ID)
		}
		if !slices.Contains(e.SecondaryIPs, ip.Unmap()) {
			return notAssigned(e.ID)
		}
	}
	for _, p := range prefixes {
		if !slices.Contains(e.Prefixes, p) {
			return notAssigned(e.ID)
		}
	}
	w.release(e, ips, prefixes)
	w.touch(e)
	return nil
}

func notAssigned(eniID string) error {
	return invalid("Some of the specified addresses are not assigned to interface %s", eniID)
}

// release frees secondaries and prefixes of an ENI.
func (w *World) release(e *eniRec, ips []netip.Addr, prefixes []netip.Prefix) {
	p := w.subnets[e.SubnetID].pool
	for _, ip := range ips {
		ip = ip.Unmap()
		if off, ok := p.offset(ip); ok && p.used[off] == (owner{e.ID, ownSecondary}) {
			p.release(off)
		}
		e.SecondaryIPs = slices.DeleteFunc(e.SecondaryIPs, func(a netip.Addr) bool { return a == ip })
	}
	for _, pf := range prefixes {
		if off, ok := p.offset(pf.Addr()); ok && p.used[off] == (owner{e.ID, ownPrefix}) {
			p.releaseBlock(off)
		}
		e.Prefixes = slices.DeleteFunc(e.Prefixes, func(x netip.Prefix) bool { return x == pf })
	}
}
