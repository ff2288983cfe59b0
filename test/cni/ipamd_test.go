package cni_test

import (
	"maps"
	"net/netip"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/internal/ipamdtest"
	"github.com/vpc-cni/vpc-cni/ipamd/daemon"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// The emulated VPC: the node's subnet is away from hostAddr's /24, so no
// pod is given the host namespace's own address.
const (
	nodeSubnet = "198.18.32.0/20"
	nodeIP     = "198.18.32.6"
)

// realIpamd is the real ipamd (datastore, pool manager, IPAM service and
// gRPC server) running in-process against ec2sim, with only its host
// programming faked.
type realIpamd struct {
	sim    *sim.Server
	inst   sim.Instance
	socket string
	client ipamv1.IPAMClient
}

// startIpamd starts ec2sim with one instance of instType and ipamd on it,
// configured by env, and waits until ipamd serves; t.Cleanup stops both.
func startIpamd(t *testing.T, instType string, env map[string]string) *realIpamd {
	t.Helper()
	all := map[string]string{"VPC_CNI_ADD_WAIT": "30s"}
	maps.Copy(all, env)
	d := ipamdtest.Start(t, ipamdtest.Options{InstanceType: instType, SubnetCIDR: nodeSubnet, PrimaryIP: nodeIP,
		Env: all, Wait: waitFor, Tuning: daemon.Tuning{StartupWait: 10 * time.Second}})
	return &realIpamd{sim: d.Sim, inst: d.Instance, socket: d.Socket, client: d.Client}
}

// waitAvailable waits until ipamd is ready with at least n free addresses.
func (r *realIpamd) waitAvailable(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		st, err := r.client.Status(ctx(t), &ipamv1.StatusRequest{})
		if err == nil && st.GetReady() && int(st.GetAvailable()) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("ipamd not ready with %d free addresses within %s: %v, %v", n, waitFor, st, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holds is ipamd's allocation of the attachment, if any.
func (r *realIpamd) holds(t *testing.T, containerID, ifName string) (*ipamv1.Allocation, bool) {
	t.Helper()
	resp, err := r.client.CheckNetwork(ctx(t), &ipamv1.CheckNetworkRequest{ContainerId: containerID, Ifname: ifName})
	if err != nil {
		t.Fatalf("CheckNetwork %s: %v", containerID, err)
	}
	return resp.GetAllocation(), resp.GetFound()
}

// eniOf is the ec2sim ENI attached to the instance that holds ip.
func (r *realIpamd) eniOf(t *testing.T, ip netip.Addr) sim.ENI {
	t.Helper()
	for _, e := range r.sim.World().Snapshot().ENIs {
		if e.Attachment == nil || e.Attachment.InstanceID != r.inst.ID {
			continue
		}
		for _, a := range e.SecondaryIPs {
			if a == ip {
				return e
			}
		}
		for _, p := range e.Prefixes {
			if p.Contains(ip) {
				return e
			}
		}
	}
	t.Fatalf("ec2sim shows %s on no ENI of instance %s", ip, r.inst.ID)
	return sim.ENI{}
}
