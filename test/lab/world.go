package lab

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
)

// The lab's VPC (lab-design.md).
var (
	vpcCIDR    = netip.MustParsePrefix("198.18.0.0/16")
	subnetCIDR = netip.MustParsePrefix("198.18.0.0/20")
	// internetHost is the echo server beyond the fabric.
	internetHost = netip.MustParseAddr("203.0.113.10")
)

const (
	labRegion = "us-west-2"
	labAZ     = "us-west-2a"
	// worldSeed makes ENI ids, MACs and addresses repeatable.
	worldSeed = 6
	// ec2URL and imdsURL are ec2sim's listeners on the fabric's lo.
	ec2Listen  = "169.254.169.253:80"
	imdsListen = "169.254.169.254:80"
	ec2URL     = "http://169.254.169.253"
	imdsURL    = "http://169.254.169.254"
	stateURL   = ec2URL + "/sim/state"
	healthURL  = ec2URL + "/sim/healthz"
	echoPort   = 7
)

// Realistic but small delays: an attach, a detach and the propagation to
// instance metadata each take a few hundred milliseconds, as on EC2.
const (
	attachDelay = 300 * time.Millisecond
	detachDelay = 300 * time.Millisecond
	imdsLag     = 300 * time.Millisecond
)

// primaryIP is node i's primary address, 198.18.0.(10+i).
func primaryIP(i int) netip.Addr {
	return netip.AddrFrom4([4]byte{198, 18, 0, byte(10 + i)})
}

// world is ec2sim's world for cfg: the lab's VPC and subnet, one instance
// of cfg.InstanceType per node, a fixed seed, no faults, and EC2's
// throttling on with buckets generous enough for a lab coming up at once.
func world(cfg Config) sim.Config {
	subnet := cfg.Prefix + "-a"
	w := sim.Config{
		Region: labRegion, AZ: labAZ, AccountID: sim.DefaultAccountID, Seed: worldSeed,
		Delays: sim.DelaysConfig{
			Attach: sim.Duration(attachDelay), Detach: sim.Duration(detachDelay), IMDSLag: sim.Duration(imdsLag),
		},
		Throttle: sim.ThrottleConfig{
			Enabled:     true,
			Mutating:    sim.Bucket{Size: 500, RefillPerSecond: 100},
			NonMutating: sim.Bucket{Size: 1000, RefillPerSecond: 200},
		},
		VPCs: []sim.VPCConfig{{
			CIDR: vpcCIDR.String(), Tags: map[string]string{"Name": cfg.Prefix},
			Subnets: []sim.SubnetConfig{{Name: subnet, AZ: labAZ, CIDR: subnetCIDR.String()}},
		}},
	}
	for i := 1; i <= cfg.Nodes; i++ {
		w.Instances = append(w.Instances, sim.InstanceConfig{
			Type: cfg.InstanceType, Subnet: subnet, PrimaryIP: primaryIP(i).String(),
		})
	}
	return w
}

// worldJSON is world(cfg) as ec2sim's --config file.
func worldJSON(cfg Config) ([]byte, error) {
	b, err := json.MarshalIndent(world(cfg), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", worldFile, err)
	}
	return append(b, '\n'), nil
}
