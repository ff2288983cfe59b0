package maxpods

import (
	"errors"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud"
)

func builtin(t *testing.T, name string) cloud.InstanceTypeLimits {
	t.Helper()
	l, ok := cloud.BuiltinInstanceType(name)
	if !ok {
		t.Fatalf("no built-in limits for %s", name)
	}
	return l
}

func TestCompute(t *testing.T) {
	tests := []struct {
		typ      string
		opts     Options
		want     int
		wantRaw  int
		wantENIs int
	}{
		{"m5.large", Options{}, 29, 29, 3},
		{"t3.medium", Options{}, 17, 17, 3},
		{"c5.4xlarge", Options{}, 110, 234, 8},
		{"c5.4xlarge", Options{Cap: CapNone}, 234, 234, 8},
		{"m5.24xlarge", Options{}, 250, 737, 15},
		{"m5.24xlarge", Options{Cap: CapNone}, 737, 737, 15},
		{"m5.large", Options{PrefixDelegation: true}, 110, 434, 3},
		{"m5.large", Options{PrefixDelegation: true, Cap: CapNone}, 434, 434, 3},
		{"m5.large", Options{PrefixDelegation: true, Cap: 58}, 58, 434, 3},
		{"m5.large", Options{Cap: 500}, 29, 29, 3},
		{"m5.large", Options{MaxENI: 1}, 11, 11, 1},
		{"m5.large", Options{MaxENI: 5}, 29, 29, 3},  // MAX_ENI above the type's limit changes nothing
		{"m5.large", Options{MaxENI: -1}, 29, 29, 3}, // -1: the type's limit
		{"t3.nano", Options{}, 4, 4, 2},
		{"m5.large", Options{CustomNetworking: true}, 20, 20, 2},
		{"m5.large", Options{CustomNetworking: true, MaxENI: 2}, 11, 11, 1},
		{"t2.medium", Options{}, 17, 17, 3}, // Xen without prefix delegation is fine
		{"m5.metal", Options{PrefixDelegation: true}, 250, 11762, 15},
		// Several network cards: only the default card's ENIs count.
		{"c6in.32xlarge", Options{Cap: CapNone}, 394, 394, 8},
		{"p4d.24xlarge", Options{}, 250, 737, 15},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.opts.Cap.String(), func(t *testing.T) {
			got, err := Compute(builtin(t, tt.typ), tt.opts)
			if err != nil {
				t.Fatalf("Compute: %v", err)
			}
			if got.MaxPods != tt.want || got.Raw != tt.wantRaw || got.ENIs != tt.wantENIs {
				t.Errorf("Compute(%s, %+v) = %d (raw %d, %d ENIs), want %d (raw %d, %d ENIs)",
					tt.typ, tt.opts, got.MaxPods, got.Raw, got.ENIs, tt.want, tt.wantRaw, tt.wantENIs)
			}
		})
	}
}

func TestComputeErrors(t *testing.T) {
	tests := []struct {
		name string
		l    cloud.InstanceTypeLimits
		opts Options
		want error
	}{
		{"prefix delegation on Xen", builtin(t, "m4.large"), Options{PrefixDelegation: true}, ErrPrefixDelegation},
		{"prefix delegation on t2", builtin(t, "t2.micro"), Options{PrefixDelegation: true}, ErrPrefixDelegation},
		{"no ENIs", cloud.InstanceTypeLimits{Type: "x", IPv4PerENI: 10}, Options{}, ErrLimits},
		{"one address per ENI", cloud.InstanceTypeLimits{Type: "x", MaxENIs: 2, IPv4PerENI: 1}, Options{}, ErrLimits},
		{"card without ENIs", cloud.InstanceTypeLimits{Type: "x", MaxENIs: 2, IPv4PerENI: 4,
			NetworkCards: []cloud.NetworkCard{{Index: 1, MaxENIs: 2}}}, Options{}, ErrLimits},
		{"zero value", cloud.InstanceTypeLimits{}, Options{}, ErrLimits},
		{"custom networking with one ENI", builtin(t, "m5.large"), Options{CustomNetworking: true, MaxENI: 1}, ErrLimits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compute(tt.l, tt.opts)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Compute = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestENIs(t *testing.T) {
	tests := []struct {
		name   string
		l      cloud.InstanceTypeLimits
		maxENI int
		want   int
	}{
		{"one card", builtin(t, "m5.large"), -1, 3},
		{"capped", builtin(t, "m5.large"), 2, 2},
		{"cap above", builtin(t, "m5.large"), 10, 3},
		{"no card listed", cloud.InstanceTypeLimits{MaxENIs: 4}, 0, 4},
		{"default card 1", cloud.InstanceTypeLimits{MaxENIs: 6, DefaultNetworkCard: 1,
			NetworkCards: []cloud.NetworkCard{{Index: 0, MaxENIs: 2}, {Index: 1, MaxENIs: 4}}}, -1, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ENIs(tt.l, tt.maxENI); got != tt.want {
				t.Errorf("ENIs = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestParseCap(t *testing.T) {
	tests := []struct {
		in      string
		want    Cap
		wantErr bool
	}{
		{"auto", CapAuto, false},
		{"none", CapNone, false},
		{" 110 ", 110, false},
		{"1", 1, false},
		{"0", 0, true},
		{"-1", 0, true},
		{"", 0, true},
		{"Auto", 0, true},
		{"12x", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseCap(tt.in)
		if (err != nil) != tt.wantErr || (!tt.wantErr && got != tt.want) {
			t.Errorf("ParseCap(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil {
			if back, err := ParseCap(got.String()); err != nil || back != got {
				t.Errorf("ParseCap(%q.String()) = %v, %v; want %v", tt.in, back, err, got)
			}
		}
	}
}
