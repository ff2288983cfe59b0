package capacity

import (
	"errors"
	"strings"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/manager"
	"github.com/vpc-cni/vpc-cni/ipamd/maxpods"
)

func builtin(t *testing.T, name string) cloud.InstanceTypeLimits {
	t.Helper()
	l, ok := cloud.BuiltinInstanceType(name)
	if !ok {
		t.Fatalf("no built-in limits for %s", name)
	}
	return l
}

func TestPodIPs(t *testing.T) {
	tests := []struct {
		typ  string
		opts maxpods.Options
		want int
	}{
		{"m5.large", maxpods.Options{}, 27},                        // 3 × (10 − 1); max pods 29
		{"m5.large", maxpods.Options{PrefixDelegation: true}, 110}, // 3 × (10 − 1) × 16 = 432, capped
		{"m5.large", maxpods.Options{PrefixDelegation: true, Cap: maxpods.CapNone}, 432},
		{"m5.large", maxpods.Options{MaxENI: 2}, 18},
		{"m5.large", maxpods.Options{MaxENI: 2, PrefixDelegation: true}, 110},
		{"m5.large", maxpods.Options{MaxENI: 1, PrefixDelegation: true}, 110}, // 144
		{"m5.large", maxpods.Options{CustomNetworking: true}, 18},
		{"m5.large", maxpods.Options{Cap: 10}, 10}, // the pool never holds more than max pods
		{"t3.medium", maxpods.Options{}, 15},
		{"c5.4xlarge", maxpods.Options{}, 110}, // 232 addresses, max pods 110
		{"c5.4xlarge", maxpods.Options{Cap: maxpods.CapNone}, 232},
		{"m5.24xlarge", maxpods.Options{}, 250}, // 735 addresses
	}
	for _, tt := range tests {
		got, err := PodIPs(builtin(t, tt.typ), tt.opts)
		if err != nil || got != tt.want {
			t.Errorf("PodIPs(%s, %+v) = %d, %v; want %d", tt.typ, tt.opts, got, err, tt.want)
		}
		r, _ := maxpods.Compute(builtin(t, tt.typ), tt.opts)
		if PodIPsOf(r) != tt.want {
			t.Errorf("PodIPsOf(%s, %+v) = %d, want %d", tt.typ, tt.opts, PodIPsOf(r), tt.want)
		}
	}
}

func TestPodIPsErrors(t *testing.T) {
	if _, err := PodIPs(builtin(t, "m4.large"), maxpods.Options{PrefixDelegation: true}); !errors.Is(err, maxpods.ErrPrefixDelegation) {
		t.Errorf("prefix delegation on m4.large: err %v, want ErrPrefixDelegation", err)
	}
	if _, err := PodIPs(cloud.InstanceTypeLimits{Type: "x"}, maxpods.Options{}); !errors.Is(err, maxpods.ErrLimits) {
		t.Errorf("no limits: err %v, want ErrLimits", err)
	}
}

func TestDesired(t *testing.T) {
	tests := []struct {
		name      string
		pool      Pool
		available bool
		reason    string
		up        bool
		msg       []string
	}{
		{"ready", Pool{Ready: true, Assigned: 5, Available: 4}, true, ReasonWarmPoolReady, true,
			[]string{"5 assigned / 4 available / 27 capacity"}},
		{"cooling", Pool{Ready: true, Assigned: 5, Available: 4, Cooling: 2}, true, ReasonWarmPoolReady, true,
			[]string{"(2 cooling down)"}},
		{"not ready", Pool{}, false, ReasonNotReady, false, []string{"0 assigned / 0 available / 27 capacity"}},
		{"subnet", Pool{Ready: true, Assigned: 9, Cause: "subnet subnet-1 has no free addresses",
			Class: manager.ClassSubnetExhausted}, false, ReasonSubnetExhausted, true,
			[]string{"pool cannot grow: subnet subnet-1 has no free addresses", "9 assigned / 0 available / 27 capacity"}},
		{"prefix fragmented", Pool{Ready: true, Cause: "no aligned /28", Class: manager.ClassPrefixFragmented},
			false, ReasonSubnetExhausted, true, []string{"no aligned /28"}},
		{"eni limit", Pool{Ready: true, Cause: "ENI limit of m5.large reached (3 ENIs)", Class: manager.ClassENILimit, Permanent: true},
			false, ReasonENILimit, true, []string{"ENI limit of m5.large"}},
		{"max eni", Pool{Ready: true, Cause: "MAX_ENI=1 reached", Class: manager.ClassMaxENI, Permanent: true},
			false, ReasonENILimit, true, []string{"MAX_ENI=1"}},
		{"address limit", Pool{Ready: true, Cause: "address limit", Class: manager.ClassAddressLimit, Permanent: true},
			false, ReasonENILimit, true, nil},
		{"max pods", Pool{Ready: true, Assigned: 27, Cause: "max pods reached (29)", Class: manager.ClassMaxPods, Permanent: true},
			false, ReasonMaxPods, true, []string{"27 assigned"}},
		{"throttled", Pool{Ready: true, Cause: "EC2 throttling; retrying", Class: manager.ClassThrottled},
			false, ReasonThrottled, true, nil},
		{"other", Pool{Ready: true, Cause: "pool growth failing: boom; retrying", Class: manager.ClassOther},
			false, ReasonGrowthFailing, true, nil},
		{"class without cause", Pool{Ready: true, Class: manager.ClassThrottled},
			false, ReasonThrottled, true, []string{"pool cannot grow (throttled)"}},
		{"blocked before ready", Pool{Cause: "EC2 throttling; retrying", Class: manager.ClassThrottled},
			false, ReasonThrottled, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Desired(27, tt.pool)
			if s.Available != tt.available || s.Reason != tt.reason || s.NetworkUp != tt.up || s.PodIPs != 27 {
				t.Errorf("Desired = %+v, want available %v reason %s up %v", s, tt.available, tt.reason, tt.up)
			}
			if s.Cause != "" && s.Available {
				t.Errorf("cause %q with available %v", s.Cause, s.Available)
			}
			for _, m := range tt.msg {
				if !strings.Contains(s.Message, m) {
					t.Errorf("message %q lacks %q", s.Message, m)
				}
			}
		})
	}
	if s := Desired(-3, Pool{Ready: true}); s.PodIPs != 0 {
		t.Errorf("negative capacity gives %d, want 0", s.PodIPs)
	}
}

func TestEventDue(t *testing.T) {
	subnet := Desired(27, Pool{Ready: true, Cause: "subnet full", Class: manager.ClassSubnetExhausted})
	eni := Desired(27, Pool{Ready: true, Cause: "eni limit", Class: manager.ClassENILimit})
	ok := Desired(27, Pool{Ready: true})
	tests := []struct {
		prev string
		s    State
		want bool
	}{
		{"", subnet, true},
		{ReasonWarmPoolReady, subnet, true},
		{ReasonSubnetExhausted, subnet, false}, // same cause: not repeated
		{ReasonSubnetExhausted, eni, true},
		{ReasonSubnetExhausted, ok, false},
		{"", ok, false},
		{"", Desired(27, Pool{}), false}, // not ready is not a cause
	}
	for _, tt := range tests {
		if got := EventDue(tt.prev, tt.s); got != tt.want {
			t.Errorf("EventDue(%q, %s) = %v, want %v", tt.prev, tt.s.Reason, got, tt.want)
		}
	}
}

func TestFromStats(t *testing.T) {
	got := FromStats(true, datastore.Stats{Total: 20, Assigned: 5, Available: 12, Cooling: 3}, "c", manager.ClassThrottled, false)
	want := Pool{Ready: true, Assigned: 5, Available: 12, Cooling: 3, Cause: "c", Class: manager.ClassThrottled}
	if got != want {
		t.Errorf("FromStats = %+v, want %+v", got, want)
	}
}
