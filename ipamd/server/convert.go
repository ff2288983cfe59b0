package server

import (
	"context"
	"errors"
	"math"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// toStatus maps a backend (or validation) error to the gRPC status the
// plugin branches on:
//
//	ipam.ErrInvalid             InvalidArgument
//	ipam.ErrNotReady            Unavailable
//	datastore.ErrCheckpoint     Unavailable (transient: nothing changed, the plugin retries)
//	*ipam.ExhaustedError        FailedPrecondition when Permanent, else ResourceExhausted
//	context.DeadlineExceeded    DeadlineExceeded
//	context.Canceled            Canceled
//	anything else               Internal
//
// The message is the error's text, which names the cause.
func toStatus(err error) error {
	var exhausted *ipam.ExhaustedError
	code := codes.Internal
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ipam.ErrInvalid):
		code = codes.InvalidArgument
	case errors.Is(err, ipam.ErrNotReady), errors.Is(err, datastore.ErrCheckpoint):
		code = codes.Unavailable
	case errors.As(err, &exhausted):
		code = codes.ResourceExhausted
		if exhausted.Permanent {
			code = codes.FailedPrecondition
		}
	case errors.Is(err, context.DeadlineExceeded):
		code = codes.DeadlineExceeded
	case errors.Is(err, context.Canceled):
		code = codes.Canceled
	}
	return status.Error(code, err.Error())
}

// int32Of converts a small count or index; out-of-range values (never
// produced by the datastore) saturate instead of wrapping.
func int32Of(n int) int32 {
	switch {
	case n > math.MaxInt32:
		return math.MaxInt32
	case n < math.MinInt32:
		return math.MinInt32
	}
	return int32(n)
}

func allocationPB(a datastore.Allocation) *ipamv1.Allocation {
	pb := &ipamv1.Allocation{
		EniId:       a.ENI,
		DeviceIndex: int32Of(a.DeviceIndex),
		RouteTable:  int32Of(a.RouteTable),
		HostIfname:  a.Pod.HostIfName,
	}
	if a.IP.IsValid() {
		pb.Ipv4 = a.IP.String()
	}
	if a.Block.IsValid() {
		pb.Block = a.Block.String()
	}
	return pb
}

func attachmentPB(k datastore.Key) *ipamv1.Attachment {
	return &ipamv1.Attachment{ContainerId: k.ContainerID, Ifname: k.IfName}
}

func addResponsePB(r ipam.AddResult) *ipamv1.AddNetworkResponse {
	cidrs := make([]string, 0, len(r.Node.VPCCIDRs))
	for _, c := range r.Node.VPCCIDRs {
		cidrs = append(cidrs, c.String())
	}
	snat := ipamv1.SNATMode_SNAT_MODE_NODE
	if r.Node.ExternalSNAT {
		snat = ipamv1.SNATMode_SNAT_MODE_EXTERNAL
	}
	return &ipamv1.AddNetworkResponse{
		Allocation: allocationPB(r.Allocation),
		VpcCidrs:   cidrs,
		Mtu:        int32Of(r.Node.MTU),
		SnatMode:   snat,
	}
}
