package fake

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

func TestFaultTimes(t *testing.T) {
	throttled := InjectedError(OpAssignIPs, "RequestLimitExceeded")
	tests := []struct {
		name  string
		times int
		calls int
		fails int // how many of the calls fail
	}{
		{"once", 1, 3, 1},
		{"three times", 3, 5, 3},
		{"always", 0, 6, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFake(t, Options{InstanceType: "m5.24xlarge"})
			c.SetFault(OpAssignIPs, throttled, tt.times)
			fails := 0
			for range tt.calls {
				_, err := c.AssignIPs(bg, c.Instance().PrimaryENI, 1)
				switch {
				case errors.Is(err, cloud.ErrThrottled):
					fails++
				case err != nil:
					t.Fatalf("unexpected error %v", err)
				}
			}
			if fails != tt.fails {
				t.Fatalf("%d of %d calls failed, want %d", fails, tt.calls, tt.fails)
			}
			if got := c.Calls(OpAssignIPs); got != tt.calls {
				t.Fatalf("Calls = %d, want %d", got, tt.calls)
			}
			e, _ := c.ENI(c.Instance().PrimaryENI)
			if len(e.SecondaryIPs) != tt.calls-tt.fails {
				t.Fatalf("a failed call had an effect: %d addresses", len(e.SecondaryIPs))
			}
		})
	}
}

func TestFaultEveryOp(t *testing.T) {
	c := newFake(t, Options{})
	inst := c.Instance()
	md := c.Metadata()
	calls := map[Op]func() error{
		OpInstanceType:   func() error { _, err := c.InstanceType(bg, "m5.large"); return err },
		OpSubnets:        func() error { _, err := c.Subnets(bg, inst.SubnetID); return err },
		OpInstanceENIs:   func() error { _, err := c.InstanceENIs(bg, inst.ID); return err },
		OpENIs:           func() error { _, err := c.ENIs(bg, cloud.ENIFilter{}); return err },
		OpCreateENI:      func() error { _, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID}); return err },
		OpAttachENI:      func() error { _, err := c.AttachENI(bg, "eni-x", inst.ID, 1, 0); return err },
		OpDetachENI:      func() error { return c.DetachENI(bg, "eni-attach-x", false) },
		OpDeleteENI:      func() error { return c.DeleteENI(bg, "eni-x") },
		OpAssignIPs:      func() error { _, err := c.AssignIPs(bg, inst.PrimaryENI, 1); return err },
		OpAssignPrefixes: func() error { _, err := c.AssignPrefixes(bg, inst.PrimaryENI, 1); return err },
		OpUnassignIPs:    func() error { return c.UnassignIPs(bg, inst.PrimaryENI, []netip.Addr{inst.PrimaryIP}) },
		OpUnassignPrefixes: func() error {
			return c.UnassignPrefixes(bg, inst.PrimaryENI, []netip.Prefix{netip.PrefixFrom(inst.PrimaryIP, 28)})
		},
		OpTagENI:                 func() error { return c.TagENI(bg, inst.PrimaryENI, map[string]string{"k": "v"}) },
		OpSetDeleteOnTermination: func() error { return c.SetDeleteOnTermination(bg, inst.PrimaryENI, "x", true) },
		OpMetadataInstance:       func() error { _, err := md.Instance(bg); return err },
		OpMetadataENIs:           func() error { _, err := md.ENIs(bg); return err },
		OpMetadataENI:            func() error { _, err := md.ENI(bg, inst.PrimaryMAC); return err },
	}
	if len(calls) != len(Ops) {
		t.Fatalf("test covers %d ops, the fake has %d", len(calls), len(Ops))
	}
	boom := errors.New("boom")
	for _, op := range Ops {
		c.SetFault(op, boom, 1)
		if err := calls[op](); !errors.Is(err, boom) {
			t.Errorf("%s: err = %v, want the injected fault", op, err)
		}
		if c.Calls(op) != 1 {
			t.Errorf("%s: Calls = %d, want 1", op, c.Calls(op))
		}
	}
}

func TestClearFaults(t *testing.T) {
	c := newFake(t, Options{})
	c.SetFault(OpSubnets, errors.New("boom"), 0)
	c.SetLatency(OpSubnets, time.Hour)
	c.ClearFaults()
	if _, err := c.Subnets(bg, c.Instance().SubnetID); err != nil {
		t.Fatalf("after ClearFaults: %v", err)
	}
	c.SetFault(OpSubnets, errors.New("boom"), 0)
	c.SetFault(OpSubnets, nil, 0)
	if _, err := c.Subnets(bg, c.Instance().SubnetID); err != nil {
		t.Fatalf("after SetFault(nil): %v", err)
	}
}

func TestInjectedError(t *testing.T) {
	err := InjectedError(OpCreateENI, "InsufficientFreeAddressesInSubnet")
	if err.Op != "CreateNetworkInterface" || !errors.Is(err, cloud.ErrSubnetExhausted) {
		t.Fatalf("InjectedError = %+v", err)
	}
	if Op("Custom").Action() != "Custom" {
		t.Fatal("unknown op has no action fallback")
	}
}

func TestLatencyHonoursContext(t *testing.T) {
	tests := []struct {
		name   string
		ctx    func() (context.Context, context.CancelFunc)
		target error
	}{
		{"cancelled while waiting", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(bg)
			time.AfterFunc(10*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
		{"already cancelled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(bg)
			cancel()
			return ctx, cancel
		}, context.Canceled},
		{"deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(bg, 10*time.Millisecond)
		}, context.DeadlineExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newFake(t, Options{})
			c.SetLatency(OpAssignIPs, time.Hour)
			ctx, cancel := tt.ctx()
			defer cancel()
			_, err := c.AssignIPs(ctx, c.Instance().PrimaryENI, 1)
			if !errors.Is(err, tt.target) {
				t.Fatalf("err = %v, want %v", err, tt.target)
			}
			if e, _ := c.ENI(c.Instance().PrimaryENI); len(e.SecondaryIPs) != 0 {
				t.Fatal("a cancelled call had an effect")
			}
		})
	}
}

func TestLatencyThenSuccess(t *testing.T) {
	c := newFake(t, Options{})
	c.SetLatency(OpSubnets, time.Millisecond)
	if _, err := c.Subnets(bg, c.Instance().SubnetID); err != nil {
		t.Fatal(err)
	}
	c.SetLatency(OpSubnets, 0)
	if _, err := c.Subnets(bg, c.Instance().SubnetID); err != nil || c.Calls(OpSubnets) != 2 {
		t.Fatalf("err %v, calls %d", err, c.Calls(OpSubnets))
	}
}

// TestConcurrentUse hammers one fake from many goroutines; run with -race.
// Each worker owns an ENI, so its own results must stay consistent.
func TestConcurrentUse(t *testing.T) {
	c := newFake(t, Options{InstanceType: "m5.24xlarge"})
	c.SetFault(OpAssignIPs, InjectedError(OpAssignIPs, "RequestLimitExceeded"), 5)
	inst := c.Instance()
	md := c.Metadata()
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- worker(c, md, inst, w+1)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(c.AllENIs()); got != 1 {
		t.Fatalf("%d ENIs left, want the primary only", got)
	}
	if s, _ := c.Subnet(inst.SubnetID); s.AvailableIPs != 4090 {
		t.Fatalf("addresses leaked: %d free", s.AvailableIPs)
	}
}

// worker creates, fills, attaches, reads, releases and deletes one ENI.
func worker(c *Cloud, md *IMDS, inst cloud.Instance, idx int) error {
	e, err := c.CreateENI(bg, cloud.CreateENIRequest{SubnetID: inst.SubnetID, Prefixes: 2})
	if err != nil {
		return fmt.Errorf("worker %d: create: %w", idx, err)
	}
	att, err := c.AttachENI(bg, e.ID, inst.ID, idx, 0)
	if err != nil {
		return fmt.Errorf("worker %d: attach: %w", idx, err)
	}
	var ips []netip.Addr
	for len(ips) < 10 {
		got, err := c.AssignIPs(bg, e.ID, 1)
		if err != nil && !errors.Is(err, cloud.ErrThrottled) {
			return fmt.Errorf("worker %d: assign: %w", idx, err)
		}
		ips = append(ips, got...)
	}
	if m, err := md.ENI(bg, e.MAC); err != nil || !m.HasIPs(ips) || !m.HasPrefixes(e.Prefixes) {
		return fmt.Errorf("worker %d: metadata %+v, %v", idx, m, err)
	}
	if _, err := c.ENIs(bg, cloud.ENIFilter{InstanceID: inst.ID}); err != nil {
		return err
	}
	if err := c.UnassignIPs(bg, e.ID, ips); err != nil {
		return err
	}
	if err := c.DetachENI(bg, att, false); err != nil {
		return err
	}
	return c.DeleteENI(bg, e.ID)
}
