package netenv

import (
	"errors"
	"testing"
)

func TestNames(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{NSName("vpclab", KindFabric, 0, 0), "vpclab-fabric"},
		{NSName("vpclab", KindInet, 0, 0), "vpclab-inet"},
		{NSName("vpclab", KindNode, 2, 0), "vpclab-node2"},
		{NSName("e2e1", KindPod, 1, 3), "e2e1-n1-p3"},
		{NSName("vpclab", "other", 1, 1), ""},
		{NodeLink(0), "eth0"},
		{FabricLink(2, 1), "n2e1"},
		{Key{Node: 12, Device: 3}.String(), "n12e3"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestParseLinks(t *testing.T) {
	for _, tc := range []struct {
		name string
		i, d int
		ok   bool
	}{
		{"n1e0", 1, 0, true},
		{"n12e15", 12, 15, true},
		{"n1e", 0, 0, false},
		{"ne0", 0, 0, false},
		{"n01e0", 0, 0, false},
		{"n1e-1", 0, 0, false},
		{"n1x0", 0, 0, false},
		{"finet", 0, 0, false},
		{"n1e0e1", 0, 0, false},
	} {
		i, d, ok := parseFabricLink(tc.name)
		if i != tc.i || d != tc.d || ok != tc.ok {
			t.Errorf("parseFabricLink(%q) = %d, %d, %v; want %d, %d, %v", tc.name, i, d, ok, tc.i, tc.d, tc.ok)
		}
	}
	for _, tc := range []struct {
		name string
		d    int
		ok   bool
	}{
		{"eth0", 0, true}, {"eth7", 7, true}, {"eth", 0, false}, {"eth00", 0, false},
		{"eni1234", 0, false}, {"lo", 0, false}, {"eth1a", 0, false},
	} {
		d, ok := parseNodeLink(tc.name)
		if d != tc.d || ok != tc.ok {
			t.Errorf("parseNodeLink(%q) = %d, %v; want %d, %v", tc.name, d, ok, tc.d, tc.ok)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, p := range []string{"vpclab", "e2e1", "nt_12AB"} {
		if err := ValidatePrefix(p); err != nil {
			t.Errorf("ValidatePrefix(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"", "a-b", "a/b", "a.b", "a b", "abcdefghijklmnopqrstuvwxyz0123456789"} {
		if err := ValidatePrefix(p); !errors.Is(err, ErrBadName) {
			t.Errorf("ValidatePrefix(%q) = %v, want ErrBadName", p, err)
		}
	}
}

func TestValidateNodes(t *testing.T) {
	ok := []NodeSpec{{Index: 1, InstanceID: "i-1"}, {Index: 2, InstanceID: "i-2"}}
	if err := validateNodes(ok); err != nil {
		t.Fatalf("validateNodes: %v", err)
	}
	for name, nodes := range map[string][]NodeSpec{
		"index 0":        {{Index: 0, InstanceID: "i-1"}},
		"index twice":    {{Index: 1, InstanceID: "i-1"}, {Index: 1, InstanceID: "i-2"}},
		"no instance":    {{Index: 1}},
		"instance twice": {{Index: 1, InstanceID: "i-1"}, {Index: 2, InstanceID: "i-1"}},
	} {
		if err := validateNodes(nodes); !errors.Is(err, ErrBadName) {
			t.Errorf("%s: validateNodes = %v, want ErrBadName", name, err)
		}
	}
}
