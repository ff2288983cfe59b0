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
	eni, att := createAndAttach(t, api, inst)
	ips, err := api.AssignIPs(ctx, eni.ID, 3)
	if err != nil || len(ips) != 3 {
		t.Fatalf("AssignIPs = %v, %v; want 3", ips, err)
	}
	mac := checkAttached(t, api, inst, eni, att, ips)
	checkENIMetadata(t, md, inst, eni, mac, ips)

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

// createAndAttach creates a tagged ENI with two secondaries, attaches it
// at device 1, marks it delete-on-termination and tags it once more.
func createAndAttach(t *testing.T, api *cloudaws.EC2, inst cloud.Instance) (cloud.ENI, string) {
	t.Helper()
	ctx := context.Background()
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
	return eni, att
}

// checkAttached checks what the EC2 API says about the instance's ENIs
// and returns the attached ENI's MAC.
func checkAttached(t *testing.T, api *cloudaws.EC2, inst cloud.Instance, eni cloud.ENI, att string, ips []netip.Addr) string {
	t.Helper()
	enis, err := api.InstanceENIs(context.Background(), inst.ID)
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
	return got.MAC
}

// checkENIMetadata checks that metadata shows the attached ENI (the world
// has no lag), by MAC and in the list.
func checkENIMetadata(t *testing.T, md *cloudaws.IMDS, inst cloud.Instance, eni cloud.ENI, mac string, ips []netip.Addr) {
	t.Helper()
	ctx := context.Background()
	em, err := md.ENI(ctx, mac)
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
