package server

import (
	"context"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// rpc is the IPAM service: each method checks its request, calls the
// backend, and translates the answer. A request that fails the checks
// never reaches the backend.
type rpc struct {
	ipamv1.UnimplementedIPAMServer
	b ipam.Backend
}

var _ ipamv1.IPAMServer = (*rpc)(nil)

func (s *rpc) AddNetwork(ctx context.Context, r *ipamv1.AddNetworkRequest) (*ipamv1.AddNetworkResponse, error) {
	key, pod, err := checkAdd(r)
	if err != nil {
		return nil, toStatus(err)
	}
	res, err := s.b.Add(ctx, key, pod)
	if err != nil {
		return nil, toStatus(err)
	}
	if !res.Allocation.IP.Is4() {
		return nil, status.Errorf(codes.Internal, "ipamd assigned %s/%s no IPv4 address", key.ContainerID, key.IfName)
	}
	return addResponsePB(res), nil
}

func (s *rpc) DelNetwork(ctx context.Context, r *ipamv1.DelNetworkRequest) (*ipamv1.DelNetworkResponse, error) {
	key, err := checkKey("", r.GetContainerId(), r.GetIfname())
	if err != nil {
		return nil, toStatus(err)
	}
	a, found, err := s.b.Del(ctx, key)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &ipamv1.DelNetworkResponse{Found: found}
	if found {
		resp.Allocation = allocationPB(a)
	}
	return resp, nil
}

func (s *rpc) CheckNetwork(ctx context.Context, r *ipamv1.CheckNetworkRequest) (*ipamv1.CheckNetworkResponse, error) {
	key, err := checkKey("", r.GetContainerId(), r.GetIfname())
	if err != nil {
		return nil, toStatus(err)
	}
	a, found, err := s.b.Check(ctx, key)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &ipamv1.CheckNetworkResponse{Found: found}
	if found {
		resp.Allocation = allocationPB(a)
	}
	return resp, nil
}

func (s *rpc) Status(ctx context.Context, _ *ipamv1.StatusRequest) (*ipamv1.StatusResponse, error) {
	st := s.b.Status(ctx)
	return &ipamv1.StatusResponse{Ready: st.Ready, Reason: st.Reason, Available: int32Of(st.Available)}, nil
}

func (s *rpc) GarbageCollect(ctx context.Context, r *ipamv1.GarbageCollectRequest) (*ipamv1.GarbageCollectResponse, error) {
	valid, err := checkValid(r.GetValidAttachments())
	if err != nil {
		return nil, toStatus(err)
	}
	released, err := s.b.GC(ctx, valid)
	if err != nil {
		return nil, toStatus(err)
	}
	resp := &ipamv1.GarbageCollectResponse{Released: make([]*ipamv1.Released, 0, len(released))}
	for _, a := range released {
		resp.Released = append(resp.Released, &ipamv1.Released{
			Attachment: attachmentPB(a.Key),
			Allocation: allocationPB(a),
		})
	}
	return resp, nil
}
