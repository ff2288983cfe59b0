package aws_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud"
	cloudaws "github.com/vpc-cni/vpc-cni/cloud/aws"
	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/cloud/sim/simtest"
)

// A fault with After makes ec2sim run the action and then fail its
// answer, as when EC2 makes a change and the response is lost: the client
// retries an action that has already happened.

// afterFaults are the two ways an answer is lost after the change is made.
var afterFaults = []struct {
	name  string
	fault sim.Fault
}{
	{"error", sim.Fault{Code: "InternalError", Status: 500, Probability: 1, Count: 1, After: true}},
	{"dropped", sim.Fault{Drop: true, Probability: 1, Count: 1, After: true}},
}

// TestIntegrationCreateENIRetryIdempotent: the SDK sends one client token
// with every attempt of a CreateNetworkInterface, so a retry after a lost
// answer gets the ENI the first attempt made instead of a second one.
func TestIntegrationCreateENIRetryIdempotent(t *testing.T) {
	t.Parallel()
	for _, tt := range afterFaults {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := simtest.Start(t, nil)
			api, md, _ := simClients(t, srv, nil)
			ctx := context.Background()
			inst, err := md.Instance(ctx)
			if err != nil {
				t.Fatal(err)
			}
			before := eniIDs(srv.World().Snapshot())
			f := tt.fault
			f.Action = "CreateNetworkInterface"
			srv.Knobs().AddFault(f)

			eni, err := api.CreateENI(ctx, cloud.CreateENIRequest{SubnetID: inst.SubnetID, SecondaryIPs: 2})
			if err != nil {
				t.Fatalf("CreateENI through a lost answer: %v", err)
			}
			if n := srv.Knobs().Stats().Calls["CreateNetworkInterface"]; n != 2 {
				t.Errorf("sim saw %d CreateNetworkInterface calls, want 2 (the lost answer and the retry)", n)
			}
			var created []string
			for _, id := range eniIDs(srv.World().Snapshot()) {
				if !slices.Contains(before, id) {
					created = append(created, id)
				}
			}
			if len(created) != 1 || created[0] != eni.ID {
				t.Errorf("ENIs created = %v, want exactly the one returned, %s", created, eni.ID)
			}
			if len(eni.SecondaryIPs) != 2 {
				t.Errorf("returned ENI = %+v, want its 2 secondaries", eni)
			}
		})
	}
}

// TestIntegrationAssignIPsRetryLeaks documents a known leak EC2 has too:
// AssignPrivateIpAddresses takes no client token, so a retry after a lost
// answer assigns a second batch. The client returns only the retry's
// addresses; the first batch stays on the ENI, unknown to the caller,
// until ipamd reconciles the ENI against EC2.
func TestIntegrationAssignIPsRetryLeaks(t *testing.T) {
	t.Parallel()
	for _, tt := range afterFaults {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := simtest.Start(t, nil)
			api, md, _ := simClients(t, srv, nil)
			ctx := context.Background()
			inst, err := md.Instance(ctx)
			if err != nil {
				t.Fatal(err)
			}
			f := tt.fault
			f.Action = "AssignPrivateIpAddresses"
			srv.Knobs().AddFault(f)

			const n = 2
			ips, err := api.AssignIPs(ctx, inst.PrimaryENI, n)
			if err != nil || len(ips) != n {
				t.Fatalf("AssignIPs through a lost answer = %v, %v; want %d addresses", ips, err, n)
			}
			onENI := secondariesOf(t, srv.World().Snapshot(), inst.PrimaryENI)
			var leaked []netip.Addr
			for _, ip := range onENI {
				if !slices.Contains(ips, ip) {
					leaked = append(leaked, ip)
				}
			}
			if len(onENI) != 2*n || len(leaked) != n {
				t.Errorf("ENI holds %v, client got %v: want %d assigned twice, %d of them unknown to the client",
					onENI, ips, n, n)
			}
		})
	}
}

func eniIDs(s sim.State) []string {
	ids := make([]string, 0, len(s.ENIs))
	for _, e := range s.ENIs {
		ids = append(ids, e.ID)
	}
	return ids
}

func secondariesOf(t *testing.T, s sim.State, eniID string) []netip.Addr {
	t.Helper()
	for _, e := range s.ENIs {
		if e.ID == eniID {
			return e.SecondaryIPs
		}
	}
	t.Fatalf("sim has no ENI %s", eniID)
	return nil
}

// TestIntegrationOutcomeUnknownBehindRetries: the SDK's retryer returns the
// last attempt's error, so an unassign whose first attempt took effect
// (its answer an InternalError) and whose retries were all throttled would
// look like a plain refusal. The error also says the outcome is unknown,
// and ec2sim did remove the address.
func TestIntegrationOutcomeUnknownBehindRetries(t *testing.T) {
	t.Parallel()
	srv := simtest.Start(t, nil)
	api, md, _ := simClients(t, srv, nil)
	ctx := context.Background()
	inst, err := md.Instance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ips, err := api.AssignIPs(ctx, inst.PrimaryENI, 1)
	if err != nil {
		t.Fatal(err)
	}
	const action = "UnassignPrivateIpAddresses"
	srv.Knobs().SetThrottle(sim.ThrottleConfig{
		Enabled:     true,
		Mutating:    sim.Bucket{Size: 100, RefillPerSecond: 100},
		NonMutating: sim.Bucket{Size: 100, RefillPerSecond: 100},
		PerAction:   map[string]sim.Bucket{action: {Size: 1, RefillPerSecond: 0.0001}},
	})
	srv.Knobs().AddFault(sim.Fault{Action: action, Code: "InternalError", Status: 500, Probability: 1, Count: 1, After: true})

	err = api.UnassignIPs(ctx, inst.PrimaryENI, ips)
	if !errors.Is(err, cloud.ErrThrottled) || !errors.Is(err, cloud.ErrOutcomeUnknown) {
		t.Errorf("UnassignIPs = %v; want ErrThrottled and ErrOutcomeUnknown", err)
	}
	if st := srv.Knobs().Stats(); st.Throttled[action] == 0 {
		t.Errorf("setup: no attempt was throttled: %+v", st)
	}
	if left := secondariesOf(t, srv.World().Snapshot(), inst.PrimaryENI); slices.Contains(left, ips[0]) {
		t.Errorf("ec2sim still assigns %s: the first attempt did not take effect", ips[0])
	}
}

// TestIntegrationOutcomeKnown: a call refused outright (throttled on every
// attempt, or a bad argument) and a call that succeeded after a lost
// answer do not claim an unknown outcome.
func TestIntegrationOutcomeKnown(t *testing.T) {
	t.Parallel()
	srv := simtest.Start(t, nil)
	api, md, _ := simClients(t, srv, func(o *cloudaws.Options) { o.MaxAttempts = 2 })
	ctx := context.Background()
	inst, err := md.Instance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv.Knobs().AddFault(sim.Fault{Action: "AssignPrivateIpAddresses", Code: "RequestLimitExceeded", Probability: 1, Count: 2})
	if _, err := api.AssignIPs(ctx, inst.PrimaryENI, 1); !errors.Is(err, cloud.ErrThrottled) ||
		errors.Is(err, cloud.ErrOutcomeUnknown) {
		t.Errorf("throttled twice: %v; want ErrThrottled alone", err)
	}
	if err := api.UnassignIPs(ctx, inst.PrimaryENI, []netip.Addr{netip.MustParseAddr("198.18.255.254")}); err == nil ||
		errors.Is(err, cloud.ErrOutcomeUnknown) {
		t.Errorf("unassigning an address the ENI lacks: %v; want a refusal alone", err)
	}
	srv.Knobs().AddFault(sim.Fault{Action: "AssignPrivateIpAddresses", Code: "InternalError", Status: 500, Probability: 1, Count: 1})
	if _, err := api.AssignIPs(ctx, inst.PrimaryENI, 1); err != nil {
		t.Errorf("a 5xx, then success: %v", err)
	}
}
