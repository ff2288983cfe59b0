package aws

import (
	"context"
	"errors"
	"maps"
	"net/netip"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vpc-cni/vpc-cni/cloud"
)

const (
	mac0 = "0a:1b:2c:3d:4e:50"
	mac1 = "0a:1b:2c:3d:4e:51"
)

// instanceMetadata is a node with its primary ENI and one secondary ENI
// that has no network-card key and no prefixes.
func instanceMetadata() map[string]string {
	m0 := "network/interfaces/macs/" + mac0 + "/"
	m1 := "network/interfaces/macs/" + mac1 + "/"
	return map[string]string{
		"instance-id":                 "i-0123456789abcdef0",
		"instance-type":               "m5.large",
		"placement/region":            "us-west-2",
		"placement/availability-zone": "us-west-2a",
		"mac":                         mac0,
		"local-ipv4":                  "10.0.0.10",
		"network/interfaces/macs/":    mac1 + "/\n" + mac0 + "/",
		m0 + "device-number":          "0",
		m0 + "network-card":           "0",
		m0 + "interface-id":           "eni-0",
		m0 + "local-ipv4s":            "10.0.0.10\n10.0.0.11\n10.0.0.12",
		m0 + "ipv4-prefix":            "10.0.0.32/28\n10.0.0.48/28",
		m0 + "subnet-id":              "subnet-a",
		m0 + "subnet-ipv4-cidr-block": "10.0.0.0/24",
		m0 + "vpc-id":                 "vpc-1",
		m0 + "vpc-ipv4-cidr-blocks":   "10.0.0.0/16\n100.64.0.0/16",
		m0 + "security-group-ids":     "sg-1\nsg-2",
		m1 + "device-number":          "1",
		m1 + "interface-id":           "eni-1",
		m1 + "local-ipv4s":            "10.0.0.20",
		m1 + "subnet-id":              "subnet-a",
		m1 + "subnet-ipv4-cidr-block": "10.0.0.0/24",
		m1 + "vpc-id":                 "vpc-1",
		m1 + "vpc-ipv4-cidr-blocks":   "10.0.0.0/16",
		m1 + "security-group-ids":     "sg-1",
	}
}

func newTestIMDS(t *testing.T, values map[string]string) (*IMDS, *fakeIMDS, *prometheus.Registry) {
	t.Helper()
	f := newFakeIMDS(t, values)
	o, reg := testOptions("http://127.0.0.1:1")
	o.IMDSEndpoint = f.srv.URL
	d, err := NewIMDS(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return d, f, reg
}

func TestIMDSInstance(t *testing.T) {
	d, _, reg := newTestIMDS(t, instanceMetadata())
	got, err := d.Instance(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := cloud.Instance{
		ID: "i-0123456789abcdef0", Type: "m5.large", Region: "us-west-2", AZ: "us-west-2a",
		PrimaryENI: "eni-0", PrimaryMAC: mac0, PrimaryIP: netip.MustParseAddr("10.0.0.10"),
		SubnetID: "subnet-a", SubnetCIDR: netip.MustParsePrefix("10.0.0.0/24"), VPCID: "vpc-1",
		VPCCIDRs:       []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("100.64.0.0/16")},
		SecurityGroups: []string{"sg-1", "sg-2"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if v := counterValue(t, reg, "vpc_cni_imds_requests_total", map[string]string{"path": "instance-id", "code": "OK"}); v != 1 {
		t.Errorf("imds requests{instance-id,OK} = %v, want 1", v)
	}
	labels := map[string]string{"path": "network/interfaces/macs/{mac}/interface-id"}
	if n := histogramCount(t, reg, "vpc_cni_imds_request_duration_seconds", labels); n != 1 {
		t.Errorf("imds duration count for %v = %d, want 1", labels, n)
	}
}

func TestIMDSENIs(t *testing.T) {
	d, _, reg := newTestIMDS(t, instanceMetadata())
	got, err := d.ENIs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []cloud.ENIMetadata{{
		MAC: mac0, ID: "eni-0", DeviceIndex: 0, SubnetID: "subnet-a",
		SubnetCIDR: netip.MustParsePrefix("10.0.0.0/24"), VPCID: "vpc-1",
		VPCCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16"), netip.MustParsePrefix("100.64.0.0/16")},
		IPv4s: []netip.Addr{
			netip.MustParseAddr("10.0.0.10"), netip.MustParseAddr("10.0.0.11"), netip.MustParseAddr("10.0.0.12"),
		},
		Prefixes:       []netip.Prefix{netip.MustParsePrefix("10.0.0.32/28"), netip.MustParsePrefix("10.0.0.48/28")},
		SecurityGroups: []string{"sg-1", "sg-2"},
	}, {
		MAC: mac1, ID: "eni-1", DeviceIndex: 1, SubnetID: "subnet-a",
		SubnetCIDR: netip.MustParsePrefix("10.0.0.0/24"), VPCID: "vpc-1",
		VPCCIDRs:       []netip.Prefix{netip.MustParsePrefix("10.0.0.0/16")},
		IPv4s:          []netip.Addr{netip.MustParseAddr("10.0.0.20")},
		SecurityGroups: []string{"sg-1"},
	}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	labels := map[string]string{"path": "network/interfaces/macs/{mac}/ipv4-prefix", "code": "404"}
	if v := counterValue(t, reg, "vpc_cni_imds_requests_total", labels); v != 1 {
		t.Errorf("imds requests%v = %v, want 1", labels, v)
	}
}

func TestIMDSENINotFound(t *testing.T) {
	d, _, _ := newTestIMDS(t, instanceMetadata())
	_, err := d.ENI(context.Background(), "0a:ff:ff:ff:ff:ff")
	if !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
	_, err = d.ENI(context.Background(), "not-a-mac")
	if !errors.Is(err, cloud.ErrInvalidParameter) {
		t.Errorf("err = %v, want ErrInvalidParameter", err)
	}
	e, err := d.ENI(context.Background(), strings.ToUpper(mac1))
	if err != nil || e.ID != "eni-1" {
		t.Errorf("upper-case mac: %+v, %v", e, err)
	}
}

func TestIMDSENIsSkipsVanishedENI(t *testing.T) {
	md := instanceMetadata()
	for k := range maps.Clone(md) {
		if strings.HasPrefix(k, "network/interfaces/macs/"+mac1+"/") {
			delete(md, k) // listed, but detached before its details were read
		}
	}
	d, _, _ := newTestIMDS(t, md)
	got, err := d.ENIs(context.Background())
	if err != nil || len(got) != 1 || got[0].ID != "eni-0" {
		t.Errorf("ENIs = %+v, %v; want only eni-0", got, err)
	}
}

func TestIMDSMalformed(t *testing.T) {
	m1 := "network/interfaces/macs/" + mac1 + "/"
	tests := []struct {
		path, value string
		instance    bool // read through Instance rather than ENIs
	}{
		{m1 + "device-number", "one", false},
		{m1 + "device-number", "-1", false},
		{m1 + "network-card", "1.5", false},
		{m1 + "local-ipv4s", "10.0.0.300", false},
		{m1 + "local-ipv4s", "fe80::1", false},
		{m1 + "ipv4-prefix", "10.0.0.33/28", false},
		{m1 + "subnet-ipv4-cidr-block", "10.0.0.0", false},
		{m1 + "vpc-ipv4-cidr-blocks", "10.0.0.0/16\nbogus", false},
		{m1 + "interface-id", "eni-1 eni-2", false},
		{"network/interfaces/macs/", mac1 + "/\nzz:zz/", false},
		{"local-ipv4", "10.0.0", true},
		{"mac", "0A-1B", true},
		{"instance-id", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.path+"="+tt.value, func(t *testing.T) {
			md := instanceMetadata()
			md[tt.path] = tt.value
			d, _, _ := newTestIMDS(t, md)
			var err error
			if tt.instance {
				_, err = d.Instance(context.Background())
			} else {
				_, err = d.ENIs(context.Background())
			}
			if !errors.Is(err, ErrMalformedMetadata) {
				t.Fatalf("err = %v, want ErrMalformedMetadata", err)
			}
			if !strings.Contains(err.Error(), tt.path) {
				t.Errorf("error %q does not name the path %q", err, tt.path)
			}
		})
	}
}

func TestIMDSMissingRequired(t *testing.T) {
	md := instanceMetadata()
	delete(md, "network/interfaces/macs/"+mac0+"/vpc-ipv4-cidr-blocks")
	d, _, _ := newTestIMDS(t, md)
	_, err := d.Instance(context.Background())
	if err == nil || !strings.Contains(err.Error(), "vpc-ipv4-cidr-blocks") {
		t.Errorf("err = %v, want an error naming vpc-ipv4-cidr-blocks", err)
	}
}

func TestIMDSLagVisible(t *testing.T) {
	d, f, _ := newTestIMDS(t, instanceMetadata())
	path := "network/interfaces/macs/" + mac1 + "/local-ipv4s"
	f.set(path, "10.0.0.20\n10.0.0.21")
	e, err := d.ENI(context.Background(), mac1)
	if err != nil {
		t.Fatal(err)
	}
	if !e.HasIPs([]netip.Addr{netip.MustParseAddr("10.0.0.21")}) {
		t.Errorf("ENI = %+v, want 10.0.0.21 shown", e)
	}
	f.del("network/interfaces/macs/" + mac1 + "/device-number")
	if _, err := d.ENI(context.Background(), mac1); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("after the ENI left metadata: err = %v, want ErrNotFound", err)
	}
}

func TestRegionFromIMDS(t *testing.T) {
	f := newFakeIMDS(t, map[string]string{"placement/region": "eu-west-1\n"})
	o, _ := testOptions("http://127.0.0.1:1")
	o.Region = ""
	o.IMDSEndpoint = f.srv.URL
	t.Setenv("AWS_REGION", "")
	t.Setenv("AWS_DEFAULT_REGION", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	c, err := NewEC2(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.client.Options().Region; got != "eu-west-1" {
		t.Errorf("region = %q, want eu-west-1 from IMDS", got)
	}
}

// TestStandardEnvironment checks that the SDK's standard variables reach
// both clients, and that on an instance the default credential chain
// takes the role credentials from IMDS.
func TestStandardEnvironment(t *testing.T) {
	md := instanceMetadata()
	md["iam/security-credentials/"] = "node-role\n"
	md["iam/security-credentials/node-role"] = `{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"AKIDFROMIMDS",
"SecretAccessKey":"secret","Token":"token","Expiration":"2099-01-01T00:00:00Z","LastUpdated":"2024-01-01T00:00:00Z"}`
	fi := newFakeIMDS(t, md)
	fe := newFakeEC2(t, func(_ int, action string, _ url.Values) reply { return okReply(action, "<return>true</return>") })

	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_EC2":                   fe.srv.URL,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT":      fi.srv.URL,
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
	c, md2, err := New(context.Background(), Options{BaseBackoff: 1, MaxBackoff: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteENI(context.Background(), "eni-1"); err != nil {
		t.Fatalf("DeleteENI through AWS_ENDPOINT_URL_EC2: %v", err)
	}
	auth := fe.authorizations()
	if len(auth) != 1 || !strings.Contains(auth[0], "Credential=AKIDFROMIMDS/") || !strings.Contains(auth[0], "/us-west-2/ec2/") {
		t.Errorf("Authorization = %q, want IMDS role credentials and the IMDS region", auth)
	}
	if inst, err := md2.Instance(context.Background()); err != nil || inst.ID != "i-0123456789abcdef0" {
		t.Errorf("Instance through AWS_EC2_METADATA_SERVICE_ENDPOINT: %+v, %v", inst, err)
	}
}

// TestIMDSENIsOrderByCard: ENIs come ordered by network card, then device
// index, as InstanceENIs orders them (device indexes repeat across cards).
func TestIMDSENIsOrderByCard(t *testing.T) {
	const mac2 = "0a:1b:2c:3d:4e:52"
	m := instanceMetadata()
	m1 := "network/interfaces/macs/" + mac1 + "/"
	m2 := "network/interfaces/macs/" + mac2 + "/"
	m[m1+"network-card"], m[m1+"device-number"] = "1", "0"
	for _, k := range []string{"subnet-id", "subnet-ipv4-cidr-block", "vpc-id", "vpc-ipv4-cidr-blocks", "security-group-ids"} {
		m[m2+k] = m[m1+k]
	}
	m[m2+"device-number"], m[m2+"interface-id"], m[m2+"local-ipv4s"] = "1", "eni-2", "10.0.0.30"
	m["network/interfaces/macs/"] += "\n" + mac2 + "/"
	d, _, _ := newTestIMDS(t, m)
	got, err := d.ENIs(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range got {
		ids = append(ids, e.ID)
	}
	if want := []string{"eni-0", "eni-2", "eni-1"}; !reflect.DeepEqual(ids, want) {
		t.Fatalf("ENIs order = %v, want %v (card 0 by device index, then card 1)", ids, want)
	}
}
