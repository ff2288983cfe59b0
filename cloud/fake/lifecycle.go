package fake

import (
	"cmp"
	"context"
	"slices"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// An attachment goes attaching → attached on AttachENI and detaching →
// gone on DetachENI, each taking its delay on the Cloud's clock, as on EC2
// and ec2sim. While it is attaching or detaching the ENI cannot be deleted
// or attached again (InvalidNetworkInterface.InUse), keeps its device
// index and counts toward the instance's ENI limits; metadata lists it only
// from the moment its attach completes until its detach completes (each
// plus the metadata lag). Completion is evaluated lazily: every call looks
// at the clock first and completes what is due, in the order it came due.

// SetAttachDelay sets how long an attach started from now on stays
// "attaching"; 0 (the default) completes it within the call. Pending
// attachments keep the delay they started with.
func (c *Cloud) SetAttachDelay(d time.Duration) {
	defer c.lock()()
	c.attachDelay = max(d, 0)
}

// SetDetachDelay sets how long a detach started from now on stays
// "detaching"; 0 (the default) completes it within the call. Pending
// detachments keep the delay they started with.
func (c *Cloud) SetDetachDelay(d time.Duration) {
	defer c.lock()()
	c.detachDelay = max(d, 0)
}

// lock takes the Cloud's lock and completes the attaches and detaches that
// are due; the caller defers the returned unlock.
func (c *Cloud) lock() func() {
	c.mu.Lock()
	c.settleLocked()
	return c.mu.Unlock
}

// settleLocked completes every pending attach and detach whose delay has
// run out, oldest first, so that metadata history stays in time order.
func (c *Cloud) settleLocked() {
	if len(c.pending) == 0 {
		return
	}
	now := c.now()
	var due []string
	for id, at := range c.pending {
		if !at.After(now) {
			due = append(due, id)
		}
	}
	slices.SortFunc(due, func(a, b string) int {
		return cmp.Or(c.pending[a].Compare(c.pending[b]), cmp.Compare(a, b))
	})
	for _, id := range due {
		at := c.pending[id]
		delete(c.pending, id)
		c.completeLocked(c.enis[id], at)
	}
}

// completeLocked finishes e's pending attach or detach as of time at.
func (c *Cloud) completeLocked(e *cloud.ENI, at time.Time) {
	if e == nil || e.Attachment == nil {
		return
	}
	switch e.Attachment.State {
	case cloud.Attaching:
		e.Attachment.State = cloud.Attached
		e.Status = cloud.ENIInUse
		c.live[e.ID] = true
	case cloud.Detaching:
		delete(c.attachments, e.Attachment.ID)
		e.Attachment = nil
		e.Status = cloud.ENIAvailable
		delete(c.live, e.ID)
	}
	c.recordAtLocked(at)
}

// AttachENI attaches a detached ENI to the instance at a device index of a
// network card; it counts against the card's and the instance's ENI limits
// from this call on, and its addresses must fit the instance type. The attachment is "attaching" for the attach delay,
// then "attached".
func (c *Cloud) AttachENI(ctx context.Context, eniID, instanceID string, deviceIndex, networkCard int) (string, error) {
	if err := c.begin(ctx, OpAttachENI, checkAttach(eniID, instanceID, deviceIndex, networkCard)); err != nil {
		return "", err
	}
	defer c.lock()()
	e, err := c.eniLocked(OpAttachENI, eniID)
	switch {
	case err != nil:
		return "", err
	case !wellFormed("i-", instanceID):
		return "", c.apiError(OpAttachENI, codeInstanceMalformed, "invalid id: %q", instanceID)
	case instanceID != c.inst.ID:
		return "", c.apiError(OpAttachENI, codeInstanceNotFound, "instance %q does not exist", instanceID)
	case e.Attachment != nil:
		return "", c.apiError(OpAttachENI, codeInUse, "network interface %s is in use (%s)", eniID, e.Attachment.State)
	}
	if err := c.checkSlot(deviceIndex, networkCard); err != nil {
		return "", err
	}
	if err := c.checkAddrsFit(e); err != nil {
		return "", err
	}
	now := c.now()
	e.Attachment = &cloud.Attachment{
		ID: c.newID("eni-attach"), InstanceID: instanceID, DeviceIndex: deviceIndex,
		NetworkCard: networkCard, State: cloud.Attaching,
	}
	e.Status = cloud.ENIAttaching
	c.attachments[e.Attachment.ID] = e.ID
	c.pending[e.ID] = now.Add(c.attachDelay)
	c.settleLocked()
	if err := c.lostLocked(OpAttachENI); err != nil {
		return "", err
	}
	return e.Attachment.ID, nil
}

// checkSlot verifies that the instance can take one more ENI at deviceIndex
// on networkCard. ENIs attaching or detaching hold their slots.
func (c *Cloud) checkSlot(deviceIndex, networkCard int) error {
	cardMax := c.limits.ENIsOnCard(networkCard)
	if cardMax == 0 {
		return c.apiError(OpAttachENI, codeBadValue, "network card index %d is not valid for %s", networkCard, c.limits.Type)
	}
	if deviceIndex < 0 {
		return c.apiError(OpAttachENI, codeBadValue, "device index %d is not valid", deviceIndex)
	}
	total, onCard := 0, 0
	for _, e := range c.enis {
		if e.Attachment == nil {
			continue
		}
		total++
		if e.Attachment.NetworkCard != networkCard {
			continue
		}
		onCard++
		if e.Attachment.DeviceIndex == deviceIndex {
			return c.apiError(OpAttachENI, codeBadValue, "instance already has an interface at device index %d", deviceIndex)
		}
	}
	if onCard >= cardMax || total >= c.limits.MaxENIs {
		return c.apiError(OpAttachENI, codeENILimit, "interface count exceeds the limit for %s", c.limits.Type)
	}
	return nil
}

// checkAddrsFit verifies that the instance type can carry what e holds:
// prefixes only on Nitro, and no more addresses than its per-ENI limit. An
// ENI that fails stays available, and must be deleted or it leaks.
func (c *Cloud) checkAddrsFit(e *cloud.ENI) error {
	if len(e.Prefixes) > 0 && !c.limits.PrefixDelegation() {
		return c.apiError(OpAttachENI, codeBadValue, "%s does not support prefix delegation: it is not a Nitro type", c.limits.Type)
	}
	if n := slotsUsed(e); n > c.limits.IPv4PerENI {
		return c.apiError(OpAttachENI, codeAddressLimit, "%s holds %d addresses, %s takes %d per interface", e.ID, n, c.limits.Type, c.limits.IPv4PerENI)
	}
	return nil
}

// DetachENI detaches by attachment id: the attachment is "detaching" for
// the detach delay, then gone, and the ENI keeps its addresses and becomes
// available. Detaching an attachment already detaching does nothing; force
// changes nothing. The primary ENI cannot be detached.
func (c *Cloud) DetachENI(ctx context.Context, attachmentID string, force bool) error {
	if err := c.begin(ctx, OpDetachENI, checkNonEmpty(OpDetachENI, attachmentID)); err != nil {
		return err
	}
	defer c.lock()()
	e, ok := c.enis[c.attachments[attachmentID]]
	if !ok {
		return c.apiError(OpDetachENI, codeAttachmentNotFound, "attachment %q does not exist", attachmentID)
	}
	if e.ID == c.inst.PrimaryENI {
		return c.apiError(OpDetachENI, codeNotPermitted, "the network interface at device index 0 cannot be detached")
	}
	if e.Attachment.State != cloud.Detaching {
		e.Attachment.State = cloud.Detaching
		e.Status = cloud.ENIDetaching
		c.pending[e.ID] = c.now().Add(c.detachDelay)
		c.settleLocked()
	}
	return c.lostLocked(OpDetachENI)
}

// DeleteENI deletes an ENI with no attachment (not even one attaching or
// detaching) and frees its addresses.
func (c *Cloud) DeleteENI(ctx context.Context, eniID string) error {
	if err := c.begin(ctx, OpDeleteENI, checkNonEmpty(OpDeleteENI, eniID)); err != nil {
		return err
	}
	defer c.lock()()
	e, err := c.eniLocked(OpDeleteENI, eniID)
	if err != nil {
		return err
	}
	if e.Attachment != nil {
		return c.apiError(OpDeleteENI, codeInUse, "network interface %s is currently in use (%s)", eniID, e.Attachment.State)
	}
	p := c.subnets[e.SubnetID]
	p.release(e.PrimaryIP)
	p.release(e.SecondaryIPs...)
	for _, pfx := range e.Prefixes {
		p.releasePrefix(pfx)
	}
	delete(c.enis, eniID)
	return c.lostLocked(OpDeleteENI)
}

// SetDeleteOnTermination sets the flag on the ENI's current attachment, in
// any state.
func (c *Cloud) SetDeleteOnTermination(ctx context.Context, eniID, attachmentID string, on bool) error {
	if err := c.begin(ctx, OpSetDeleteOnTermination, checkNonEmpty(OpSetDeleteOnTermination, eniID, attachmentID)); err != nil {
		return err
	}
	defer c.lock()()
	e, err := c.eniLocked(OpSetDeleteOnTermination, eniID)
	if err != nil {
		return err
	}
	if e.Attachment == nil || e.Attachment.ID != attachmentID {
		return c.apiError(OpSetDeleteOnTermination, codeAttachmentNotFound, "attachment %q of %s does not exist", attachmentID, eniID)
	}
	e.Attachment.DeleteOnTermination = on
	return c.lostLocked(OpSetDeleteOnTermination)
}
