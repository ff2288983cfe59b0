package manager

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/cloud/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
	hostfake "github.com/vpc-cni/vpc-cni/ipamd/hostnet/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// epoch is where every test's clock starts.
var epoch = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// waitFor is the generous real-time bound of every wait in these tests;
// no test asserts on elapsed time.
const waitFor = 30 * time.Second

// env is a manager over the fake cloud, the real datastore and a fake
// host, all on one manual clock.
type env struct {
	t     *testing.T
	clock *fake.Clock
	cloud *fake.Cloud
	store *datastore.Store
	host  *hostfake.Host
	obs   *recorder
	m     *Manager
}

// setup shapes an env before its manager is built.
type setup struct {
	cloud   fake.Options
	opts    Options
	decide  func(pool.Input) pool.Decision
	noSync  bool // leave the datastore empty (no initial Sync)
	noClock bool // no background clock driver
	// ec2, if set, wraps the fake as the manager's EC2 API (to make a
	// listing lag, say).
	ec2 func(*fake.Cloud) cloud.ENIAPI
	// host, if set, wraps the fake host as the manager's (to watch it).
	host func(*hostfake.Host) hostnet.Host
}

// newEnv builds an env. Unless noSync, it syncs once, so the datastore
// holds the primary ENI as the daemon's startup leaves it. Unless noClock,
// a driver advances the clock 100ms per millisecond while the manager
// waits on it (for attach, detach and metadata delays).
func newEnv(t *testing.T, mods ...func(*setup)) *env {
	t.Helper()
	clock := fake.NewClock(epoch)
	s := setup{
		cloud: fake.Options{Now: clock.Now},
		opts: Options{
			Pool:     pool.Config{WarmENITarget: 1},
			ENIMTU:   9001,
			Interval: time.Hour, // tests run passes by hand or with Wake
			// Long on the clock, so that the clock driver cannot run a
			// wait out while a starved goroutine has not polled yet.
			IMDSWait:   10 * time.Minute,
			DetachWait: 10 * time.Minute,
		},
	}
	for _, f := range mods {
		f(&s)
	}
	c, err := fake.New(s.cloud)
	if err != nil {
		t.Fatal(err)
	}
	lim := c.Limits()
	o := s.opts
	o.Instance = c.Instance()
	o.Now = clock.Now
	if o.Limits.Type.Type == "" {
		o.Limits = pool.Limits{Type: lim, MaxENIs: lim.ENIsOnCard(lim.DefaultNetworkCard), MaxPods: 110}
	}
	e := &env{t: t, clock: clock, cloud: c, host: hostfake.New(), obs: &recorder{}}
	e.store = datastore.New(datastore.Options{Cooldown: 30 * time.Second, Now: clock.Now})
	log := slog.New(slog.NewJSONHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	var api cloud.ENIAPI = c
	if s.ec2 != nil {
		api = s.ec2(c)
	}
	var host hostnet.Host = e.host
	if s.host != nil {
		host = s.host(e.host)
	}
	e.m = New(Deps{EC2: api, Metadata: c.Metadata(), Store: e.store, Host: host, Log: log, Observer: e.obs}, o)
	e.m.pollMin, e.m.pollMax = time.Millisecond, 2*time.Millisecond
	e.m.jitter = func() float64 { return 0 }
	if s.decide != nil {
		e.m.decide = s.decide
	}
	if !s.noSync {
		if _, err := e.m.Sync(context.Background()); err != nil {
			t.Fatalf("initial sync: %v", err)
		}
	}
	if !s.noClock {
		e.driveClock()
	}
	return e
}

// driveClock advances the clock by 100ms every millisecond until the test
// ends, so waits bounded on the clock make progress.
func (e *env) driveClock() {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				e.clock.Advance(100 * time.Millisecond)
			}
		}
	})
	e.t.Cleanup(func() { close(done); wg.Wait() })
}

// script is a policy that returns its decisions in turn, then nothing.
type script struct {
	mu    sync.Mutex
	decs  []pool.Decision
	calls int
}

func (s *script) decide(pool.Input) pool.Decision {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if len(s.decs) == 0 {
		return pool.Decision{}
	}
	d := s.decs[0]
	s.decs = s.decs[1:]
	return d
}

func (s *script) push(d ...pool.Decision) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.decs = append(s.decs, d...)
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// act is a decision of the given actions.
func act(a ...pool.Action) pool.Decision { return pool.Decision{Actions: a} }

// recorder is an Observer that keeps every outcome.
type recorder struct {
	mu   sync.Mutex
	seen []string // "kind outcome"
}

func (r *recorder) PoolAction(kind pool.Kind, outcome string, _ time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen = append(r.seen, string(kind)+" "+outcome)
}

func (r *recorder) outcomes() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.seen)
}

// primary returns the primary ENI's id.
func (e *env) primary() string { return e.cloud.Instance().PrimaryENI }

// storeBlocks returns the datastore's blocks of an ENI (nil if unknown).
func (e *env) storeBlocks(id string) []netip.Prefix {
	for _, s := range e.store.ENIs() {
		if s.ID == id {
			return s.Blocks
		}
	}
	return nil
}

// checkGroundTruth fails unless the datastore's ENIs and blocks are exactly
// the cloud's (secondary addresses as /32s, prefixes) for every ENI the
// datastore manages, and every managed ENI is attached to the instance.
func (e *env) checkGroundTruth() {
	e.t.Helper()
	for _, s := range e.store.ENIs() {
		c, ok := e.cloud.ENI(s.ID)
		if !ok || c.Attachment == nil {
			e.t.Errorf("datastore manages %s, which the cloud has not attached", s.ID)
			continue
		}
		want := sortedBlocks(blocksOf(c))
		if got := sortedBlocks(s.Blocks); !slices.Equal(got, want) {
			e.t.Errorf("%s: datastore blocks %v, cloud %v", s.ID, got, want)
		}
	}
}

func sortedBlocks(b []netip.Prefix) []netip.Prefix {
	out := slices.Clone(b)
	slices.SortFunc(out, func(x, y netip.Prefix) int { return x.Addr().Compare(y.Addr()) })
	return out
}

// eventually polls cond until it holds or waitFor passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// addENI creates and attaches an ENI in the fake directly (as another
// actor, or an earlier run, would), with n secondary addresses and tags.
func (e *env) addENI(idx, n int, tags map[string]string) cloud.ENI {
	e.t.Helper()
	ctx := context.Background()
	inst := e.cloud.Instance()
	c, err := e.cloud.CreateENI(ctx, cloud.CreateENIRequest{SubnetID: inst.SubnetID, SecondaryIPs: n, Tags: tags})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.cloud.AttachENI(ctx, c.ID, inst.ID, idx, 0); err != nil {
		e.t.Fatal(err)
	}
	got, _ := e.cloud.ENI(c.ID)
	return got
}
