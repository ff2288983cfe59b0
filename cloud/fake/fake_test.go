package fake

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// newFake builds a fake for a test or stops it.
func newFake(t *testing.T, opts Options) *Cloud {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func addr(s string) netip.Addr     { return netip.MustParseAddr(s) }
func prefix(s string) netip.Prefix { return netip.MustParsePrefix(s) }

func TestNewDefaults(t *testing.T) {
	c := newFake(t, Options{})
	inst := c.Instance()
	if inst.Type != "m5.large" || inst.ID != DefaultInstanceID || inst.AZ != DefaultAZ || inst.Region != DefaultRegion {
		t.Errorf("instance = %+v", inst)
	}
	if inst.PrimaryIP != addr("198.18.0.4") || inst.SubnetCIDR != DefaultSubnetCIDR {
		t.Errorf("primary %v in %v, want 198.18.0.4 in %v", inst.PrimaryIP, inst.SubnetCIDR, DefaultSubnetCIDR)
	}
	enis := c.AllENIs()
	if len(enis) != 1 {
		t.Fatalf("ENIs = %d, want the primary only", len(enis))
	}
	p := enis[0]
	if p.ID != inst.PrimaryENI || p.MAC != inst.PrimaryMAC || p.Status != cloud.ENIInUse ||
		p.Attachment == nil || p.Attachment.DeviceIndex != 0 || !p.Attachment.DeleteOnTermination {
		t.Errorf("primary ENI = %+v", p)
	}
	sub, ok := c.Subnet(inst.SubnetID)
	if !ok || sub.AvailableIPs != 4096-5-1 || sub.VPCID != inst.VPCID {
		t.Errorf("subnet = %+v, %v; want 4090 free", sub, ok)
	}
	if l := c.Limits(); l.MaxENIs != 3 || l.IPv4PerENI != 10 {
		t.Errorf("limits = %+v", l)
	}
}

func TestNewOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{"built-in type", Options{InstanceType: "c6in.32xlarge"}, false},
		{"unknown type", Options{InstanceType: "zz9.huge"}, true},
		{"malformed instance id", Options{InstanceID: "node-1"}, true},
		{"short instance id", Options{InstanceID: "i-0abc1234"}, false},
		{"custom limits", Options{InstanceType: "tiny.test", Limits: &cloud.InstanceTypeLimits{MaxENIs: 2, IPv4PerENI: 3, Hypervisor: cloud.HypervisorNitro}}, false},
		{"unusable limits", Options{Limits: &cloud.InstanceTypeLimits{}}, true},
		{"subnet outside VPC", Options{SubnetCIDR: prefix("10.0.0.0/24")}, true},
		{"subnet too small", Options{SubnetCIDR: prefix("198.18.0.0/29")}, true},
		{"IPv6 subnet", Options{SubnetCIDR: prefix("2001:db8::/64")}, true},
		{"other VPC", Options{VPCCIDRs: []netip.Prefix{prefix("10.1.0.0/16")}, SubnetCIDR: prefix("10.1.2.0/24")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && c.Instance().PrimaryENI == "" {
				t.Fatal("no primary ENI")
			}
		})
	}
}

func TestCustomLimitsServed(t *testing.T) {
	c := newFake(t, Options{InstanceType: "tiny.test", Limits: &cloud.InstanceTypeLimits{MaxENIs: 2, IPv4PerENI: 3}})
	l, err := c.InstanceType(context.Background(), "tiny.test")
	if err != nil || l.MaxENIs != 2 || l.IPv4PerENI != 3 || len(l.NetworkCards) != 1 {
		t.Fatalf("InstanceType = %+v, %v", l, err)
	}
	if _, err := c.InstanceType(context.Background(), "t3.medium"); err != nil {
		t.Fatalf("built-in type via the fake: %v", err)
	}
	_, err = c.InstanceType(context.Background(), "zz9.huge")
	if !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("unknown type err = %v, want ErrNotFound, as the real client gives", err)
	}
}

func TestAddSubnet(t *testing.T) {
	c := newFake(t, Options{})
	tests := []struct {
		cidr    string
		wantErr bool
	}{
		{"198.18.16.0/20", false},
		{"198.18.32.0/28", false},
		{"198.18.8.0/24", true}, // overlaps the primary subnet
		{"198.19.0.0/24", true}, // outside the VPC
		{"198.18.48.0/29", true},
		{"198.18.0.0/15", true},
	}
	for _, tt := range tests {
		s, err := c.AddSubnet(prefix(tt.cidr), map[string]string{"role": "pods"})
		if (err != nil) != tt.wantErr {
			t.Errorf("AddSubnet(%s) err = %v, want error %v", tt.cidr, err, tt.wantErr)
			continue
		}
		if err == nil {
			got, ok := c.Subnet(s.ID)
			if !ok || got.CIDR != prefix(tt.cidr) || got.Tags["role"] != "pods" || got.AvailableIPs != (1<<(32-got.CIDR.Bits()))-5 {
				t.Errorf("Subnet(%s) = %+v", s.ID, got)
			}
		}
	}
}

// TestSubnetsArguments: like the real client, Subnets needs at least one
// id, none empty; it rejects them before any call, so an injected fault
// does not apply.
func TestSubnetsArguments(t *testing.T) {
	c := newFake(t, Options{})
	primary := c.Instance().SubnetID
	other, err := c.AddSubnet(prefix("198.18.16.0/20"), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		ids     []string
		want    []string
		invalid bool
	}{
		{"no ids", nil, nil, true},
		{"an empty id", []string{primary, ""}, nil, true},
		{"one", []string{other.ID}, []string{other.ID}, false},
		{"two, in order", []string{other.ID, primary}, []string{other.ID, primary}, false},
		{"a duplicate", []string{primary, primary}, []string{primary}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Subnets(context.Background(), tt.ids...)
			if tt.invalid {
				var apiErr *cloud.APIError
				if !errors.Is(err, cloud.ErrInvalidParameter) || errors.As(err, &apiErr) {
					t.Fatalf("err = %v, want a client-side ErrInvalidParameter", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range got {
				ids = append(ids, s.ID)
			}
			if !slices.Equal(ids, tt.want) {
				t.Fatalf("Subnets(%v) = %v, want %v", tt.ids, ids, tt.want)
			}
		})
	}
	c.SetFault(OpSubnets, errors.New("boom"), 0)
	before := c.Calls(OpSubnets)
	if _, err := c.Subnets(context.Background()); !errors.Is(err, cloud.ErrInvalidParameter) {
		t.Fatalf("with a fault injected: err = %v, want the argument error first", err)
	}
	if c.Calls(OpSubnets) != before+1 {
		t.Fatal("a rejected call was not counted")
	}
}

func TestClock(t *testing.T) {
	t0 := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	k := NewClock(t0)
	k.Advance(90 * time.Second)
	if got := k.Now(); !got.Equal(t0.Add(90 * time.Second)) {
		t.Fatalf("Now = %v", got)
	}
}

func TestInspectionCopies(t *testing.T) {
	c := newFake(t, Options{})
	e := c.AllENIs()[0]
	e.Tags["x"] = "y"
	e.Attachment.DeviceIndex = 7
	again, _ := c.ENI(e.ID)
	if again.Tags["x"] != "" || again.Attachment.DeviceIndex != 0 {
		t.Fatalf("caller's change leaked into the fake: %+v", again)
	}
	if _, ok := c.ENI("eni-missing"); ok {
		t.Fatal("ENI(missing) found")
	}
	if _, ok := c.Subnet("subnet-missing"); ok {
		t.Fatal("Subnet(missing) found")
	}
}
