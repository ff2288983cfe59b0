package ipamc_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vpc-cni/vpc-cni/cni/ipamc"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// scripted is an IPAM service that gives fixed answers, malformed ones
// included, which neither ipamd nor the fake produce.
type scripted struct {
	ipamv1.UnimplementedIPAMServer
	add    *ipamv1.AddNetworkResponse
	del    *ipamv1.DelNetworkResponse
	check  *ipamv1.CheckNetworkResponse
	status *ipamv1.StatusResponse
	gc     *ipamv1.GarbageCollectResponse
}

func (s *scripted) AddNetwork(context.Context, *ipamv1.AddNetworkRequest) (*ipamv1.AddNetworkResponse, error) {
	return s.add, nil
}

func (s *scripted) DelNetwork(context.Context, *ipamv1.DelNetworkRequest) (*ipamv1.DelNetworkResponse, error) {
	return s.del, nil
}

func (s *scripted) CheckNetwork(context.Context, *ipamv1.CheckNetworkRequest) (*ipamv1.CheckNetworkResponse, error) {
	return s.check, nil
}

func (s *scripted) Status(context.Context, *ipamv1.StatusRequest) (*ipamv1.StatusResponse, error) {
	return s.status, nil
}

func (s *scripted) GarbageCollect(context.Context, *ipamv1.GarbageCollectRequest) (*ipamv1.GarbageCollectResponse, error) {
	return s.gc, nil
}

func goodAlloc() *ipamv1.Allocation {
	return &ipamv1.Allocation{Ipv4: "198.18.2.10", EniId: "eni-1", DeviceIndex: 1, RouteTable: 2, Block: "198.18.2.0/28"}
}

func goodAdd() *ipamv1.AddNetworkResponse {
	return &ipamv1.AddNetworkResponse{Allocation: goodAlloc(), VpcCidrs: []string{"198.18.0.0/16"}, Mtu: 9001,
		SnatMode: ipamv1.SNATMode_SNAT_MODE_NODE}
}

func TestMalformedAdd(t *testing.T) {
	tests := []struct {
		field string
		mod   func(r *ipamv1.AddNetworkResponse)
	}{
		{"allocation", func(r *ipamv1.AddNetworkResponse) { r.Allocation = nil }},
		{"allocation.ipv4", func(r *ipamv1.AddNetworkResponse) { r.Allocation.Ipv4 = "" }},
		{"allocation.ipv4", func(r *ipamv1.AddNetworkResponse) { r.Allocation.Ipv4 = "198.18.2.300" }},
		{"allocation.ipv4", func(r *ipamv1.AddNetworkResponse) { r.Allocation.Ipv4 = "2001:db8::1" }},
		{"allocation.ipv4", func(r *ipamv1.AddNetworkResponse) { r.Allocation.Ipv4 = "::ffff:198.18.2.10" }},
		{"allocation.device_index", func(r *ipamv1.AddNetworkResponse) { r.Allocation.DeviceIndex = -1 }},
		{"allocation.route_table", func(r *ipamv1.AddNetworkResponse) { r.Allocation.RouteTable = 0 }},
		{"allocation.route_table", func(r *ipamv1.AddNetworkResponse) { r.Allocation.RouteTable = 255 }},
		{"allocation.route_table", func(r *ipamv1.AddNetworkResponse) { r.Allocation.RouteTable = -2 }},
		{"allocation.block", func(r *ipamv1.AddNetworkResponse) { r.Allocation.Block = "198.18.3.0/28" }},
		{"allocation.block", func(r *ipamv1.AddNetworkResponse) { r.Allocation.Block = "198.18.2.10" }},
		{"mtu", func(r *ipamv1.AddNetworkResponse) { r.Mtu = 0 }},
		{"mtu", func(r *ipamv1.AddNetworkResponse) { r.Mtu = 70000 }},
		{"vpc_cidrs[1]", func(r *ipamv1.AddNetworkResponse) { r.VpcCidrs = append(r.VpcCidrs, "198.18.0.0/33") }},
		{"snat_mode", func(r *ipamv1.AddNetworkResponse) { r.SnatMode = 7 }},
	}
	srv := &scripted{}
	c := dial(t, serveCustom(t, srv))
	for _, tc := range tests {
		srv.add = goodAdd()
		tc.mod(srv.add)
		res, err := c.Add(ctxT(t), addReq("c1", "eth0"))
		if !errors.Is(err, ipamc.ErrMalformed) || !strings.Contains(err.Error(), tc.field+" ") ||
			!strings.Contains(err.Error(), "AddNetwork") {
			t.Errorf("Add answered %v = %+v, %v; want ErrMalformed naming %s", srv.add, res, err, tc.field)
		}
	}
	// The good answer reads, with the block and CIDRs in canonical form.
	srv.add = goodAdd()
	srv.add.SnatMode = ipamv1.SNATMode_SNAT_MODE_UNSPECIFIED
	srv.add.VpcCidrs = []string{"198.18.7.7/16"}
	res, err := c.Add(ctxT(t), addReq("c1", "eth0"))
	if err != nil || res.IP.String() != "198.18.2.10" || res.RouteTable != 2 || res.DeviceIndex != 1 ||
		res.ENI != "eni-1" || res.Block.String() != "198.18.2.0/28" || res.VPCCIDRs[0].String() != "198.18.0.0/16" ||
		res.ExternalSNAT || res.MTU != 9001 {
		t.Errorf("Add of a good answer = %+v, %v", res, err)
	}
}

func TestMalformedOthers(t *testing.T) {
	badIP := goodAlloc()
	badIP.Ipv4 = "eni-1"
	tests := []struct {
		name, field string
		srv         scripted
		call        func(c ipamc.Client) error
	}{
		{"Del found without allocation", "allocation", scripted{del: &ipamv1.DelNetworkResponse{Found: true}},
			func(c ipamc.Client) error { _, _, err := c.Del(context.Background(), att("c1", "eth0")); return err }},
		{"Del with a bad address", "allocation.ipv4", scripted{del: &ipamv1.DelNetworkResponse{Found: true, Allocation: badIP}},
			func(c ipamc.Client) error { _, _, err := c.Del(context.Background(), att("c1", "eth0")); return err }},
		{"Check found without allocation", "allocation", scripted{check: &ipamv1.CheckNetworkResponse{Found: true}},
			func(c ipamc.Client) error { _, _, err := c.Check(context.Background(), att("c1", "eth0")); return err }},
		{"Status with negative availability", "available", scripted{status: &ipamv1.StatusResponse{Ready: true, Available: -1}},
			func(c ipamc.Client) error { _, err := c.Status(context.Background()); return err }},
		{"GC without attachment", "released[0].attachment", scripted{gc: &ipamv1.GarbageCollectResponse{
			Released: []*ipamv1.Released{{Allocation: goodAlloc()}}}},
			func(c ipamc.Client) error { _, err := c.GC(context.Background(), nil); return err }},
		{"GC without allocation", "released[1].allocation", scripted{gc: &ipamv1.GarbageCollectResponse{
			Released: []*ipamv1.Released{
				{Attachment: &ipamv1.Attachment{ContainerId: "c1", Ifname: "eth0"}, Allocation: goodAlloc()},
				{Attachment: &ipamv1.Attachment{ContainerId: "c2", Ifname: "eth0"}}}}},
			func(c ipamc.Client) error { _, err := c.GC(context.Background(), nil); return err }},
		{"GC with a bad address", "released[0].allocation.ipv4", scripted{gc: &ipamv1.GarbageCollectResponse{
			Released: []*ipamv1.Released{{Attachment: &ipamv1.Attachment{ContainerId: "c1", Ifname: "eth0"}, Allocation: badIP}}}},
			func(c ipamc.Client) error { _, err := c.GC(context.Background(), nil); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, serveCustom(t, &tc.srv))
			err := tc.call(c)
			if !errors.Is(err, ipamc.ErrMalformed) || !strings.Contains(err.Error(), tc.field+" ") {
				t.Errorf("%v; want ErrMalformed naming %s", err, tc.field)
			}
		})
	}
}

// A not-found answer needs no allocation, and one that carries a bad
// allocation anyway is not read.
func TestNotFoundIgnoresAllocation(t *testing.T) {
	bad := goodAlloc()
	bad.Ipv4 = "nonsense"
	srv := &scripted{del: &ipamv1.DelNetworkResponse{Allocation: bad}, check: &ipamv1.CheckNetworkResponse{}}
	c := dial(t, serveCustom(t, srv))
	if a, found, err := c.Del(ctxT(t), att("c1", "eth0")); err != nil || found || a != (ipamc.Allocation{}) {
		t.Errorf("Del = %+v, %v, %v", a, found, err)
	}
	if a, found, err := c.Check(ctxT(t), att("c1", "eth0")); err != nil || found || a != (ipamc.Allocation{}) {
		t.Errorf("Check = %+v, %v, %v", a, found, err)
	}
}
