// Package awscli_test checks ec2sim's wire format with an independent EC2
// client, the AWS CLI: if the CLI can drive the emulator through the whole
// ENI lifecycle and reads back what it was told, our Query protocol and XML
// are EC2's, not merely what our own SDK-based client happens to accept.
package awscli_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// cli runs the AWS CLI against one ec2sim endpoint with an isolated
// environment: dummy credentials, no shared config, no pager.
type cli struct {
	t        *testing.T
	bin      string
	endpoint string
	home     string
}

func newCLI(t *testing.T, endpoint string) *cli {
	return &cli{t: t, bin: awsCLI(t), endpoint: endpoint, home: t.TempDir()}
}

func (c *cli) cmd(args ...string) *exec.Cmd {
	full := append([]string{"ec2"}, args...)
	full = append(full, "--endpoint-url", c.endpoint, "--region", "us-west-2", "--output", "json")
	cmd := exec.Command(c.bin, full...)
	cmd.Env = []string{
		"HOME=" + c.home,
		"PATH=/usr/bin:/bin",
		"AWS_ACCESS_KEY_ID=AKIDEXAMPLE",
		"AWS_SECRET_ACCESS_KEY=secret",
		"AWS_CONFIG_FILE=" + c.home + "/config",
		"AWS_SHARED_CREDENTIALS_FILE=" + c.home + "/credentials",
		"AWS_PAGER=",
		"AWS_EC2_METADATA_DISABLED=true",
	}
	return cmd
}

// run runs an ec2 subcommand that must succeed and decodes its JSON output
// into out (when out is not nil).
func (c *cli) run(out any, args ...string) {
	c.t.Helper()
	cmd := c.cmd(args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	if err != nil {
		c.t.Fatalf("aws ec2 %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	if out == nil {
		return
	}
	if err := json.Unmarshal(stdout, out); err != nil {
		c.t.Fatalf("aws ec2 %s: decode output: %v\n%s", strings.Join(args, " "), err, stdout)
	}
}

// fail runs an ec2 subcommand that must fail with the given EC2 error code.
func (c *cli) fail(code string, args ...string) {
	c.t.Helper()
	out, err := c.cmd(args...).CombinedOutput()
	if err == nil {
		c.t.Fatalf("aws ec2 %s succeeded, want error %s\n%s", strings.Join(args, " "), code, out)
	}
	if !strings.Contains(string(out), "("+code+")") {
		c.t.Fatalf("aws ec2 %s: want error code %s, got:\n%s", strings.Join(args, " "), code, out)
	}
}

type eniJSON struct {
	NetworkInterfaceID string `json:"NetworkInterfaceId"`
	Status             string
	SubnetID           string `json:"SubnetId"`
	MacAddress         string
	PrivateIPAddress   string `json:"PrivateIpAddress"`
	PrivateIPAddresses []struct {
		PrivateIPAddress string `json:"PrivateIpAddress"`
		Primary          bool
	} `json:"PrivateIpAddresses"`
	Ipv4Prefixes []struct{ Ipv4Prefix string }
	Attachment   *struct {
		AttachmentID string `json:"AttachmentId"`
		InstanceID   string `json:"InstanceId"`
		DeviceIndex  int
		Status       string
	}
	TagSet []struct{ Key, Value string }
}

func (e eniJSON) ips() []string {
	var ips []string
	for _, a := range e.PrivateIPAddresses {
		ips = append(ips, a.PrivateIPAddress)
	}
	slices.Sort(ips)
	return ips
}

func (e eniJSON) prefixes() []string {
	var ps []string
	for _, p := range e.Ipv4Prefixes {
		ps = append(ps, p.Ipv4Prefix)
	}
	slices.Sort(ps)
	return ps
}

// TestAWSCLIDrivesENILifecycle is the acceptance path: the ec2sim
// binary with only its two listen flags, driven by the AWS CLI through
// describe, create, attach, assign (addresses and prefixes), filtered
// describe, a refused delete, unassign, detach and delete.
func TestAWSCLIDrivesENILifecycle(t *testing.T) {
	sim := startEC2Sim(t)
	aws := newCLI(t, sim.EC2URL)

	var types struct {
		InstanceTypes []struct {
			InstanceType string
			Hypervisor   string
			NetworkInfo  struct {
				MaximumNetworkInterfaces  int
				Ipv4AddressesPerInterface int
			}
		}
	}
	aws.run(&types, "describe-instance-types", "--instance-types", "m5.large")
	if len(types.InstanceTypes) != 1 {
		t.Fatalf("describe-instance-types m5.large: got %d types", len(types.InstanceTypes))
	}
	m5 := types.InstanceTypes[0]
	if m5.InstanceType != "m5.large" || m5.NetworkInfo.MaximumNetworkInterfaces != 3 ||
		m5.NetworkInfo.Ipv4AddressesPerInterface != 10 || m5.Hypervisor != "nitro" {
		t.Fatalf("m5.large: got %+v, want 3 interfaces x 10 IPv4, nitro", m5)
	}
	aws.fail("InvalidInstanceType", "describe-instance-types", "--instance-types", "m5.nonesuch")

	var instances struct {
		Reservations []struct {
			Instances []struct {
				InstanceID       string `json:"InstanceId"`
				InstanceType     string
				SubnetID         string `json:"SubnetId"`
				PrivateIPAddress string `json:"PrivateIpAddress"`
			}
		}
	}
	aws.run(&instances, "describe-instances")
	if len(instances.Reservations) != 1 || len(instances.Reservations[0].Instances) != 1 {
		t.Fatalf("describe-instances: want the one default instance, got %+v", instances)
	}
	inst := instances.Reservations[0].Instances[0]
	if inst.InstanceType != "m5.large" || !strings.HasPrefix(inst.PrivateIPAddress, "198.18.") {
		t.Fatalf("default instance: got %+v, want an m5.large in 198.18.0.0/16", inst)
	}

	var subnets struct {
		Subnets []struct {
			SubnetID                string `json:"SubnetId"`
			CidrBlock               string
			AvailableIPAddressCount int `json:"AvailableIpAddressCount"`
		}
	}
	aws.run(&subnets, "describe-subnets", "--subnet-ids", inst.SubnetID)
	if len(subnets.Subnets) != 1 || subnets.Subnets[0].AvailableIPAddressCount < 200 {
		t.Fatalf("describe-subnets %s: want one subnet with room for hundreds, got %+v", inst.SubnetID, subnets)
	}

	var created struct{ NetworkInterface eniJSON }
	aws.run(&created, "create-network-interface", "--subnet-id", inst.SubnetID,
		"--secondary-private-ip-address-count", "3", "--description", "awscli test",
		"--tag-specifications", "ResourceType=network-interface,Tags=[{Key=owner,Value=awscli-test}]")
	eni := created.NetworkInterface
	if !strings.HasPrefix(eni.NetworkInterfaceID, "eni-") || len(eni.PrivateIPAddresses) != 4 || eni.Status != "available" {
		t.Fatalf("create-network-interface: want an available eni with 1+3 addresses, got %+v", eni)
	}

	var attached struct{ AttachmentId string }
	aws.run(&attached, "attach-network-interface", "--network-interface-id", eni.NetworkInterfaceID,
		"--instance-id", inst.InstanceID, "--device-index", "1")
	if !strings.HasPrefix(attached.AttachmentId, "eni-attach-") {
		t.Fatalf("attach-network-interface: got attachment id %q", attached.AttachmentId)
	}

	var assigned struct {
		NetworkInterfaceId         string
		AssignedPrivateIpAddresses []struct{ PrivateIpAddress string }
		AssignedIpv4Prefixes       []struct{ Ipv4Prefix string }
	}
	aws.run(&assigned, "assign-private-ip-addresses", "--network-interface-id", eni.NetworkInterfaceID,
		"--secondary-private-ip-address-count", "2")
	if len(assigned.AssignedPrivateIpAddresses) != 2 {
		t.Fatalf("assign 2 addresses: got %+v", assigned)
	}
	newIPs := []string{assigned.AssignedPrivateIpAddresses[0].PrivateIpAddress, assigned.AssignedPrivateIpAddresses[1].PrivateIpAddress}
	aws.run(&assigned, "assign-private-ip-addresses", "--network-interface-id", eni.NetworkInterfaceID,
		"--ipv4-prefix-count", "1")
	if len(assigned.AssignedIpv4Prefixes) != 1 || !strings.HasSuffix(assigned.AssignedIpv4Prefixes[0].Ipv4Prefix, "/28") {
		t.Fatalf("assign 1 prefix: got %+v", assigned)
	}
	prefix := assigned.AssignedIpv4Prefixes[0].Ipv4Prefix

	// The filtered describe agrees with what create, attach and assign said.
	var described struct{ NetworkInterfaces []eniJSON }
	aws.run(&described, "describe-network-interfaces", "--filters",
		"Name=attachment.instance-id,Values="+inst.InstanceID, "Name=tag:owner,Values=awscli-*")
	if len(described.NetworkInterfaces) != 1 {
		t.Fatalf("describe-network-interfaces by instance and tag: want our one ENI, got %d", len(described.NetworkInterfaces))
	}
	got := described.NetworkInterfaces[0]
	wantIPs := append(eni.ips(), newIPs...)
	slices.Sort(wantIPs)
	if got.NetworkInterfaceID != eni.NetworkInterfaceID || !slices.Equal(got.ips(), wantIPs) ||
		!slices.Equal(got.prefixes(), []string{prefix}) || got.Attachment == nil ||
		got.Attachment.AttachmentID != attached.AttachmentId || got.Attachment.DeviceIndex != 1 ||
		got.Attachment.InstanceID != inst.InstanceID {
		t.Fatalf("describe-network-interfaces disagrees:\n got %+v\nwant id %s, ips %v, prefix %s, attachment %s at 1",
			got, eni.NetworkInterfaceID, wantIPs, prefix, attached.AttachmentId)
	}
	aws.run(&described, "describe-network-interfaces", "--filters", "Name=tag-key,Values=no-such-key")
	if len(described.NetworkInterfaces) != 0 {
		t.Fatalf("describe-network-interfaces tag-key=no-such-key: want none, got %d", len(described.NetworkInterfaces))
	}

	aws.fail("InvalidNetworkInterface.InUse", "delete-network-interface", "--network-interface-id", eni.NetworkInterfaceID)

	aws.run(nil, "unassign-private-ip-addresses", "--network-interface-id", eni.NetworkInterfaceID,
		"--private-ip-addresses", newIPs[0], newIPs[1])
	aws.run(nil, "unassign-private-ip-addresses", "--network-interface-id", eni.NetworkInterfaceID,
		"--ipv4-prefixes", prefix)
	aws.run(&described, "describe-network-interfaces", "--network-interface-ids", eni.NetworkInterfaceID)
	if got := described.NetworkInterfaces[0]; !slices.Equal(got.ips(), eni.ips()) || len(got.prefixes()) != 0 {
		t.Fatalf("after unassign: want ips %v and no prefix, got %v %v", eni.ips(), got.ips(), got.prefixes())
	}

	aws.run(nil, "detach-network-interface", "--attachment-id", attached.AttachmentId)
	waitAvailable(t, aws, eni.NetworkInterfaceID)
	aws.run(nil, "delete-network-interface", "--network-interface-id", eni.NetworkInterfaceID)
	aws.fail("InvalidNetworkInterfaceID.NotFound", "describe-network-interfaces", "--network-interface-ids", eni.NetworkInterfaceID)
}

// waitAvailable polls until a detaching ENI settles as available.
func waitAvailable(t *testing.T, aws *cli, eniID string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var d struct{ NetworkInterfaces []eniJSON }
		aws.run(&d, "describe-network-interfaces", "--network-interface-ids", eniID)
		if len(d.NetworkInterfaces) == 1 && d.NetworkInterfaces[0].Status == "available" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not become available after detach: %+v", eniID, d.NetworkInterfaces)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestIMDSNeedsAToken checks the binary's IMDSv2: a token-authenticated GET
// of the instance type answers m5.large, a GET without a token 401.
func TestIMDSNeedsAToken(t *testing.T) {
	sim := startEC2Sim(t)
	get := func(token string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, sim.IMDSURL+"/latest/meta-data/instance-type", nil)
		if token != "" {
			req.Header.Set("X-aws-ec2-metadata-token", token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET instance-type: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get(""); code != http.StatusUnauthorized {
		t.Fatalf("GET without a token: status %d, want 401", code)
	}
	req, _ := http.NewRequest(http.MethodPut, sim.IMDSURL+"/latest/api/token", nil)
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT token: %v", err)
	}
	token, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(token) == 0 {
		t.Fatalf("PUT token: status %d, body %q", resp.StatusCode, token)
	}
	if code, body := get(string(token)); code != http.StatusOK || body != "m5.large" {
		t.Fatalf("GET with a token: status %d body %q, want 200 m5.large", code, body)
	}
	if code, _ := get("not-a-token"); code != http.StatusUnauthorized {
		t.Fatalf("GET with a forged token: status %d, want 401", code)
	}
}
