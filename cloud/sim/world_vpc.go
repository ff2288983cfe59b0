package sim

import (
	"net/netip"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// Instance states.
const (
	stateRunning    = "running"
	stateTerminated = "terminated"
)

// CIDR block sizes EC2 accepts for VPCs and subnets.
const (
	minBlockBits = 16
	maxBlockBits = 28
)

// checkBlock validates an IPv4 CIDR block of a VPC or subnet; rangeCode is
// the error for a block of the wrong size.
func checkBlock(cidr netip.Prefix, rangeCode string) error {
	if !cidr.IsValid() || !cidr.Addr().Is4() || cidr.Masked() != cidr {
		return invalid("Value (%s) for parameter cidrBlock is invalid. This is not a valid CIDR block.", cidr)
	}
	if cidr.Bits() < minBlockBits || cidr.Bits() > maxBlockBits {
		return errf(rangeCode, "The CIDR '%s' is invalid.", cidr)
	}
	return nil
}

// CreateVPC creates a VPC and its default security group.
func (w *World) CreateVPC(cidr netip.Prefix, tags []Tag) (VPC, error) {
	defer w.lock()()
	if err := checkBlock(cidr, CodeVpcRange); err != nil {
		return VPC{}, err
	}
	if err := validateTags(nil, tags); err != nil {
		return VPC{}, err
	}
	v := &vpcRec{VPC: VPC{ID: w.newID(kindVPC), CIDRs: []netip.Prefix{cidr}, Tags: mergeTags(nil, tags)}}
	v.defaultSG = w.newID(kindSG)
	w.vpcs[v.ID] = v
	return copyVPC(v.VPC), nil
}

// AddVPCCIDR associates a secondary IPv4 CIDR block with a VPC, as
// AssociateVpcCidrBlock does; it must not overlap the VPC's other blocks.
func (w *World) AddVPCCIDR(vpcID string, cidr netip.Prefix) (VPC, error) {
	defer w.lock()()
	v, err := w.vpc(vpcID)
	if err != nil {
		return VPC{}, err
	}
	if err := checkBlock(cidr, CodeVpcRange); err != nil {
		return VPC{}, err
	}
	for _, c := range v.CIDRs {
		if c.Overlaps(cidr) {
			return VPC{}, errf(CodeVpcRange, "The CIDR '%s' conflicts with CIDR block '%s' of %s.", cidr, c, v.ID)
		}
	}
	v.CIDRs = append(v.CIDRs, cidr)
	// Metadata lists the VPC's blocks under every ENI: it shows the new
	// one after the lag, as it shows any other change.
	now := w.now()
	for _, in := range w.instances {
		if in.VPCID == vpcID && in.State == stateRunning {
			w.recordIMDS(in, now)
		}
	}
	return copyVPC(v.VPC), nil
}

// vpc finds a VPC by id: Malformed or NotFound otherwise.
func (w *World) vpc(id string) (*vpcRec, error) {
	if err := checkID(kindVPC, id); err != nil {
		return nil, err
	}
	v, ok := w.vpcs[id]
	if !ok {
		return nil, notFound(kindVPC, []string{id})
	}
	return v, nil
}

// CreateSubnet creates a subnet inside a VPC's CIDR blocks. An empty az
// means the region's first zone.
func (w *World) CreateSubnet(vpcID, az string, cidr netip.Prefix, tags []Tag) (Subnet, error) {
	defer w.lock()()
	v, err := w.vpc(vpcID)
	if err != nil {
		return Subnet{}, err
	}
	if err := checkBlock(cidr, CodeSubnetRange); err != nil {
		return Subnet{}, err
	}
	inside := false
	for _, c := range v.CIDRs {
		inside = inside || (c.Bits() <= cidr.Bits() && c.Contains(cidr.Addr()))
	}
	if !inside {
		return Subnet{}, errf(CodeSubnetRange, "The CIDR '%s' is invalid.", cidr)
	}
	for _, sn := range w.subnets {
		if sn.VPCID == v.ID && sn.CIDR.Overlaps(cidr) {
			return Subnet{}, errf(CodeSubnetConflict, "The CIDR '%s' conflicts with another subnet", cidr)
		}
	}
	if err := validateTags(nil, tags); err != nil {
		return Subnet{}, err
	}
	if az == "" {
		az = w.region + "a"
	}
	sn := &subnetRec{
		Subnet: Subnet{ID: w.newID(kindSubnet), VPCID: v.ID, AZ: az, CIDR: cidr, Tags: mergeTags(nil, tags)},
		pool:   newAddrPool(cidr),
	}
	w.subnets[sn.ID] = sn
	return sn.view(), nil
}

// LaunchInstance starts a running instance of a type from the built-in
// table, with its primary ENI (device index 0, DeleteOnTermination) in the
// subnet. primaryIP may be the zero Addr to pick one.
func (w *World) LaunchInstance(instanceType, subnetID string, primaryIP netip.Addr) (Instance, error) {
	defer w.lock()()
	limits, ok := cloud.BuiltinInstanceType(instanceType)
	if !ok {
		return Instance{}, invalid("Invalid value '%s' for InstanceType.", instanceType)
	}
	sn, err := w.subnet(subnetID)
	if err != nil {
		return Instance{}, err
	}
	pl, err := w.plan(sn, "", true, primaryIP, addrAsk{})
	if err != nil {
		return Instance{}, err
	}
	sgs := []string{w.vpcs[sn.VPCID].defaultSG}
	e := w.newENI(sn, "", sgs, nil, pl)
	now := w.now()
	w.seq++
	in := &instRec{
		Instance: Instance{
			ID: w.newID(kindInstance), Type: instanceType, AZ: sn.AZ, SubnetID: sn.ID, VPCID: sn.VPCID,
			PrimaryENIID: e.ID, PrimaryIP: e.PrimaryIP, State: stateRunning, LaunchTime: now,
			SecurityGroups: sgs,
		},
		limits: limits, seq: w.seq, enis: map[string]bool{e.ID: true},
	}
	e.Attachment = &Attachment{
		ID: w.newID(kindAttachment), InstanceID: in.ID, Status: string(cloud.Attached),
		DeleteOnTermination: true, AttachTime: now,
	}
	e.Status, e.attached = cloud.ENIInUse, true
	w.instances[in.ID] = in
	w.byIP[in.PrimaryIP] = in.ID
	w.recordIMDS(in, now)
	return copyInstance(in.Instance), nil
}

// TerminateInstance terminates an instance: ENIs attached with
// DeleteOnTermination are deleted, the others detached at once.
// Terminating a terminated instance does nothing.
func (w *World) TerminateInstance(id string) error {
	defer w.lock()()
	in, err := w.instance(id)
	if err != nil {
		return err
	}
	if in.State == stateTerminated {
		return nil
	}
	for eniID := range in.enis {
		e := w.enis[eniID]
		delete(w.pending, e.ID)
		if e.Attachment.DeleteOnTermination {
			e.Attachment = nil
			w.deleteENI(e)
			continue
		}
		e.Attachment, e.Status, e.attached = nil, cloud.ENIAvailable, false
	}
	in.enis = map[string]bool{}
	in.imds = nil
	in.State = stateTerminated
	delete(w.byIP, in.PrimaryIP)
	return nil
}
