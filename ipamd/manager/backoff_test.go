package manager

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/cloud/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		code, class string
	}{
		{"RequestLimitExceeded", ClassThrottled},
		{"Throttling", ClassThrottled},
		{"InsufficientFreeAddressesInSubnet", ClassSubnetExhausted},
		{"AttachmentLimitExceeded", ClassENILimit},
		{"PrivateIpAddressLimitExceeded", ClassAddressLimit},
		{"InsufficientCidrBlocks", ClassPrefixFragmented},
		{"InternalError", ClassOther},
		{"InvalidNetworkInterfaceID.NotFound", ClassOther},
	} {
		err := fmt.Errorf("assign: %w", cloud.NewAPIError("AssignPrivateIpAddresses", tc.code, "", ""))
		if got := classify(err); got != tc.class {
			t.Errorf("%s: class %q, want %q", tc.code, got, tc.class)
		}
		if got := outcome(err); got != tc.class {
			t.Errorf("%s: outcome %q, want %q", tc.code, got, tc.class)
		}
	}
	for err, want := range map[error]string{
		nil:                                     OutcomeOK,
		context.Canceled:                        outcomeCanceled,
		fmt.Errorf("x: %w", errSkipped):         outcomeSkipped,
		fmt.Errorf("x: %w", errMetadataTimeout): outcomeMetadataTimeout,
	} {
		if got := outcome(err); got != want {
			t.Errorf("outcome(%v) = %q, want %q", err, got, want)
		}
	}
}

func TestDelay(t *testing.T) {
	p := policy{base: 2 * time.Second, max: 30 * time.Second}
	noJitter := func() float64 { return 0 }
	fullJitter := func() float64 { return 0.999999 }
	for _, tc := range []struct {
		n      int
		jitter func() float64
		want   time.Duration
	}{
		{1, noJitter, 2 * time.Second},
		{2, noJitter, 4 * time.Second},
		{4, noJitter, 16 * time.Second},
		{5, noJitter, 30 * time.Second},
		{50, noJitter, 30 * time.Second},
		{1, fullJitter, time.Second},
	} {
		if got := delay(p, tc.n, tc.jitter).Round(time.Millisecond); got != tc.want {
			t.Errorf("delay after %d failures: %v, want %v", tc.n, got, tc.want)
		}
	}
}

// TestThrottlingBacksOffAndRecovers: a throttled call holds every EC2
// action back (growth and release) for an exponentially growing time on
// the clock; once the backoff runs out a retry that works clears it.
func TestThrottlingBacksOffAndRecovers(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide; c.noClock = true })
	ctx := context.Background()
	grow := pool.Decision{Short: 2, Actions: []pool.Action{{Kind: pool.AssignIPs, ENI: e.primary(), Count: 2}}}
	throttled := fake.InjectedError(fake.OpAssignIPs, "RequestLimitExceeded")
	e.cloud.SetFault(fake.OpAssignIPs, throttled, 0)

	s.push(grow)
	e.m.Pass(ctx)
	t0 := e.clock.Now()
	if got := e.m.State().Backoff[ClassThrottled]; !got.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("throttled until %v, want %v", got, t0.Add(2*time.Second))
	}
	if cause, permanent := e.m.Blocked(); cause != "EC2 throttling; retrying" || permanent {
		t.Errorf("Blocked() = %q, %v", cause, permanent)
	}
	if e.m.State().LastError == "" {
		t.Error("no LastError")
	}

	calls := e.cloud.Calls(fake.OpAssignIPs)
	s.push(grow, act(pool.Action{Kind: pool.UnassignIPs, ENI: e.primary(), Blocks: nil}))
	e.m.Pass(ctx)
	e.m.Pass(ctx)
	if got := e.cloud.Calls(fake.OpAssignIPs); got != calls {
		t.Fatalf("%d AssignIPs calls while throttled, want none", got-calls)
	}

	e.clock.Advance(2 * time.Second) // runs out; the retry is throttled again: twice as long
	s.push(grow)
	e.m.Pass(ctx)
	if got, want := e.m.State().Backoff[ClassThrottled], t0.Add(6*time.Second); !got.Equal(want) {
		t.Fatalf("throttled until %v after the second failure, want %v", got, want)
	}

	e.cloud.SetFault(fake.OpAssignIPs, nil, 0)
	e.clock.Advance(4 * time.Second)
	s.push(grow)
	e.m.Pass(ctx)
	if n := len(e.storeBlocks(e.primary())); n != 2 {
		t.Fatalf("%d blocks after recovery, want 2", n)
	}
	if b := e.m.State().Backoff; len(b) != 0 {
		t.Errorf("backoffs left after recovery: %v", b)
	}
	if cause, _ := e.m.Blocked(); cause != "" {
		t.Errorf("Blocked() = %q after recovery", cause)
	}
	if e.m.State().LastError != "" {
		t.Errorf("LastError %q after a clean pass", e.m.State().LastError)
	}
	want := []string{"assign-ips throttled", "assign-ips throttled", "assign-ips ok"}
	if got := e.obs.outcomes(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("outcomes %v, want %v", got, want)
	}
}

// TestSubnetExhausted: a full subnet holds growth back and names the
// subnet, but releases go on.
func TestSubnetExhausted(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide; c.noClock = true })
	ctx := context.Background()
	s.push(act(pool.Action{Kind: pool.AssignIPs, ENI: e.primary(), Count: 3}))
	e.m.Pass(ctx)
	subnet := e.cloud.Instance().SubnetID
	sub, _ := e.cloud.Subnet(subnet)
	if _, err := e.cloud.OccupyN(subnet, sub.AvailableIPs); err != nil {
		t.Fatal(err)
	}

	s.push(pool.Decision{Short: 5, Actions: []pool.Action{{Kind: pool.AssignIPs, ENI: e.primary(), Count: 5}}})
	e.m.Pass(ctx)
	want := "subnet " + subnet + " has no free addresses"
	if cause, permanent := e.m.Blocked(); cause != want || permanent {
		t.Errorf("Blocked() = %q, %v; want %q, false", cause, permanent, want)
	}
	if _, ok := e.m.State().Backoff[ClassSubnetExhausted]; !ok {
		t.Errorf("no subnet-exhausted backoff: %v", e.m.State().Backoff)
	}

	calls := e.cloud.Calls(fake.OpAssignIPs)
	release := e.storeBlocks(e.primary())[:1]
	s.push(pool.Decision{Short: 5, Actions: []pool.Action{
		{Kind: pool.AssignIPs, ENI: e.primary(), Count: 5},
		{Kind: pool.UnassignIPs, ENI: e.primary(), Blocks: release},
	}})
	e.m.Pass(ctx)
	if got := e.cloud.Calls(fake.OpAssignIPs); got != calls {
		t.Errorf("growth tried %d times while the subnet backoff holds", got-calls)
	}
	if n := len(e.storeBlocks(e.primary())); n != 2 {
		t.Errorf("%d blocks after the release, want 2", n)
	}
	e.checkGroundTruth()
}

// TestPrefixFragmented names the subnet with no aligned /28 left.
func TestPrefixFragmented(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide; c.noClock = true })
	e.cloud.SetFault(fake.OpAssignPrefixes, fake.InjectedError(fake.OpAssignPrefixes, "InsufficientCidrBlocks"), 0)
	s.push(pool.Decision{Short: 16, Actions: []pool.Action{{Kind: pool.AssignPrefixes, ENI: e.primary(), Count: 1}}})
	e.m.Pass(context.Background())
	want := "subnet " + e.cloud.Instance().SubnetID + " has no free aligned /28 for a prefix"
	if cause, permanent := e.m.Blocked(); cause != want || permanent {
		t.Errorf("Blocked() = %q, %v; want %q, false", cause, permanent, want)
	}
}

// TestENILimit: an instance with every slot taken (by ENIs ipamd does not
// manage) refuses a new ENI before any EC2 call; EC2 refusing the attach
// is undone. Both name the type and its limit, as permanent.
func TestENILimit(t *testing.T) {
	for _, tc := range []struct {
		name      string
		prepare   func(e *env)
		wantCalls int // CreateENI calls
	}{
		{"slots taken", func(e *env) {
			e.addENI(1, 0, map[string]string{TagNoManage: "true"})
			e.addENI(2, 0, map[string]string{TagNoManage: "true"})
		}, 0},
		{"EC2 refuses the attach", func(e *env) {
			e.cloud.SetFault(fake.OpAttachENI, fake.InjectedError(fake.OpAttachENI, "AttachmentLimitExceeded"), 1)
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s script
			e := newEnv(t, func(c *setup) { c.decide = s.decide })
			tc.prepare(e)
			before, calls := len(e.cloud.AllENIs()), e.cloud.Calls(fake.OpCreateENI)
			s.push(pool.Decision{Short: 9, Actions: []pool.Action{{Kind: pool.CreateENI, Count: 9}}})
			e.m.Pass(context.Background())
			if got := e.cloud.Calls(fake.OpCreateENI) - calls; got != tc.wantCalls {
				t.Errorf("%d CreateENI calls, want %d", got, tc.wantCalls)
			}
			if got := len(e.cloud.AllENIs()); got != before {
				t.Errorf("%d ENIs in the cloud, want %d: one leaked", got, before)
			}
			want := "ENI limit of m5.large reached (3 ENIs)"
			if cause, permanent := e.m.Blocked(); cause != want || !permanent {
				t.Errorf("Blocked() = %q, %v; want %q, true", cause, permanent, want)
			}
		})
	}
}

func TestBlockedCauses(t *testing.T) {
	lim, _ := cloud.BuiltinInstanceType("m5.large")
	for _, tc := range []struct {
		name          string
		last          pool.Decision
		maxENIs       int
		class         string
		want          string
		wantPermanent bool
		wantClass     string
	}{
		{"nothing wanted", pool.Decision{}, 3, "", "", false, ""},
		{"policy: max pods", pool.Decision{Short: 4, Blocked: "max pods reached (29)", BlockedBy: pool.LimitMaxPods}, 3, "", "max pods reached (29)", true, ClassMaxPods},
		{"growing", pool.Decision{Short: 4}, 3, "", "", false, ""},
		{"throttled", pool.Decision{Short: 4}, 3, ClassThrottled, "EC2 throttling; retrying", false, ClassThrottled},
		{"eni limit", pool.Decision{Short: 4}, 3, ClassENILimit, "ENI limit of m5.large reached (3 ENIs)", true, ClassENILimit},
		{"MAX_ENI", pool.Decision{Short: 4}, 2, ClassENILimit, "MAX_ENI=2 reached (m5.large allows 3 ENIs)", true, ClassMaxENI},
		{"address limit", pool.Decision{Short: 4}, 3, ClassAddressLimit, "address limit of m5.large reached (10 per ENI)", true, ClassAddressLimit},
		{"subnet", pool.Decision{Short: 4}, 3, ClassSubnetExhausted, "subnet subnet-1 has no free addresses", false, ClassSubnetExhausted},
		{"fragmented", pool.Decision{Short: 4}, 3, ClassPrefixFragmented, "subnet subnet-1 has no free aligned /28 for a prefix", false, ClassPrefixFragmented},
		{"other", pool.Decision{Short: 4}, 3, ClassOther, "pool growth failing: boom; retrying", false, ClassOther},
		{"backoff but nothing wanted", pool.Decision{}, 3, ClassThrottled, "", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := New(Deps{}, Options{Limits: pool.Limits{Type: lim, MaxENIs: tc.maxENIs, MaxPods: 29}})
			m.last = tc.last
			if tc.class != "" {
				m.failed(tc.class, pool.AssignIPs, "subnet-1", errors.New("boom"), epoch)
			}
			cause, permanent := m.Blocked()
			if cause != tc.want || permanent != tc.wantPermanent {
				t.Errorf("Blocked() = %q, %v; want %q, %v", cause, permanent, tc.want, tc.wantPermanent)
			}
			if got := m.BlockedClass(); got != tc.wantClass {
				t.Errorf("BlockedClass() = %q, want %q", got, tc.wantClass)
			}
			if c, cl, p := m.BlockedState(); c != tc.want || cl != tc.wantClass || p != tc.wantPermanent {
				t.Errorf("BlockedState() = %q, %q, %v; want %q, %q, %v", c, cl, p, tc.want, tc.wantClass, tc.wantPermanent)
			}
		})
	}
}

// TestStaleBackoffForgotten: a backoff nobody retried is forgotten once its
// longest delay has passed after it ran out.
func TestStaleBackoffForgotten(t *testing.T) {
	var s script
	e := newEnv(t, func(c *setup) { c.decide = s.decide; c.noClock = true })
	e.m.failed(ClassThrottled, pool.UnassignIPs, "", errors.New("slow down"), e.clock.Now())
	e.m.Pass(context.Background())
	if _, ok := e.m.State().Backoff[ClassThrottled]; !ok {
		t.Fatal("a fresh backoff was forgotten")
	}
	e.clock.Advance(policies[ClassThrottled].base + policies[ClassThrottled].max + time.Second)
	e.m.Pass(context.Background())
	if b := e.m.State().Backoff; len(b) != 0 {
		t.Errorf("stale backoffs kept: %v", b)
	}
	if e.m.State().LastError != "" {
		t.Errorf("LastError %q kept", e.m.State().LastError)
	}
}
