package ipamc

import (
	"fmt"
	"net/netip"

	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// Bounds of ipamd's answers.
const (
	minMTU = 68    // the least MTU IPv4 allows
	maxMTU = 65535 // the most a link can have
	// Tables the kernel reserves besides main: an ENI's table is never
	// one of them.
	tableUnspec  = 0
	tableDefault = 253
	tableLocal   = 255
)

// addResultOf reads an AddNetwork answer.
func addResultOf(r *ipamv1.AddNetworkResponse) (AddResult, error) {
	if r.GetAllocation() == nil {
		return AddResult{}, fieldErr("allocation", "missing")
	}
	alloc, err := allocationOf("allocation", r.GetAllocation())
	if err != nil {
		return AddResult{}, err
	}
	res := AddResult{Allocation: alloc, MTU: int(r.GetMtu())}
	if res.MTU < minMTU || res.MTU > maxMTU {
		return AddResult{}, fieldErr("mtu", "%d: not in %d..%d", res.MTU, minMTU, maxMTU)
	}
	for i, s := range r.GetVpcCidrs() {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return AddResult{}, fieldErr(fmt.Sprintf("vpc_cidrs[%d]", i), "%q: not a CIDR block", s)
		}
		res.VPCCIDRs = append(res.VPCCIDRs, p.Masked())
	}
	switch m := r.GetSnatMode(); m {
	case ipamv1.SNATMode_SNAT_MODE_UNSPECIFIED, ipamv1.SNATMode_SNAT_MODE_NODE:
	case ipamv1.SNATMode_SNAT_MODE_EXTERNAL:
		res.ExternalSNAT = true
	default:
		return AddResult{}, fieldErr("snat_mode", "%d: unknown", int32(m))
	}
	return res, nil
}

// allocationOf reads an allocation; field names it in errors.
func allocationOf(field string, pb *ipamv1.Allocation) (Allocation, error) {
	ip, err := netip.ParseAddr(pb.GetIpv4())
	if err != nil || !ip.Is4() {
		return Allocation{}, fieldErr(field+".ipv4", "%q: not an IPv4 address", pb.GetIpv4())
	}
	a := Allocation{
		IP:          ip,
		ENI:         pb.GetEniId(),
		DeviceIndex: int(pb.GetDeviceIndex()),
		RouteTable:  int(pb.GetRouteTable()),
		HostIfName:  pb.GetHostIfname(),
	}
	if a.DeviceIndex < 0 {
		return Allocation{}, fieldErr(field+".device_index", "%d: negative", a.DeviceIndex)
	}
	switch t := a.RouteTable; {
	case t < 0, t == tableUnspec, t == tableDefault, t == tableLocal:
		return Allocation{}, fieldErr(field+".route_table", "%d: not an ENI's table", t)
	}
	if s := pb.GetBlock(); s != "" {
		b, err := netip.ParsePrefix(s)
		if err != nil || !b.Masked().Contains(ip) {
			return Allocation{}, fieldErr(field+".block", "%q: not a CIDR block holding %s", s, ip)
		}
		a.Block = b.Masked()
	}
	return a, nil
}

// foundOf reads a DelNetwork or CheckNetwork answer's allocation: present
// when found.
func foundOf(found bool, pb *ipamv1.Allocation) (Allocation, error) {
	if !found {
		return Allocation{}, nil
	}
	if pb == nil {
		return Allocation{}, fieldErr("allocation", "missing although found")
	}
	return allocationOf("allocation", pb)
}

// releasedOf reads a GarbageCollect answer's released allocations.
func releasedOf(pbs []*ipamv1.Released) ([]Released, error) {
	out := make([]Released, 0, len(pbs))
	for i, r := range pbs {
		field := fmt.Sprintf("released[%d]", i)
		att := Attachment{ContainerID: r.GetAttachment().GetContainerId(), IfName: r.GetAttachment().GetIfname()}
		if att.ContainerID == "" || att.IfName == "" {
			return nil, fieldErr(field+".attachment", "%+v: container id or ifname missing", att)
		}
		if r.GetAllocation() == nil {
			return nil, fieldErr(field+".allocation", "missing")
		}
		a, err := allocationOf(field+".allocation", r.GetAllocation())
		if err != nil {
			return nil, err
		}
		out = append(out, Released{Attachment: att, Allocation: a})
	}
	return out, nil
}
