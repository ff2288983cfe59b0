package aws_test

import (
	"context"
	"errors"
	"net/netip"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/vpc-cni/vpc-cni/cloud"
	cloudaws "github.com/vpc-cni/vpc-cni/cloud/aws"
	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/cloud/sim/simtest"
)

// simClients builds both clients against an ec2sim server, with static
// credentials, fast backoff and a limiter that never gets in the way.
func simClients(t *testing.T, srv *sim.Server, tweak func(*cloudaws.Options)) (*cloudaws.EC2, *cloudaws.IMDS, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o := cloudaws.Options{
		Region:       srv.World().Region(),
		EC2Endpoint:  srv.EC2URL(),
		IMDSEndpoint: srv.IMDSURL(),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDSIM", "secret", ""),
		QPS:          100000,
		Burst:        100000,
		BaseBackoff:  time.Millisecond,
		MaxBackoff:   10 * time.Millisecond,
		Registerer:   reg,
	}
	if tweak != nil {
		tweak(&o)
	}
	api, md, err := cloudaws.New(context.Background(), o)
	if err != nil {
		t.Fatalf("clients: %v", err)
	}
	return api, md, reg
}

// world builds a custom world: one VPC, one subnet of the given CIDR and
// one instance of the given type, launched first so IMDS answers for it.
func world(t *testing.T, subnetCIDR, instanceType string, primaryIP string) (*sim.Server, sim.Instance) {
	t.Helper()
	cfg := simtest.Config()
	cfg.VPCs = []sim.VPCConfig{{CIDR: "198.18.0.0/16", Subnets: []sim.SubnetConfig{{Name: "s", CIDR: subnetCIDR}}}}
	cfg.Instances = []sim.InstanceConfig{{Type: instanceType, Subnet: "s", PrimaryIP: primaryIP}}
	srv := simtest.Start(t, &cfg)
	inst, ok := srv.World().DefaultInstance()
	if !ok {
		t.Fatal("world has no instance")
	}
	return srv, inst
}

func mustKind(t *testing.T, what string, err, kind error) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("%s: err = %v, want %v", what, err, kind)
	}
	var ae *cloud.APIError
	if !errors.As(err, &ae) || ae.RequestID == "" {
		t.Errorf("%s: err = %v, want a *cloud.APIError with a request id", what, err)
	}
}

func TestIntegrationMetadataInstance(t *testing.T) {
	t.Parallel()
	srv := simtest.Start(t, nil)
	api, md, _ := simClients(t, srv, nil)
	ctx := context.Background()
	truth, _ := srv.World().DefaultInstance()

	inst, err := md.Instance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if inst.ID != truth.ID || inst.Type != "m5.large" || inst.PrimaryENI != truth.PrimaryENIID ||
		inst.PrimaryIP != truth.PrimaryIP || inst.SubnetID != truth.SubnetID || inst.VPCID != truth.VPCID ||
		inst.Region != "us-west-2" || inst.AZ != truth.AZ {
		t.Errorf("Instance = %+v, truth %+v", inst, truth)
	}
	if inst.SubnetCIDR != netip.MustParsePrefix("198.18.0.0/20") ||
		!slices.Equal(inst.VPCCIDRs, []netip.Prefix{netip.MustParsePrefix("198.18.0.0/16")}) ||
		len(inst.SecurityGroups) == 0 {
		t.Errorf("Instance network = %+v", inst)
	}

	limits, err := api.InstanceType(ctx, inst.Type)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := cloud.BuiltinInstanceType("m5.large"); !reflect.DeepEqual(limits, want) {
		t.Errorf("InstanceType = %+v, want %+v", limits, want)
	}
	subnets, err := api.Subnets(ctx, inst.SubnetID)
	if err != nil {
		t.Fatal(err)
	}
	if len(subnets) != 1 || subnets[0].ID != inst.SubnetID || subnets[0].CIDR != inst.SubnetCIDR ||
		subnets[0].VPCID != inst.VPCID || subnets[0].AvailableIPs != 4096-5-1 {
		t.Errorf("Subnets = %+v", subnets)
	}
}

func TestIntegrationENILifecycle(t *testing.T) {
	t.Parallel()
	srv := simtest.Start(t, nil)
	api, md, reg := simClients(t, srv, nil)
	ctx := context.Background()
	inst, err := md.Instance(ctx)
	if err != nil {
		t.Fatal(err)
	}

	eni, err := api.CreateENI(ctx, cloud.CreateENIRequest{
		SubnetID: inst.SubnetID, Description: "vpc-cni test", SecurityGroups: inst.SecurityGroups,
		SecondaryIPs: 2, Tags: map[string]string{"cluster": "c1", "node": inst.ID},
	})
	if err != nil {
		t.Fatal(err)
	}
	if eni.Status != cloud.ENIAvailable || len(eni.SecondaryIPs) != 2 || !eni.PrimaryIP.IsValid() ||
		eni.Tags["cluster"] != "c1" || eni.Description != "vpc-cni test" || eni.Attachment != nil ||
		!slices.Equal(eni.SecurityGroups, inst.SecurityGroups) {
		t.Errorf("CreateENI = %+v", eni)
	}

	att, err := api.AttachENI(ctx, eni.ID, inst.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := api.SetDeleteOnTermination(ctx, eni.ID, att, true); err != nil {
		t.Fatal(err)
	}
	if err := api.TagENI(ctx, eni.ID, map[string]string{"stage": "warm"}); err != nil {
		t.Fatal(err)
	}

	ips, err := api.AssignIPs(ctx, eni.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(ips) != 3 {
		t.Fatalf("AssignIPs = %v, want 3", ips)
	}

	enis, err := api.InstanceENIs(ctx, inst.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(enis) != 2 || enis[0].ID != inst.PrimaryENI || enis[1].ID != eni.ID {
		t.Fatalf("InstanceENIs = %+v", enis)
	}
	got := enis[1]
	if got.Attachment == nil || got.Attachment.ID != att || got.Attachment.DeviceIndex != 1 ||
		!got.Attachment.DeleteOnTermination || got.Attachment.State != cloud.Attached || got.Status != cloud.ENIInUse {
		t.Errorf("attached ENI = %+v, attachment %+v", got, got.Attachment)
	}
	if want := append(slices.Clone(eni.SecondaryIPs), ips...); !sameAddrs(got.SecondaryIPs, want) {
		t.Errorf("secondaries = %v, want %v", got.SecondaryIPs, want)
	}
	if got.Tags["stage"] != "warm" || got.Tags["node"] != inst.ID {
		t.Errorf("tags = %v", got.Tags)
	}

	// Metadata sees it (no lag in this world), by MAC and in the list.
	em, err := md.ENI(ctx, got.MAC)
	if err != nil {
		t.Fatal(err)
	}
	if em.ID != eni.ID || em.DeviceIndex != 1 || em.PrimaryIP() != eni.PrimaryIP || !em.HasIPs(ips) ||
		em.SubnetID != inst.SubnetID || em.SubnetCIDR != inst.SubnetCIDR || em.VPCID != inst.VPCID {
		t.Errorf("ENI metadata = %+v", em)
	}
	all, err := md.ENIs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != inst.PrimaryENI || all[1].ID != eni.ID {
		t.Errorf("ENIs metadata = %+v", all)
	}

	if err := api.UnassignIPs(ctx, eni.ID, ips[:2]); err != nil {
		t.Fatal(err)
	}
	byTag, err := api.ENIs(ctx, cloud.ENIFilter{Tags: map[string]string{"stage": "warm"}, TagKeys: []string{"cluster"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(byTag) != 1 || byTag[0].ID != eni.ID || slices.Contains(byTag[0].SecondaryIPs, ips[0]) ||
		!slices.Contains(byTag[0].SecondaryIPs, ips[2]) {
		t.Errorf("ENIs by tag after unassign = %+v", byTag)
	}

	mustKind(t, "delete attached", api.DeleteENI(ctx, eni.ID), cloud.ErrInUse)
	if err := api.DetachENI(ctx, att, false); err != nil {
		t.Fatal(err)
	}
	if err := api.DeleteENI(ctx, eni.ID); err != nil {
		t.Fatal(err)
	}
	mustKind(t, "delete twice", api.DeleteENI(ctx, eni.ID), cloud.ErrNotFound)

	for _, l := range []prometheus.Labels{
		{"action": "CreateNetworkInterface", "code": "OK"},
		{"action": "DeleteNetworkInterface", "code": "InvalidNetworkInterface.InUse"},
		{"action": "DeleteNetworkInterface", "code": "InvalidNetworkInterfaceID.NotFound"},
	} {
		if v := counterOf(t, reg, "vpc_cni_ec2_api_requests_total", l); v != 1 {
			t.Errorf("requests_total%v = %v, want 1", l, v)
		}
	}
}

func TestIntegrationPrefixes(t *testing.T) {
	t.Parallel()
	srv := simtest.Start(t, nil)
	api, md, _ := simClients(t, srv, nil)
	ctx := context.Background()
	inst, err := md.Instance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	eni, err := api.CreateENI(ctx, cloud.CreateENIRequest{SubnetID: inst.SubnetID, Prefixes: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(eni.Prefixes) != 1 || eni.Prefixes[0].Bits() != 28 || len(eni.SecondaryIPs) != 0 {
		t.Fatalf("CreateENI with a prefix = %+v", eni)
	}
	att, err := api.AttachENI(ctx, eni.ID, inst.ID, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	pfx, err := api.AssignPrefixes(ctx, eni.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(pfx) != 2 || pfx[0].Bits() != 28 || pfx[1].Bits() != 28 {
		t.Fatalf("AssignPrefixes = %v", pfx)
	}
	em, err := md.ENI(ctx, eni.MAC)
	if err != nil {
		t.Fatal(err)
	}
	if !em.HasPrefixes(append(pfx, eni.Prefixes...)) {
		t.Errorf("metadata prefixes = %v, want %v and %v", em.Prefixes, pfx, eni.Prefixes)
	}
	if err := api.UnassignPrefixes(ctx, eni.ID, pfx[:1]); err != nil {
		t.Fatal(err)
	}
	got, err := api.ENIs(ctx, cloud.ENIFilter{IDs: []string{eni.ID}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || !sameAddrsP(got[0].Prefixes, []netip.Prefix{eni.Prefixes[0], pfx[1]}) {
		t.Errorf("prefixes after unassign = %+v", got)
	}
	if err := api.DetachENI(ctx, att, true); err != nil {
		t.Fatal(err)
	}
}

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

func TestIntegrationPagination(t *testing.T) {
	t.Parallel()
	srv := simtest.Start(t, nil)
	api, md, _ := simClients(t, srv, func(o *cloudaws.Options) { o.PageSize = 5 })
	ctx := context.Background()
	inst, err := md.Instance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{inst.PrimaryENI}
	for range 12 {
		e, err := api.CreateENI(ctx, cloud.CreateENIRequest{SubnetID: inst.SubnetID})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, e.ID)
	}
	srv.Knobs().ResetStats()
	enis, err := api.ENIs(ctx, cloud.ENIFilter{SubnetID: inst.SubnetID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range enis {
		got = append(got, e.ID)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("ENIs over pages = %v, want %v", got, want)
	}
	if n := srv.Knobs().Stats().Calls["DescribeNetworkInterfaces"]; n < 3 {
		t.Errorf("13 ENIs in pages of 5 took %d calls, want at least 3", n)
	}
}

// fakeClock is the sim's clock, moved by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func TestIntegrationIMDSLag(t *testing.T) {
	t.Parallel()
	clk := &fakeClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	cfg := simtest.Config()
	cfg.Clock = clk.Now
	cfg.Delays.IMDSLag = sim.Duration(5 * time.Second)
	srv := simtest.Start(t, &cfg)
	api, md, _ := simClients(t, srv, nil)
	ctx := context.Background()
	clk.Advance(time.Minute) // the launch is long visible
	inst, err := md.Instance(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ips, err := api.AssignIPs(ctx, inst.PrimaryENI, 2)
	if err != nil {
		t.Fatal(err)
	}
	em, err := md.ENI(ctx, inst.PrimaryMAC)
	if err != nil {
		t.Fatal(err)
	}
	if em.HasIPs(ips) {
		t.Errorf("metadata shows %v at once; want it only after the lag", ips)
	}
	clk.Advance(4 * time.Second)
	if em, _ = md.ENI(ctx, inst.PrimaryMAC); em.HasIPs(ips) {
		t.Errorf("metadata shows %v before the lag is over", ips)
	}
	clk.Advance(2 * time.Second)
	em, err = md.ENI(ctx, inst.PrimaryMAC)
	if err != nil || !em.HasIPs(ips) {
		t.Errorf("after the lag: metadata = %+v, %v; want %v shown", em, err, ips)
	}
}

// TestIntegrationStandardConfig runs the clients as ipamd does on a node:
// endpoints from the SDK's standard variables, the region and the
// credentials (the instance role) from IMDS.
func TestIntegrationStandardConfig(t *testing.T) {
	srv := simtest.Start(t, nil)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_EC2":                   srv.EC2URL(),
		"AWS_EC2_METADATA_SERVICE_ENDPOINT":      srv.IMDSURL(),
		"AWS_REGION":                             "",
		"AWS_DEFAULT_REGION":                     "",
		"AWS_ACCESS_KEY_ID":                      "",
		"AWS_SECRET_ACCESS_KEY":                  "",
		"AWS_SESSION_TOKEN":                      "",
		"AWS_PROFILE":                            "",
		"AWS_CONFIG_FILE":                        dir + "/config",
		"AWS_SHARED_CREDENTIALS_FILE":            dir + "/credentials",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI":     "",
		"AWS_WEB_IDENTITY_TOKEN_FILE":            "",
	} {
		t.Setenv(k, v)
	}
	api, md, err := cloudaws.New(context.Background(), cloudaws.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := md.Instance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	enis, err := api.InstanceENIs(context.Background(), inst.ID)
	if err != nil || len(enis) != 1 || enis[0].ID != inst.PrimaryENI {
		t.Errorf("InstanceENIs with default configuration = %+v, %v", enis, err)
	}
}

func counterOf(t *testing.T, reg *prometheus.Registry, name string, labels prometheus.Labels) float64 {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			if len(m.GetLabel()) != len(labels) {
				continue
			}
			for _, lp := range m.GetLabel() {
				if labels[lp.GetName()] != lp.GetValue() {
					continue metrics
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

func sameAddrs(a, b []netip.Addr) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, netip.Addr.Compare)
	slices.SortFunc(b, netip.Addr.Compare)
	return slices.Equal(a, b)
}

func sameAddrsP(a, b []netip.Prefix) bool {
	key := func(p, q netip.Prefix) int { return p.Addr().Compare(q.Addr()) }
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, key)
	slices.SortFunc(b, key)
	return slices.Equal(a, b)
}
