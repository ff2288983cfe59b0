package netenv

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
)

var (
	a  = netip.MustParseAddr
	pf = netip.MustParsePrefix
)

func att(inst string, dev int, status string) *sim.Attachment {
	return &sim.Attachment{InstanceID: inst, DeviceIndex: dev, Status: status}
}

func TestDesiredFrom(t *testing.T) {
	st := sim.State{
		Subnets: []sim.Subnet{{ID: "subnet-1", CIDR: pf("198.18.0.0/20")}},
		ENIs: []sim.ENI{
			{ID: "eni-0", SubnetID: "subnet-1", MAC: "02:00:00:00:00:0A", PrimaryIP: a("198.18.0.11"),
				SecondaryIPs: []netip.Addr{a("198.18.0.30")}, Attachment: att("i-1", 0, "attached")},
			{ID: "eni-1", SubnetID: "subnet-1", MAC: "02:00:00:00:00:0b", PrimaryIP: a("198.18.0.40"),
				SecondaryIPs: []netip.Addr{a("198.18.0.41"), a("198.18.0.42")},
				Prefixes:     []netip.Prefix{pf("198.18.1.0/28")}, Attachment: att("i-1", 1, "attached")},
			// Not yet a device: still attaching.
			{ID: "eni-2", SubnetID: "subnet-1", MAC: "02:00:00:00:00:0c", PrimaryIP: a("198.18.0.50"),
				Attachment: att("i-1", 2, "attaching")},
			// Still a device until the detach completes.
			{ID: "eni-3", SubnetID: "subnet-1", MAC: "02:00:00:00:00:0d", PrimaryIP: a("198.18.0.60"),
				Attachment: att("i-2", 1, "detaching")},
			// Not a lab instance, not attached, another network card.
			{ID: "eni-4", SubnetID: "subnet-1", MAC: "02:00:00:00:00:0e", PrimaryIP: a("198.18.0.70"),
				Attachment: att("i-9", 0, "attached")},
			{ID: "eni-5", SubnetID: "subnet-1", MAC: "02:00:00:00:00:0f", PrimaryIP: a("198.18.0.80")},
			{ID: "eni-6", SubnetID: "subnet-1", MAC: "02:00:00:00:00:10", PrimaryIP: a("198.18.0.90"),
				Attachment: &sim.Attachment{InstanceID: "i-1", DeviceIndex: 0, NetworkCardIndex: 1, Status: "attached"}},
			// Bad: a MAC that does not parse.
			{ID: "eni-7", SubnetID: "subnet-1", MAC: "zz", PrimaryIP: a("198.18.0.95"),
				Attachment: att("i-2", 2, "attached")},
		},
	}
	nodes := []NodeSpec{{Index: 1, InstanceID: "i-1"}, {Index: 2, InstanceID: "i-2"}}
	got, err := DesiredFrom(st, nodes)
	if !errors.Is(err, ErrBadState) {
		t.Errorf("err = %v, want ErrBadState for eni-7", err)
	}
	want := Desired{
		ENIs: []DesiredENI{
			{Key: Key{1, 0}, ID: "eni-0", MAC: "02:00:00:00:00:0a", Primary: a("198.18.0.11"),
				Owned:    []netip.Addr{a("198.18.0.11"), a("198.18.0.30")},
				NodeAddr: pf("198.18.0.11/20"), NodeGateway: a("198.18.0.1")},
			{Key: Key{1, 1}, ID: "eni-1", MAC: "02:00:00:00:00:0b", Primary: a("198.18.0.40"),
				Owned:    []netip.Addr{a("198.18.0.40"), a("198.18.0.41"), a("198.18.0.42")},
				Prefixes: []netip.Prefix{pf("198.18.1.0/28")}},
			{Key: Key{2, 1}, ID: "eni-3", MAC: "02:00:00:00:00:0d", Primary: a("198.18.0.60"),
				Owned: []netip.Addr{a("198.18.0.60")}},
		},
		Gateways: []netip.Addr{a("198.18.0.1")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DesiredFrom:\n got %+v\nwant %+v", got, want)
	}
}

func TestDesiredFromConflicts(t *testing.T) {
	st := sim.State{
		ENIs: []sim.ENI{
			{ID: "eni-a", MAC: "02:00:00:00:00:01", PrimaryIP: a("198.18.0.40"), Attachment: att("i-1", 1, "attached")},
			{ID: "eni-b", MAC: "02:00:00:00:00:02", PrimaryIP: a("198.18.0.41"), Attachment: att("i-1", 1, "attached")},
			// Device 0 needs its subnet for the node's address.
			{ID: "eni-c", SubnetID: "subnet-x", MAC: "02:00:00:00:00:03", PrimaryIP: a("198.18.0.11"),
				Attachment: att("i-1", 0, "attached")},
		},
	}
	got, err := DesiredFrom(st, []NodeSpec{{Index: 1, InstanceID: "i-1"}})
	if !errors.Is(err, ErrBadState) {
		t.Fatalf("err = %v, want ErrBadState", err)
	}
	if len(got.ENIs) != 1 || got.ENIs[0].ID != "eni-a" {
		t.Errorf("ENIs = %+v, want only eni-a", got.ENIs)
	}
}

func TestDesiredFromNothing(t *testing.T) {
	got, err := DesiredFrom(sim.State{}, nil)
	if err != nil || len(got.ENIs) != 0 || len(got.Gateways) != 0 {
		t.Errorf("DesiredFrom(empty) = %+v, %v", got, err)
	}
}
