package daemon_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// TestEC2FaultsRetried: throttling and 5xx answers that stop after a few
// attempts are absorbed by the client's retries: the pool settles as if
// nothing happened.
func TestEC2FaultsRetried(t *testing.T) {
	for _, code := range []string{"RequestLimitExceeded", "InternalError", "Unavailable"} {
		t.Run(code, func(t *testing.T) {
			t.Parallel()
			c := startCloud(t, world{}, func(cfg *sim.Config) {
				cfg.Faults = []sim.Fault{{Action: "AssignPrivateIpAddresses", Code: code, Probability: 1, Count: 3}}
			})
			r := newNode(t, c, nil).start()
			v := r.waitSteady()
			if got := countsOf(v); got.total != 9 {
				t.Errorf("pool = %+v, want the 9 addresses of defaults on m5.large", got)
			}
			if n := c.srv.Knobs().Stats().Errors["AssignPrivateIpAddresses"][code]; n != 3 {
				t.Errorf("ec2sim answered %s %d times, want 3", code, n)
			}
			r.assertMatchesCloud()
		})
	}
}

// TestEC2FaultsSurfaced: a fault that persists beyond the client's retries
// is backed off and named, in the ADD's error and in introspection, and
// the pool recovers once it clears.
func TestEC2FaultsSurfaced(t *testing.T) {
	tests := []struct {
		code string
		want string // in the ADD's error
	}{
		{"RequestLimitExceeded", "EC2 throttling; retrying"},
		{"InternalError", "InternalError"},
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			c := startCloud(t, world{}, func(cfg *sim.Config) {
				cfg.Faults = []sim.Fault{
					{Action: "AssignPrivateIpAddresses", Code: tt.code, Probability: 1},
					{Action: "CreateNetworkInterface", Code: tt.code, Probability: 1},
				}
			})
			n := newNode(t, c, map[string]string{"VPC_CNI_ADD_WAIT": "1"})
			r := n.start()
			eventually(t, "the failure is recorded", func() bool { return r.poolState().LastError != "" })
			if p := r.poolState(); !strings.Contains(p.LastError, tt.code) || len(p.Backoff) == 0 {
				t.Errorf("introspection pool state = %+v, want the last error naming %s and a backoff", p, tt.code)
			}

			ctx, cancel := callCtx()
			defer cancel()
			_, err := r.client.AddNetwork(ctx, addReq(1))
			if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("AddNetwork while EC2 fails = %v, want ResourceExhausted naming %q", err, tt.want)
			}
			if st := r.status(); st.GetAvailable() != 0 {
				t.Errorf("Status = %v, want nothing available", st)
			}
			// Every ADD fails meanwhile: Status is not ready and says why.
			eventually(t, "Status is not ready naming the cause", func() bool {
				st := r.status()
				return !st.GetReady() && strings.Contains(st.GetReason(), tt.want)
			})
			if body := r.scrape(); !strings.Contains(body, `vpc_cni_pool_actions_total{kind="assign-ips",outcome=`) {
				t.Errorf("metrics do not count the failed pool actions")
			}

			c.srv.Knobs().ClearFaults()
			eventually(t, "an ADD succeeds once EC2 recovers", func() bool {
				_, err := r.tryAdd(1)
				return err == nil
			})
			r.waitSteady()
			r.assertMatchesCloud()
			if p := r.poolState(); p.LastError != "" {
				t.Errorf("last error after recovery = %q, want none", p.LastError)
			}
		})
	}
}

// TestSubnetExhausted: a subnet too small for the pool: growth fails with
// InsufficientFreeAddressesInSubnet, the ADD that finds no address names
// the subnet, and what the subnet had is used.
func TestSubnetExhausted(t *testing.T) {
	t.Parallel()
	// A /28 has 11 usable addresses: the instance's primary and 10 more.
	c := startCloud(t, world{subnet: "198.18.16.0/28"}, nil)
	n := newNode(t, c, map[string]string{"VPC_CNI_ADD_WAIT": "2", "IP_COOLDOWN_PERIOD": "0"})
	r := n.start()
	r.waitSteady()
	subnet := c.srv.World().Snapshot().Subnets[0].ID

	for i := range 9 {
		r.add(i)
	}
	eventually(t, "subnet exhaustion is recorded", func() bool {
		_, held := r.poolState().Backoff["subnet-exhausted"]
		return held
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	_, err := r.client.AddNetwork(ctx, addReq(100))
	want := "subnet " + subnet + " has no free addresses"
	if status.Code(err) != codes.ResourceExhausted || !strings.Contains(err.Error(), want) {
		t.Errorf("AddNetwork on an exhausted subnet = %v, want ResourceExhausted naming %q", err, want)
	}
	if n := c.srv.Knobs().Stats().Errors["CreateNetworkInterface"]["InsufficientFreeAddressesInSubnet"] +
		c.srv.Knobs().Stats().Errors["AssignPrivateIpAddresses"]["InsufficientFreeAddressesInSubnet"]; n == 0 {
		t.Error("ec2sim never answered InsufficientFreeAddressesInSubnet")
	}
	if body := r.scrape(); !strings.Contains(body, `vpc_cni_add_network_failures_total{cause="subnet-exhausted"} 1`) {
		t.Errorf("the failed ADD is not counted with cause subnet-exhausted:\n%s", grepLines(body, "vpc_cni_add_network_failures_total"))
	}
	eventually(t, "Status is not ready naming the subnet", func() bool {
		st := r.status()
		return !st.GetReady() && strings.Contains(st.GetReason(), want)
	})
	r.assertMatchesCloud()

	// A pod deleted gives its address to the next.
	id, ifname := key(0)
	if _, err := r.client.DelNetwork(ctx, &ipamv1.DelNetworkRequest{ContainerId: id, Ifname: ifname}); err != nil {
		t.Fatal(err)
	}
	r.add(100)
}

// TestLimitReached: at a limit only configuration or capacity can lift,
// Status is not ready and names it, and the ADD fails with
// FailedPrecondition naming the same cause.
func TestLimitReached(t *testing.T) {
	t.Parallel()
	c := startCloud(t, world{}, nil)
	r := newNode(t, c, map[string]string{"MAX_ENI": "1", "VPC_CNI_ADD_WAIT": "1"}).start()
	r.waitSteady()
	for i := range 9 {
		r.add(i)
	}
	const want = "MAX_ENI=1 reached (m5.large allows 3 ENIs)"
	eventually(t, "Status names the limit", func() bool { return !r.status().GetReady() })
	if st := r.status(); !strings.Contains(st.GetReason(), want) {
		t.Errorf("Status = %v, want a reason naming %q", st, want)
	}
	_, err := r.tryAdd(100)
	if status.Code(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), want) {
		t.Errorf("AddNetwork at the limit = %v, want FailedPrecondition naming %q", err, want)
	}
	if body := r.scrape(); !strings.Contains(body, `vpc_cni_add_network_failures_total{cause="max-eni"} 1`) {
		t.Errorf("the failed ADD is not counted with cause max-eni:\n%s", grepLines(body, "vpc_cni_add_network_failures_total"))
	}
	r.assertMatchesCloud()
}

// TestEC2ThrottleBucket: with EC2's request rate limiting on (ec2sim's
// token buckets) and a bucket for AssignPrivateIpAddresses that refills
// one request a second, pods arriving one after the other still get
// their addresses: the manager backs off and retries.
func TestEC2ThrottleBucket(t *testing.T) {
	t.Parallel()
	c := startCloud(t, world{}, func(cfg *sim.Config) {
		cfg.Throttle = sim.ThrottleConfig{
			Enabled:     true,
			Mutating:    sim.Bucket{Size: 1000, RefillPerSecond: 1000},
			NonMutating: sim.Bucket{Size: 1000, RefillPerSecond: 1000},
			PerAction:   map[string]sim.Bucket{"AssignPrivateIpAddresses": {Size: 1, RefillPerSecond: 1}},
		}
	})
	r := newNode(t, c, map[string]string{"WARM_IP_TARGET": "1", "MINIMUM_IP_TARGET": "1", "VPC_CNI_ADD_WAIT": "30"}).start()
	ips := map[int]netip.Addr{}
	for i := range 4 {
		ips[i] = r.add(i)
	}
	checkUnique(t, ips)
	if n := c.srv.Knobs().Stats().Throttled["AssignPrivateIpAddresses"]; n == 0 {
		t.Error("ec2sim never throttled AssignPrivateIpAddresses")
	}
	r.waitSteady()
	r.assertMatchesCloud()
}

// grepLines is the lines of text that contain s.
func grepLines(text, s string) string {
	var out []string
	for line := range strings.SplitSeq(text, "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
