package simtest_test

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/ec2rolecreds"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"github.com/aws/smithy-go"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/cloud/sim/simtest"
)

// ec2Client is an unmodified aws-sdk-go-v2 EC2 client pointed at the
// emulator, with no retries so that errors surface as they are.
func ec2Client(srv *sim.Server) *ec2.Client {
	return ec2.NewFromConfig(aws.Config{
		Region:      "us-west-2",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	}, func(o *ec2.Options) {
		o.BaseEndpoint = aws.String(srv.EC2URL())
		o.RetryMaxAttempts = 1
	})
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != code {
		t.Fatalf("got %v, want API error %s", err, code)
	}
}

func TestSDKDrivesENILifecycle(t *testing.T) {
	srv := simtest.Start(t, nil)
	c := ec2Client(srv)
	ctx := context.Background()

	it, err := c.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{InstanceTypes: []types.InstanceType{"m5.large"}})
	if err != nil || len(it.InstanceTypes) != 1 || *it.InstanceTypes[0].NetworkInfo.MaximumNetworkInterfaces != 3 ||
		*it.InstanceTypes[0].NetworkInfo.Ipv4AddressesPerInterface != 10 || it.InstanceTypes[0].Hypervisor != "nitro" {
		t.Fatalf("DescribeInstanceTypes: %v %+v", err, it)
	}
	di, err := c.DescribeInstances(ctx, &ec2.DescribeInstancesInput{})
	if err != nil || len(di.Reservations) != 1 {
		t.Fatalf("DescribeInstances: %v", err)
	}
	inst := di.Reservations[0].Instances[0]

	cr, err := c.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{
		SubnetId: inst.SubnetId, SecondaryPrivateIpAddressCount: aws.Int32(2), Description: aws.String("sdk"),
		TagSpecifications: []types.TagSpecification{{ResourceType: types.ResourceTypeNetworkInterface,
			Tags: []types.Tag{{Key: aws.String("owner"), Value: aws.String("sdk")}}}},
	})
	if err != nil || len(cr.NetworkInterface.PrivateIpAddresses) != 3 || len(cr.NetworkInterface.TagSet) != 1 {
		t.Fatalf("CreateNetworkInterface: %v %+v", err, cr)
	}
	eni := cr.NetworkInterface.NetworkInterfaceId
	at, err := c.AttachNetworkInterface(ctx, &ec2.AttachNetworkInterfaceInput{
		NetworkInterfaceId: eni, InstanceId: inst.InstanceId, DeviceIndex: aws.Int32(1)})
	if err != nil || !strings.HasPrefix(*at.AttachmentId, "eni-attach-") {
		t.Fatalf("AttachNetworkInterface: %v", err)
	}
	as, err := c.AssignPrivateIpAddresses(ctx, &ec2.AssignPrivateIpAddressesInput{NetworkInterfaceId: eni, Ipv4PrefixCount: aws.Int32(1)})
	if err != nil || len(as.AssignedIpv4Prefixes) != 1 {
		t.Fatalf("AssignPrivateIpAddresses: %v %+v", err, as)
	}
	_, err = c.DeleteNetworkInterface(ctx, &ec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: eni})
	wantCode(t, err, "InvalidNetworkInterface.InUse")
	_, err = c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{DryRun: aws.Bool(true)})
	wantCode(t, err, "DryRunOperation")

	d, err := c.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{Filters: []types.Filter{
		{Name: aws.String("attachment.instance-id"), Values: []string{*inst.InstanceId}},
		{Name: aws.String("tag:owner"), Values: []string{"sdk"}}}})
	if err != nil || len(d.NetworkInterfaces) != 1 || len(d.NetworkInterfaces[0].Ipv4Prefixes) != 1 ||
		*d.NetworkInterfaces[0].Attachment.DeviceIndex != 1 {
		t.Fatalf("DescribeNetworkInterfaces: %v %+v", err, d)
	}

	if _, err := c.UnassignPrivateIpAddresses(ctx, &ec2.UnassignPrivateIpAddressesInput{NetworkInterfaceId: eni,
		Ipv4Prefixes: []string{*as.AssignedIpv4Prefixes[0].Ipv4Prefix}}); err != nil {
		t.Fatalf("UnassignPrivateIpAddresses: %v", err)
	}
	if _, err := c.DetachNetworkInterface(ctx, &ec2.DetachNetworkInterfaceInput{AttachmentId: at.AttachmentId}); err != nil {
		t.Fatalf("DetachNetworkInterface: %v", err)
	}
	if _, err := c.DeleteNetworkInterface(ctx, &ec2.DeleteNetworkInterfaceInput{NetworkInterfaceId: eni}); err != nil {
		t.Fatalf("DeleteNetworkInterface: %v", err)
	}
}

func TestSDKPaginates(t *testing.T) {
	srv := simtest.Start(t, nil)
	c := ec2Client(srv)
	ctx := context.Background()
	inst, _ := srv.World().DefaultInstance()
	for range 7 {
		if _, err := c.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: &inst.SubnetID}); err != nil {
			t.Fatal(err)
		}
	}
	p := ec2.NewDescribeNetworkInterfacesPaginator(c, &ec2.DescribeNetworkInterfacesInput{MaxResults: aws.Int32(5)})
	n, pages := 0, 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		n += len(out.NetworkInterfaces)
		pages++
	}
	if n != 8 || pages != 2 {
		t.Fatalf("paginated %d ENIs in %d pages, want 8 in 2", n, pages)
	}
}

func TestSDKReadsIMDS(t *testing.T) {
	srv := simtest.Start(t, nil)
	ctx := context.Background()
	client := imds.New(imds.Options{Endpoint: srv.IMDSURL()})
	inst, _ := srv.World().DefaultInstance()

	region, err := client.GetRegion(ctx, nil)
	if err != nil || region.Region != "us-west-2" {
		t.Fatalf("GetRegion: %v %+v", err, region)
	}
	doc, err := client.GetInstanceIdentityDocument(ctx, nil)
	if err != nil || doc.InstanceID != inst.ID || doc.PrivateIP != "198.18.0.10" {
		t.Fatalf("GetInstanceIdentityDocument: %v %+v", err, doc)
	}
	creds, err := ec2rolecreds.New(func(o *ec2rolecreds.Options) { o.Client = client }).Retrieve(ctx)
	if err != nil || creds.AccessKeyID == "" || !creds.CanExpire || !creds.Expires.After(time.Now()) {
		t.Fatalf("ec2rolecreds: %v %+v", err, creds)
	}
}

// TestSDKDefaultChainUsesIMDS checks the lab's case: no credentials or
// region configured, so the SDK's default chain gets both from IMDS.
func TestSDKDefaultChainUsesIMDS(t *testing.T) {
	srv := simtest.Start(t, nil)
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SESSION_TOKEN": "", "AWS_PROFILE": "",
		"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_EC2_METADATA_DISABLED": "",
		"AWS_CONFIG_FILE":                        filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(dir, "credentials"),
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "",
		"AWS_WEB_IDENTITY_TOKEN_FILE": "", "AWS_EC2_METADATA_SERVICE_ENDPOINT": srv.IMDSURL(),
	} {
		t.Setenv(k, v)
	}
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx, config.WithEC2IMDSRegion())
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	if cfg.Region != "us-west-2" {
		t.Fatalf("region %q, want us-west-2 from IMDS", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	if err != nil || creds.AccessKeyID == "" {
		t.Fatalf("credentials: %v %+v", err, creds)
	}
	c := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = aws.String(srv.EC2URL()) })
	if _, err := c.DescribeVpcs(ctx, &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatalf("DescribeVpcs with IMDS credentials: %v", err)
	}
}

func TestStartNilConfigIsFastAndCloses(t *testing.T) {
	var url string
	t.Run("inner", func(t *testing.T) {
		srv := simtest.Start(t, nil)
		url = srv.EC2URL()
		if th := srv.Knobs().Throttle(); th.Enabled {
			t.Fatalf("throttling on in the test world: %+v", th)
		}
	})
	if _, err := http.Get(url + "/sim/healthz"); err == nil {
		t.Fatal("server still up after the test ended")
	}
}

// TestSDKRetriesAfterADroppedAnswer drops the connection after the action
// has succeeded, once, and lets the SDK retry as it does by default:
// CreateNetworkInterface is idempotent through the ClientToken the SDK
// fills in (one ENI), AssignPrivateIpAddresses by count is not (the
// addresses of the lost answer leak).
func TestSDKRetriesAfterADroppedAnswer(t *testing.T) {
	srv := simtest.Start(t, nil)
	c := ec2.NewFromConfig(aws.Config{
		Region:      "us-west-2",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	}, func(o *ec2.Options) {
		o.BaseEndpoint = aws.String(srv.EC2URL())
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) { so.Backoff = noBackoff{} })
	})
	ctx := context.Background()
	inst, _ := srv.World().DefaultInstance()

	srv.Knobs().AddFault(sim.Fault{Action: "CreateNetworkInterface", Drop: true, After: true, Probability: 1, Count: 1})
	cr, err := c.CreateNetworkInterface(ctx, &ec2.CreateNetworkInterfaceInput{SubnetId: &inst.SubnetID})
	if err != nil {
		t.Fatalf("CreateNetworkInterface: %v", err)
	}
	st := srv.World().Snapshot()
	if len(st.ENIs) != 2 || (st.ENIs[0].ID != *cr.NetworkInterface.NetworkInterfaceId && st.ENIs[1].ID != *cr.NetworkInterface.NetworkInterfaceId) {
		t.Fatalf("created %s; the world has %d ENIs, want it and the primary", *cr.NetworkInterface.NetworkInterfaceId, len(st.ENIs))
	}

	srv.Knobs().AddFault(sim.Fault{Action: "AssignPrivateIpAddresses", Drop: true, After: true, Probability: 1, Count: 1})
	as, err := c.AssignPrivateIpAddresses(ctx, &ec2.AssignPrivateIpAddressesInput{
		NetworkInterfaceId: &inst.PrimaryENIID, SecondaryPrivateIpAddressCount: aws.Int32(2)})
	if err != nil || len(as.AssignedPrivateIpAddresses) != 2 {
		t.Fatalf("AssignPrivateIpAddresses: %v %+v", err, as)
	}
	for _, e := range srv.World().Snapshot().ENIs {
		if e.ID == inst.PrimaryENIID && len(e.SecondaryIPs) != 4 {
			t.Fatalf("the primary ENI has %d secondary addresses, want 4: 2 answered, 2 leaked", len(e.SecondaryIPs))
		}
	}
	if st := srv.Knobs().Stats(); st.Errors["CreateNetworkInterface"][sim.StatDropped] != 1 || st.Calls["CreateNetworkInterface"] != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// noBackoff retries at once: the SDK's standard retryer, without its waits.
type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }
