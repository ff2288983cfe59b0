package aws_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vpc-cni/vpc-cni/cloud"
	cloudaws "github.com/vpc-cni/vpc-cni/cloud/aws"
	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/cloud/sim/simtest"
)

// The typed errors of cloud.ENIAPI, each provoked in ec2sim the way EC2
// would answer it, through the real SDK.

func TestIntegrationThrottled(t *testing.T) {
	t.Parallel()
	srv := simtest.Start(t, nil)
	api, md, reg := simClients(t, srv, func(o *cloudaws.Options) { o.MaxAttempts = 2 })
	ctx := context.Background()
	inst, err := md.Instance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv.Knobs().SetThrottle(sim.ThrottleConfig{
		Enabled:     true,
		Mutating:    sim.Bucket{Size: 100, RefillPerSecond: 100},
		NonMutating: sim.Bucket{Size: 100, RefillPerSecond: 100},
		PerAction:   map[string]sim.Bucket{"DescribeNetworkInterfaces": {Size: 1, RefillPerSecond: 0.0001}},
	})
	if _, err := api.InstanceENIs(ctx, inst.ID); err != nil {
		t.Fatalf("first call (the bucket's one token): %v", err)
	}
	_, err = api.InstanceENIs(ctx, inst.ID)
	mustKind(t, "second call", err, cloud.ErrThrottled)
	st := srv.Knobs().Stats()
	if st.Throttled["DescribeNetworkInterfaces"] != 2 {
		t.Errorf("sim throttled %d requests, want 2 (both attempts)", st.Throttled["DescribeNetworkInterfaces"])
	}
	labels := prometheus.Labels{"action": "DescribeNetworkInterfaces", "code": "RequestLimitExceeded"}
	if v := counterOf(t, reg, "vpc_cni_ec2_api_attempts_total", labels); v != 2 {
		t.Errorf("attempts_total%v = %v, want 2", labels, v)
	}
	// Other actions have their own buckets.
	if _, err := api.InstanceType(ctx, "m5.large"); err != nil {
		t.Errorf("another action while one is throttled: %v", err)
	}
}

func TestIntegrationFaultRetried(t *testing.T) {
	t.Parallel()
	srv := simtest.Start(t, nil)
	api, md, _ := simClients(t, srv, nil)
	ctx := context.Background()
	inst, err := md.Instance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	srv.Knobs().AddFault(sim.Fault{Action: "AssignPrivateIpAddresses", Code: "InternalError", Status: 500, Probability: 1, Count: 1})
	srv.Knobs().AddFault(sim.Fault{Action: "AssignPrivateIpAddresses", Code: "RequestLimitExceeded", Probability: 1, Count: 1})
	ips, err := api.AssignIPs(ctx, inst.PrimaryENI, 1)
	if err != nil || len(ips) != 1 {
		t.Fatalf("AssignIPs through two faults = %v, %v", ips, err)
	}
	if n := srv.Knobs().Stats().Calls["AssignPrivateIpAddresses"]; n != 3 {
		t.Errorf("sim saw %d calls, want 3", n)
	}
}

func TestIntegrationSubnetExhausted(t *testing.T) {
	t.Parallel()
	// A /28 has 16 addresses, 5 reserved: 11 usable, 1 taken by the node.
	srv, inst := world(t, "198.18.7.0/28", "m5.large", "")
	api, _, _ := simClients(t, srv, nil)
	ctx := context.Background()
	if _, err := api.CreateENI(ctx, cloud.CreateENIRequest{SubnetID: inst.SubnetID, SecondaryIPs: 4}); err != nil {
		t.Fatal(err) // 5 more: 5 left
	}
	_, err := api.CreateENI(ctx, cloud.CreateENIRequest{SubnetID: inst.SubnetID, SecondaryIPs: 5})
	mustKind(t, "create beyond the subnet", err, cloud.ErrSubnetExhausted)
	ips, err := api.AssignIPs(ctx, inst.PrimaryENIID, 5)
	if err != nil || len(ips) != 5 {
		t.Fatalf("AssignIPs of the last 5 = %v, %v", ips, err)
	}
	_, err = api.AssignIPs(ctx, inst.PrimaryENIID, 1)
	mustKind(t, "assign in a full subnet", err, cloud.ErrSubnetExhausted)
}

func TestIntegrationENILimit(t *testing.T) {
	t.Parallel()
	srv, inst := world(t, "198.18.0.0/24", "t3.medium", "") // 3 ENIs
	api, _, _ := simClients(t, srv, nil)
	ctx := context.Background()
	for dev := 1; dev <= 3; dev++ {
		eni, err := api.CreateENI(ctx, cloud.CreateENIRequest{SubnetID: inst.SubnetID})
		if err != nil {
			t.Fatal(err)
		}
		_, err = api.AttachENI(ctx, eni.ID, inst.ID, dev, 0)
		if dev < 3 && err != nil {
			t.Fatalf("attach at device %d: %v", dev, err)
		}
		if dev == 3 {
			mustKind(t, "attach a fourth ENI", err, cloud.ErrENILimit)
		}
	}
}

func TestIntegrationAddressLimit(t *testing.T) {
	t.Parallel()
	srv, inst := world(t, "198.18.0.0/24", "m5.large", "") // 10 addresses per ENI
	api, _, _ := simClients(t, srv, nil)
	ctx := context.Background()
	if _, err := api.AssignIPs(ctx, inst.PrimaryENIID, 9); err != nil {
		t.Fatal(err)
	}
	_, err := api.AssignIPs(ctx, inst.PrimaryENIID, 1)
	mustKind(t, "an 11th address", err, cloud.ErrAddressLimit)
	_, err = api.AssignPrefixes(ctx, inst.PrimaryENIID, 1)
	mustKind(t, "a prefix on a full ENI", err, cloud.ErrAddressLimit)
}

func TestIntegrationNotFound(t *testing.T) {
	t.Parallel()
	srv := simtest.Start(t, nil)
	api, md, _ := simClients(t, srv, nil)
	ctx := context.Background()
	const eni, att = "eni-0123456789abcdef0", "eni-attach-0123456789abcdef0"
	_, err := api.AssignIPs(ctx, eni, 1)
	mustKind(t, "assign to unknown eni", err, cloud.ErrNotFound)
	mustKind(t, "detach unknown attachment", api.DetachENI(ctx, att, false), cloud.ErrNotFound)
	mustKind(t, "tag unknown eni", api.TagENI(ctx, eni, map[string]string{"k": "v"}), cloud.ErrNotFound)
	_, err = api.Subnets(ctx, "subnet-0123456789abcdef0")
	mustKind(t, "unknown subnet", err, cloud.ErrNotFound)
	_, err = api.ENIs(ctx, cloud.ENIFilter{IDs: []string{eni}})
	mustKind(t, "describe unknown eni", err, cloud.ErrNotFound)
	_, err = api.InstanceType(ctx, "x9.nonexistent")
	mustKind(t, "unknown instance type", err, cloud.ErrNotFound)
	if !strings.Contains(err.Error(), "x9.nonexistent") {
		t.Errorf("unknown instance type: error %q does not name the type", err)
	}
	if _, err := md.ENI(ctx, "02:00:00:00:00:99"); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("metadata of unknown mac: err = %v, want ErrNotFound", err)
	}
	if enis, err := api.ENIs(ctx, cloud.ENIFilter{Tags: map[string]string{"no": "such"}}); err != nil || len(enis) != 0 {
		t.Errorf("filter matching nothing = %v, %v; want none, no error", enis, err)
	}
}

func TestIntegrationPrefixFragmented(t *testing.T) {
	t.Parallel()
	// A /26 holds four /28 blocks. The first and the last hold reserved
	// addresses (.0-.3 and .63); a secondary in each of the two middle
	// ones leaves free addresses but no free aligned /28.
	srv, inst := world(t, "198.18.9.0/26", "m5.large", "198.18.9.10")
	api, _, _ := simClients(t, srv, nil)
	ctx := context.Background()
	_, err := srv.World().AssignPrivateIpAddresses(sim.AssignInput{
		ENIID: inst.PrimaryENIID,
		IPs:   []netip.Addr{netip.MustParseAddr("198.18.9.20"), netip.MustParseAddr("198.18.9.40")},
	})
	if err != nil {
		t.Fatal(err)
	}
	subnets, err := api.Subnets(ctx, inst.SubnetID)
	if err != nil || len(subnets) != 1 || subnets[0].AvailableIPs < 16 {
		t.Fatalf("subnet = %+v, %v; want plenty of free addresses", subnets, err)
	}
	_, err = api.AssignPrefixes(ctx, inst.PrimaryENIID, 1)
	mustKind(t, "prefix in a fragmented subnet", err, cloud.ErrPrefixFragmented)
	if errors.Is(err, cloud.ErrSubnetExhausted) {
		t.Errorf("fragmentation is not exhaustion: %v", err)
	}
}

func TestIntegrationDetachPrimary(t *testing.T) {
	t.Parallel()
	srv := simtest.Start(t, nil)
	api, md, _ := simClients(t, srv, nil)
	ctx := context.Background()
	inst, err := md.Instance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	enis, err := api.InstanceENIs(ctx, inst.ID)
	if err != nil || len(enis) != 1 || enis[0].ID != inst.PrimaryENI || enis[0].Attachment == nil {
		t.Fatalf("InstanceENIs = %+v, %v; want the primary ENI, attached", enis, err)
	}
	for _, force := range []bool{false, true} {
		err := api.DetachENI(ctx, enis[0].Attachment.ID, force)
		mustKind(t, "detach the primary eni", err, cloud.ErrInvalidParameter)
		var ae *cloud.APIError
		if errors.As(err, &ae) && ae.Code != "OperationNotPermitted" {
			t.Errorf("detach the primary eni (force %v): code = %q, want OperationNotPermitted", force, ae.Code)
		}
	}
	after, err := api.InstanceENIs(ctx, inst.ID)
	if err != nil || len(after) != 1 || after[0].Attachment == nil || after[0].Attachment.State != cloud.Attached {
		t.Errorf("primary ENI after refused detaches = %+v, %v; want it still attached", after, err)
	}
}
