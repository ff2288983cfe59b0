package manager

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/cloud/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// onlyPrimary fails unless the cloud has no ENI besides the primary.
func (e *env) onlyPrimary() {
	e.t.Helper()
	if all := e.cloud.AllENIs(); len(all) != 1 || all[0].ID != e.primary() {
		e.t.Errorf("cloud has %d ENIs, want only the primary: %+v", len(all), all)
	}
	for _, s := range e.store.ENIs() {
		if !s.Primary {
			e.t.Errorf("datastore kept %s", s.ID)
		}
	}
}

// TestCreateLostAnswer: when a create fails in a way that may have made
// the ENI all the same (the answer was lost, a 5xx), the ENI is found by
// its create token and deleted, instead of leaking until the leaked-ENI
// cleanup; a definite refusal is not looked up.
func TestCreateLostAnswer(t *testing.T) {
	internal := fake.InjectedError(fake.OpCreateENI, "InternalError")
	for _, tc := range []struct {
		name       string
		fault      func(c *fake.Cloud)
		wantLookup bool
	}{
		{"timeout after EC2 made it", func(c *fake.Cloud) {
			c.SetFaultAfter(fake.OpCreateENI, fmt.Errorf("create: %w", context.DeadlineExceeded), 1)
		}, true},
		{"5xx after EC2 made it", func(c *fake.Cloud) { c.SetFaultAfter(fake.OpCreateENI, internal, 1) }, true},
		{"transport failure after EC2 made it", func(c *fake.Cloud) {
			c.SetFaultAfter(fake.OpCreateENI, fmt.Errorf("read: connection reset by peer"), 1)
		}, true},
		{"5xx before EC2 made it", func(c *fake.Cloud) { c.SetFault(fake.OpCreateENI, internal, 1) }, true},
		{"subnet exhausted", func(c *fake.Cloud) {
			c.SetFault(fake.OpCreateENI, fake.InjectedError(fake.OpCreateENI, "InsufficientFreeAddressesInSubnet"), 1)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s script
			e := newEnv(t, func(c *setup) { c.decide = s.decide })
			tc.fault(e.cloud)
			lookups := e.cloud.Calls(fake.OpENIs)
			s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
			e.m.Pass(context.Background())
			if got := e.cloud.Calls(fake.OpCreateENI); got != 1 {
				t.Fatalf("%d CreateENI calls, want 1", got)
			}
			if looked := e.cloud.Calls(fake.OpENIs) > lookups; looked != tc.wantLookup {
				t.Errorf("looked the ENI up %v, want %v", looked, tc.wantLookup)
			}
			e.onlyPrimary()
		})
	}
}

// TestCreateRequestToken: every create carries a fresh create token,
// unless ADDITIONAL_ENI_TAGS leave no room for it under EC2's tag limit.
func TestCreateRequestToken(t *testing.T) {
	e := newEnv(t, func(c *setup) { c.noSync = true; c.noClock = true; c.opts.ClusterName = "lab" })
	a, b := e.m.createRequest(1, epoch), e.m.createRequest(1, epoch)
	if a.Tags[TagCreateToken] == "" || a.Tags[TagCreateToken] == b.Tags[TagCreateToken] {
		t.Errorf("tokens %q and %q, want two different ones", a.Tags[TagCreateToken], b.Tags[TagCreateToken])
	}
	e.m.opts.Tags = map[string]string{}
	for i := range MaxENITags - 4 { // ours: created-by, instance id, created-at, cluster name
		e.m.opts.Tags[fmt.Sprint("t", i)] = "v"
	}
	full := e.m.createRequest(1, epoch)
	if _, ok := full.Tags[TagCreateToken]; ok || len(full.Tags) != MaxENITags {
		t.Errorf("%d tags with token %v, want %d without", len(full.Tags), ok, MaxENITags)
	}
}

// createRecorder keeps the errors of the CreateENI calls it passes on.
type createRecorder struct {
	cloud.ENIAPI
	mu   sync.Mutex
	errs []error
}

func (r *createRecorder) CreateENI(ctx context.Context, req cloud.CreateENIRequest) (cloud.ENI, error) {
	e, err := r.ENIAPI.CreateENI(ctx, req)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
	return e, err
}

func (r *createRecorder) results() []error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]error(nil), r.errs...)
}

// TestCreateNotCutOffByStop: a create in flight when the manager's context
// ends runs to its end (its answer would be lost otherwise), and the new
// ENI does not leak: it is attached, and the next sync adopts it.
func TestCreateNotCutOffByStop(t *testing.T) {
	var s script
	rec := &createRecorder{}
	e := newEnv(t, func(c *setup) {
		c.decide = s.decide
		c.opts.StopTimeout = waitFor
		c.ec2 = func(f *fake.Cloud) cloud.ENIAPI { rec.ENIAPI = f; return rec }
	})
	e.cloud.SetLatency(fake.OpCreateENI, 50*time.Millisecond)
	s.push(act(pool.Action{Kind: pool.CreateENI, Count: 2}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.m.Pass(ctx) }()
	eventually(t, "the create called", func() bool { return e.cloud.Calls(fake.OpCreateENI) == 1 })
	cancel()
	select {
	case <-done:
	case <-time.After(waitFor):
		t.Fatal("the pass did not end after its context")
	}
	if got := rec.results(); len(got) != 1 || got[0] != nil {
		t.Errorf("create results %v, want one success", got)
	}
	// The new ENI is left attached, and the next sync adopts it.
	if _, err := e.m.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n, all := len(e.store.ENIs()), e.cloud.AllENIs(); n != 2 || len(all) != 2 {
		t.Errorf("datastore has %d ENIs, cloud %+v; want the new one in both", n, all)
	}
	e.checkGroundTruth()
}
