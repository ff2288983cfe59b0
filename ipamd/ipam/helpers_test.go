package ipam

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// forever stands for "no deadline in this test": waits end by an event.
const forever = time.Hour

// clock is an injectable clock for the datastore's cooldowns.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakePool is a pool manager: it counts wakes, runs onWake once at the
// first wake after it was set (in its own goroutine, as the real manager's
// pass would run) and reports a configurable block.
type fakePool struct {
	mu        sync.Mutex
	wakes     int
	onWake    func()
	cause     string
	permanent bool
	class     string
	woken     chan struct{} // closed at the first wake
}

func newFakePool() *fakePool { return &fakePool{woken: make(chan struct{})} }

func (p *fakePool) Wake() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wakes++
	if p.wakes == 1 {
		close(p.woken)
	}
	if fn := p.onWake; fn != nil {
		p.onWake = nil // once: at the first wake after it was set
		go fn()
	}
}

func (p *fakePool) Blocked() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cause, p.permanent
}

func (p *fakePool) block(cause string, permanent bool) {
	p.mu.Lock()
	p.cause, p.permanent = cause, permanent
	p.mu.Unlock()
}

// BlockedClass makes fakePool a BlockedClasser.
func (p *fakePool) BlockedClass() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.class
}

func (p *fakePool) setClass(class string) {
	p.mu.Lock()
	p.class = class
	p.mu.Unlock()
}

// unclassedPool is a Pool that does not tell the class of its cause.
type unclassedPool struct{ p *fakePool }

func (u unclassedPool) Wake()                   { u.p.Wake() }
func (u unclassedPool) Blocked() (string, bool) { return u.p.Blocked() }

func (p *fakePool) wakeCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.wakes
}

// observer records what the service reports.
type observer struct {
	mu       sync.Mutex
	failures []Failure
}

func (o *observer) AddNetwork(_ time.Duration, f Failure) {
	o.mu.Lock()
	o.failures = append(o.failures, f)
	o.mu.Unlock()
}

func (o *observer) got() []Failure {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Failure(nil), o.failures...)
}

var subnet = netip.MustParsePrefix("198.18.0.0/20")

// primaryENI is the primary ENI of the test subnet with /32 blocks
// 198.18.0.10, .11, ... (n of them).
func primaryENI(n int) datastore.ENI {
	e := datastore.ENI{ID: "eni-p", MAC: "02:00:00:00:00:01", Primary: true,
		SubnetID: "subnet-1", SubnetCIDR: subnet, PrimaryIP: netip.MustParseAddr("198.18.0.5")}
	for i := range n {
		e.Blocks = append(e.Blocks, netip.PrefixFrom(netip.AddrFrom4([4]byte{198, 18, 0, byte(10 + i)}), 32))
	}
	return e
}

// secondaryENI is an ENI at device index 1 without blocks.
func secondaryENI() datastore.ENI {
	return datastore.ENI{ID: "eni-s", MAC: "02:00:00:00:00:02", DeviceIndex: 1,
		SubnetID: "subnet-1", SubnetCIDR: subnet, PrimaryIP: netip.MustParseAddr("198.18.0.6")}
}

type fixture struct {
	store *datastore.Store
	pool  *fakePool
	svc   *Service
	clock *clock
	obs   *observer
}

// setup is a ready service over an in-memory store with the primary ENI
// carrying n addresses, a 30s cooldown on an injected clock, and opts.
func setup(t *testing.T, n int, opts Options) *fixture {
	t.Helper()
	return setupStore(t, n, opts, datastore.Options{Cooldown: 30 * time.Second})
}

func setupStore(t *testing.T, n int, opts Options, so datastore.Options) *fixture {
	t.Helper()
	f := &fixture{pool: newFakePool(), clock: newClock(), obs: &observer{}}
	so.Now = f.clock.Now
	f.store = datastore.New(so)
	if _, err := f.store.Load(); err != nil {
		t.Fatalf("Load: %v", err)
	}
	if err := f.store.AddENI(primaryENI(n)); err != nil {
		t.Fatalf("AddENI: %v", err)
	}
	if opts.AddWait == 0 {
		opts.AddWait = forever
	}
	opts.Observer = f.obs
	f.svc = New(f.store, f.pool, opts)
	f.svc.SetReady()
	return f
}

// failingWrites is a checkpoint writer that fails once failing is set.
type failingWrites struct {
	mu      sync.Mutex
	failing bool
}

var errDisk = errors.New("disk full")

func (w *failingWrites) write(path string, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.failing {
		return errDisk
	}
	return nil
}

func (w *failingWrites) fail() {
	w.mu.Lock()
	w.failing = true
	w.mu.Unlock()
}

func checkpointPath(t *testing.T) string { return filepath.Join(t.TempDir(), "ipam.json") }

func key(n int) datastore.Key {
	return datastore.Key{ContainerID: fmt.Sprintf("c%04d", n), IfName: "eth0"}
}

func pod(n int) datastore.Pod {
	return datastore.Pod{Namespace: "default", Name: fmt.Sprintf("pod-%d", n)}
}

// result is the outcome of an Add run in a goroutine.
type result struct {
	res AddResult
	err error
}
