package sim

import (
	"cmp"
	"slices"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// eni finds an ENI by id: Malformed or NotFound otherwise.
func (w *World) eni(id string) (*eniRec, error) {
	if err := checkID(kindENI, id); err != nil {
		return nil, err
	}
	e, ok := w.enis[id]
	if !ok {
		return nil, notFound(kindENI, []string{id})
	}
	return e, nil
}

// instance finds an instance by id: Malformed or NotFound otherwise.
func (w *World) instance(id string) (*instRec, error) {
	if err := checkID(kindInstance, id); err != nil {
		return nil, err
	}
	in, ok := w.instances[id]
	if !ok {
		return nil, notFound(kindInstance, []string{id})
	}
	return in, nil
}

// subnet finds a subnet by id: Malformed or NotFound otherwise.
func (w *World) subnet(id string) (*subnetRec, error) {
	if err := checkID(kindSubnet, id); err != nil {
		return nil, err
	}
	sn, ok := w.subnets[id]
	if !ok {
		return nil, notFound(kindSubnet, []string{id})
	}
	return sn, nil
}

// CreateNetworkInterface creates an ENI.
func (w *World) CreateNetworkInterface(in CreateENIInput) (ENI, error) {
	defer w.lock()()
	sn, err := w.subnet(in.SubnetID)
	if err != nil {
		return ENI{}, err
	}
	a := addrAsk{ips: in.PrivateIPs, count: in.SecondaryIPCount, prefixes: in.Prefixes, prefixCount: in.PrefixCount}
	if err := a.validate(false); err != nil {
		return ENI{}, err
	}
	if 1+a.slots(sn.pool, "") > unattachedAddrLimit {
		return ENI{}, addrLimitExceeded()
	}
	if err := validateTags(nil, in.Tags); err != nil {
		return ENI{}, err
	}
	sgs, err := w.securityGroups(sn, in.SecurityGroups)
	if err != nil {
		return ENI{}, err
	}
	pl, err := w.plan(sn, "", true, in.PrimaryIP, a)
	if err != nil {
		return ENI{}, err
	}
	e := w.newENI(sn, in.Description, sgs, in.Tags, pl)
	return copyENI(e.ENI), nil
}

// securityGroups returns the groups asked for, or the VPC's default group.
// Each must be a group of the subnet's VPC; the only group a VPC has is its
// default one.
func (w *World) securityGroups(sn *subnetRec, sgs []string) ([]string, error) {
	vpc := w.vpcs[sn.VPCID]
	if len(sgs) == 0 {
		return []string{vpc.defaultSG}, nil
	}
	for _, sg := range sgs {
		if err := checkID(kindSG, sg); err != nil {
			return nil, err
		}
	}
	for _, sg := range sgs {
		if sg != vpc.defaultSG {
			return nil, errf(CodeGroupNotFound, "The security group '%s' does not exist in VPC '%s'", sg, vpc.ID)
		}
	}
	return slices.Clone(sgs), nil
}

// newENI creates an available ENI holding a plan's addresses.
func (w *World) newENI(sn *subnetRec, desc string, sgs []string, tags []Tag, pl addrPlan) *eniRec {
	e := &eniRec{ENI: ENI{
		ID: w.newID(kindENI), SubnetID: sn.ID, VPCID: sn.VPCID, AZ: sn.AZ,
		MAC: w.newMAC(), Description: desc, Status: cloud.ENIAvailable,
		OwnerID: w.account, SecurityGroups: sgs, SourceDestCheck: true,
	}}
	e.Tags = mergeTags(nil, tags)
	// The plan was made before the id existed: re-own its addresses.
	w.commit(sn, e, pl)
	w.enis[e.ID] = e
	return e
}

// AttachNetworkInterface attaches an ENI and returns the attachment id.
func (w *World) AttachNetworkInterface(eniID, instanceID string, deviceIndex, networkCard int) (string, error) {
	defer w.lock()()
	e, err := w.eni(eniID)
	if err != nil {
		return "", err
	}
	in, err := w.instance(instanceID)
	if err != nil {
		return "", err
	}
	if err := w.checkAttach(e, in, deviceIndex, networkCard); err != nil {
		return "", err
	}
	now := w.now()
	e.Attachment = &Attachment{
		ID: w.newID(kindAttachment), InstanceID: in.ID, DeviceIndex: deviceIndex,
		NetworkCardIndex: networkCard, Status: string(cloud.Attaching), AttachTime: now,
	}
	e.Status = cloud.ENIAttaching
	e.settleAt = now.Add(w.attachDelay)
	in.enis[e.ID] = true
	w.pending[e.ID] = e
	w.settle()
	return e.Attachment.ID, nil
}

// checkAttach validates attaching ENI e to instance in, in EC2's order.
func (w *World) checkAttach(e *eniRec, in *instRec, deviceIndex, card int) error {
	l := in.limits
	switch {
	case in.State != stateRunning:
		return errf(CodeIncorrectInstanceState, "The instance '%s' is not in a state from which it can be attached to.", in.ID)
	case e.Attachment != nil:
		return errf(CodeENIInUse, "Interface: [%s] in use.", e.ID)
	case e.AZ != in.AZ:
		return invalid("The network interface %s and instance %s must be in the same availability zone.", e.ID, in.ID)
	case e.VPCID != in.VPCID:
		return invalid("The network interface %s and instance %s must be in the same VPC.", e.ID, in.ID)
	case deviceIndex < 0:
		return invalid("Value (%d) for parameter deviceIndex is invalid.", deviceIndex)
	case l.ENIsOnCard(card) == 0:
		return invalid("Network card index %d is not valid for instance type %s.", card, l.Type)
	}
	onCard, total := 0, len(in.enis)
	for id := range in.enis {
		a := w.enis[id].Attachment
		if a.DeviceIndex == deviceIndex && a.NetworkCardIndex == card {
			return invalid("Instance '%s' already has an interface attached at device index '%d'.", in.ID, deviceIndex)
		}
		if a.NetworkCardIndex == card {
			onCard++
		}
	}
	if onCard >= l.ENIsOnCard(card) || total >= l.MaxENIs {
		return errf(CodeAttachmentLimitExceeded, "Interface count %d exceeds the limit for %s", total+1, l.Type)
	}
	if len(e.Prefixes) > 0 && !l.PrefixDelegation() {
		return invalid("Prefix delegation is not supported for the instance type %s.", l.Type)
	}
	if slotsUsed(e.ENI) > l.IPv4PerENI {
		return addrLimitExceeded()
	}
	return nil
}

// DetachNetworkInterface detaches by attachment id. Detaching an attachment
// already detaching does nothing; force is accepted and changes nothing.
func (w *World) DetachNetworkInterface(attachmentID string, force bool) error {
	defer w.lock()()
	e := w.byAttachment(attachmentID)
	if e == nil {
		return errf(CodeAttachmentNotFound, "The attachment ID '%s' does not exist", attachmentID)
	}
	a := e.Attachment
	if a.DeviceIndex == 0 && a.NetworkCardIndex == 0 {
		return errf(CodeOperationNotPermitted,
			"The network interface at device index 0 and networkCard index 0 cannot be detached.")
	}
	if a.Status == string(cloud.Detaching) {
		return nil
	}
	now := w.now()
	a.Status = string(cloud.Detaching)
	e.Status = cloud.ENIDetaching
	e.settleAt = now.Add(w.detachDelay)
	w.pending[e.ID] = e
	// Metadata keeps showing the ENI until the detach completes.
	w.settle()
	return nil
}

// byAttachment finds the ENI with the given current attachment.
func (w *World) byAttachment(id string) *eniRec {
	if !wellFormed(kindAttachment, id) {
		return nil
	}
	for _, e := range w.enis {
		if e.Attachment != nil && e.Attachment.ID == id {
			return e
		}
	}
	return nil
}

// DeleteNetworkInterface deletes a detached ENI, freeing its addresses.
func (w *World) DeleteNetworkInterface(eniID string) error {
	defer w.lock()()
	e, err := w.eni(eniID)
	if err != nil {
		return err
	}
	if e.Attachment != nil {
		return errf(CodeENIInUse, "The network interface at '%s' is currently in use.", e.ID)
	}
	w.deleteENI(e)
	return nil
}

// deleteENI frees every address of an ENI and forgets it.
func (w *World) deleteENI(e *eniRec) {
	w.release(e, slices.Clone(e.SecondaryIPs), slices.Clone(e.Prefixes))
	p := w.subnets[e.SubnetID].pool
	if off, ok := p.offset(e.PrimaryIP); ok {
		p.release(off)
	}
	delete(w.enis, e.ID)
	delete(w.pending, e.ID)
}

// SetDeleteOnTermination is ModifyNetworkInterfaceAttribute's attachment
// form.
func (w *World) SetDeleteOnTermination(eniID, attachmentID string, on bool) error {
	defer w.lock()()
	e, err := w.eni(eniID)
	if err != nil {
		return err
	}
	if e.Attachment == nil || e.Attachment.ID != attachmentID {
		return errf(CodeAttachmentNotFound, "The attachment ID '%s' does not exist", attachmentID)
	}
	e.Attachment.DeleteOnTermination = on
	return nil
}

// ModifyDescription is ModifyNetworkInterfaceAttribute's description form.
func (w *World) ModifyDescription(eniID, description string) error {
	defer w.lock()()
	e, err := w.eni(eniID)
	if err != nil {
		return err
	}
	e.Description = description
	return nil
}

// attachedENIs returns an instance's ENIs ordered by network card and
// device index.
func (w *World) attachedENIs(in *instRec) []*eniRec {
	out := make([]*eniRec, 0, len(in.enis))
	for id := range in.enis {
		out = append(out, w.enis[id])
	}
	slices.SortFunc(out, func(a, b *eniRec) int {
		return cmp.Or(cmp.Compare(a.Attachment.DeviceIndex, b.Attachment.DeviceIndex),
			cmp.Compare(a.Attachment.NetworkCardIndex, b.Attachment.NetworkCardIndex))
	})
	return out
}
