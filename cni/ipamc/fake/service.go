package fake

import (
	"context"
	"slices"

	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/vpc-cni/vpc-cni/cni/ipamc"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// Messages as ipamd words them.
const (
	msgNotReady = "ipamd is not ready"
	msgStarting = "ipamd is starting: restoring and reconciling its state"
	msgGrowing  = "the pool is growing; no address became available in time"
	exhausted   = "no address available: "
)

// AddNetwork assigns the attachment an address: the one it holds if any.
func (s *Server) AddNetwork(ctx context.Context, r *ipamv1.AddNetworkRequest) (*ipamv1.AddNetworkResponse, error) {
	s.mu.Lock()
	s.lastAdd = proto.CloneOf(r)
	s.mu.Unlock()
	if err := s.enter(ctx, RPCAddNetwork); err != nil {
		return nil, err
	}
	if err := checkAdd(r); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notReady {
		return nil, errf(codes.Unavailable, msgNotReady)
	}
	key := ipamc.Attachment{ContainerID: r.GetContainerId(), IfName: r.GetIfname()}
	if h, ok := s.held[key]; ok {
		return s.addResponse(h), nil
	}
	if len(s.free) == 0 {
		switch {
		case s.blocked == "":
			return nil, errf(codes.ResourceExhausted, exhausted+msgGrowing)
		case s.permanent:
			return nil, errf(codes.FailedPrecondition, "%s%s", exhausted, s.blocked)
		default:
			return nil, errf(codes.ResourceExhausted, "%s%s", exhausted, s.blocked)
		}
	}
	a := s.free[0]
	s.free = s.free[1:]
	h := Held{Attachment: key, Allocation: a, NetNS: r.GetNetns(), PodNamespace: r.GetPodNamespace(),
		PodName: r.GetPodName(), PodUID: r.GetPodUid(), HostIfName: r.GetHostIfname()}
	s.held[key] = h
	return s.addResponse(h), nil
}

func (s *Server) addResponse(h Held) *ipamv1.AddNetworkResponse {
	resp := proto.CloneOf(s.node)
	resp.Allocation = heldPB(h)
	return resp
}

// DelNetwork releases the attachment's address; found=false if it holds
// none.
func (s *Server) DelNetwork(ctx context.Context, r *ipamv1.DelNetworkRequest) (*ipamv1.DelNetworkResponse, error) {
	if err := s.enter(ctx, RPCDelNetwork); err != nil {
		return nil, err
	}
	key, err := checkKey("", r.GetContainerId(), r.GetIfname())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notReady {
		return nil, errf(codes.Unavailable, msgNotReady)
	}
	h, ok := s.held[key]
	if !ok {
		return &ipamv1.DelNetworkResponse{}, nil
	}
	s.release(h)
	return &ipamv1.DelNetworkResponse{Found: true, Allocation: heldPB(h)}, nil
}

// release puts a held address back at the end of the free list.
func (s *Server) release(h Held) {
	delete(s.held, h.Attachment)
	s.free = append(s.free, h.Allocation)
}

// CheckNetwork says whether the attachment holds an address.
func (s *Server) CheckNetwork(ctx context.Context, r *ipamv1.CheckNetworkRequest) (*ipamv1.CheckNetworkResponse, error) {
	if err := s.enter(ctx, RPCCheckNetwork); err != nil {
		return nil, err
	}
	key, err := checkKey("", r.GetContainerId(), r.GetIfname())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notReady {
		return nil, errf(codes.Unavailable, msgNotReady)
	}
	h, ok := s.held[key]
	if !ok {
		return &ipamv1.CheckNetworkResponse{}, nil
	}
	return &ipamv1.CheckNetworkResponse{Found: true, Allocation: heldPB(h)}, nil
}

// Status: ready while an address is free or the pool is not blocked.
func (s *Server) Status(ctx context.Context, _ *ipamv1.StatusRequest) (*ipamv1.StatusResponse, error) {
	if err := s.enter(ctx, RPCStatus); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.notReady:
		return &ipamv1.StatusResponse{Reason: msgStarting}, nil
	case len(s.free) > 0:
		return &ipamv1.StatusResponse{Ready: true, Available: int32(len(s.free))}, nil
	case s.blocked != "":
		return &ipamv1.StatusResponse{Reason: s.blocked}, nil
	default:
		return &ipamv1.StatusResponse{Ready: true}, nil // growing
	}
}

// GarbageCollect releases every attachment not among the valid ones, and
// answers them ordered by address.
func (s *Server) GarbageCollect(ctx context.Context, r *ipamv1.GarbageCollectRequest) (*ipamv1.GarbageCollectResponse, error) {
	if err := s.enter(ctx, RPCGarbageCollect); err != nil {
		return nil, err
	}
	valid, err := checkValid(r.GetValidAttachments())
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.notReady {
		return nil, errf(codes.Unavailable, msgNotReady)
	}
	var gone []Held
	for key, h := range s.held {
		if _, ok := valid[key]; !ok {
			gone = append(gone, h)
		}
	}
	slices.SortFunc(gone, func(a, b Held) int { return a.IP.Compare(b.IP) })
	resp := &ipamv1.GarbageCollectResponse{Released: make([]*ipamv1.Released, 0, len(gone))}
	for _, h := range gone {
		s.release(h)
		resp.Released = append(resp.Released, &ipamv1.Released{
			Attachment: &ipamv1.Attachment{ContainerId: h.ContainerID, Ifname: h.IfName},
			Allocation: heldPB(h),
		})
	}
	return resp, nil
}

// heldPB is a held allocation as ipamd answers it, with the host veth
// recorded at AddNetwork.
func heldPB(h Held) *ipamv1.Allocation {
	a := h.Allocation
	return &ipamv1.Allocation{
		Ipv4:        a.IP.String(),
		EniId:       a.ENI,
		DeviceIndex: int32(a.DeviceIndex),
		RouteTable:  int32(a.RouteTable),
		Block:       a.Block.String(),
		HostIfname:  h.HostIfName,
	}
}
