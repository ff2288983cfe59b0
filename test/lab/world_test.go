package lab

import (
	"net/netip"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
)

// The world file is one ec2sim accepts: the lab's VPC and subnet, one
// instance per node at 198.18.0.(10+i), no faults.
func TestWorldJSON(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Nodes, cfg.InstanceType = 3, "t3.medium"
	b, err := worldJSON(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w, err := sim.ParseConfig(b)
	if err != nil {
		t.Fatalf("ec2sim refuses the world: %v\n%s", err, b)
	}
	if len(w.VPCs) != 1 || w.VPCs[0].CIDR != "198.18.0.0/16" || len(w.VPCs[0].Subnets) != 1 ||
		w.VPCs[0].Subnets[0].CIDR != "198.18.0.0/20" || w.VPCs[0].Subnets[0].AZ != "us-west-2a" {
		t.Errorf("VPCs = %+v, want 198.18.0.0/16 with the subnet 198.18.0.0/20 in us-west-2a", w.VPCs)
	}
	if len(w.Instances) != 3 {
		t.Fatalf("%d instances, want 3", len(w.Instances))
	}
	for i, in := range w.Instances {
		want := netip.AddrFrom4([4]byte{198, 18, 0, byte(11 + i)}).String()
		if in.Type != "t3.medium" || in.PrimaryIP != want {
			t.Errorf("instance %d = %+v, want a t3.medium at %s", i, in, want)
		}
	}
	if len(w.Faults) != 0 || w.Seed == 0 || !w.Throttle.Enabled {
		t.Errorf("world: faults %v, seed %d, throttle %+v: want no faults, a fixed seed, throttling on", w.Faults, w.Seed, w.Throttle)
	}
}
