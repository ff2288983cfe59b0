package ipam

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// Defaults of Options.
const (
	DefaultAddWait = 10 * time.Second
	DefaultPoll    = 200 * time.Millisecond
)

// deadlineMargin is kept between the end of an ADD's wait and its caller's
// deadline, so that the caller gets the cause rather than its own timeout.
const deadlineMargin = 200 * time.Millisecond

// Pool is the pool manager as the service sees it (manager.Manager).
type Pool interface {
	// Wake asks for a pass now; it never blocks.
	Wake()
	// Blocked says why the pool cannot grow now, empty when it can or is
	// growing; permanent when only a change of configuration or capacity
	// can help.
	Blocked() (cause string, permanent bool)
}

// BlockedClasser is an optional interface of a Pool (manager.Manager): the
// class of what Blocked reports, a short word from a fixed set
// (subnet-exhausted, eni-limit, max-pods, throttled, ...) that can label a
// metric; empty when the pool is not blocked.
type BlockedClasser interface {
	BlockedClass() string
}

// BlockedStater is an optional interface of a Pool (manager.Manager): what
// Blocked and BlockedClasser tell, read at once, so that the cause, its
// class and its permanence cannot disagree (the pool's state may change
// between two reads). The service prefers it to the two.
type BlockedStater interface {
	BlockedState() (cause, class string, permanent bool)
}

// Options configure a Service.
type Options struct {
	// Node is what every ADD result carries (SetNode replaces it).
	Node NodeInfo
	// AddWait bounds how long an ADD waits for the pool to grow
	// (VPC_CNI_ADD_WAIT); default DefaultAddWait.
	AddWait time.Duration
	// Poll is how often a waiting ADD retries besides the datastore's
	// change signal (a cooldown ends without one); default DefaultPoll.
	Poll time.Duration
	// Observer, if set, is told every ADD's latency and outcome.
	Observer Observer
}

// Service is the Backend over the datastore and the pool manager. It
// refuses every call until SetReady. Safe for concurrent use.
type Service struct {
	store *datastore.Store
	pool  Pool
	opts  Options
	node  atomic.Pointer[NodeInfo]
	ready atomic.Bool
}

var _ Backend = (*Service)(nil)

// New returns a service over store and pool, not ready yet. A nil pool is
// never woken and never blocked.
func New(store *datastore.Store, pool Pool, o Options) *Service {
	if o.AddWait <= 0 {
		o.AddWait = DefaultAddWait
	}
	if o.Poll <= 0 {
		o.Poll = DefaultPoll
	}
	if pool == nil {
		pool = noPool{}
	}
	s := &Service{store: store, pool: pool, opts: o}
	s.SetNode(o.Node)
	return s
}

// SetReady opens the service: the daemon calls it once the datastore is
// restored and reconciled with the cloud and the host.
func (s *Service) SetReady() { s.ready.Store(true) }

// SetNode replaces the node facts ADD results carry (the VPC's CIDRs can
// grow).
func (s *Service) SetNode(n NodeInfo) {
	n.VPCCIDRs = slices.Clone(n.VPCCIDRs)
	s.node.Store(&n)
}

func (s *Service) nodeInfo() NodeInfo {
	n := *s.node.Load()
	n.VPCCIDRs = slices.Clone(n.VPCCIDRs)
	return n
}

// Add assigns the key an address, waiting up to AddWait for the pool to
// grow when it is empty.
func (s *Service) Add(ctx context.Context, key datastore.Key, pod datastore.Pod) (AddResult, error) {
	start := time.Now()
	a, err := s.add(ctx, key, pod)
	if s.opts.Observer != nil {
		s.opts.Observer.AddNetwork(time.Since(start), FailureOf(err))
	}
	if err != nil {
		return AddResult{}, err
	}
	// An address left the pool: let the manager refill it now rather
	// than at its next periodic pass, so the next pod finds it warm.
	s.pool.Wake()
	return AddResult{Allocation: a, Node: s.nodeInfo()}, nil
}

func (s *Service) add(ctx context.Context, key datastore.Key, pod datastore.Pod) (datastore.Allocation, error) {
	if err := s.admit(key); err != nil {
		return datastore.Allocation{}, err
	}
	if err := ctx.Err(); err != nil {
		return datastore.Allocation{}, fmt.Errorf("assign: %w", err)
	}
	// Take the change signal before trying, so that a change between a
	// failed try and the wait is not missed.
	changed := s.store.Changed()
	a, err := s.store.Assign(key, pod)
	if !errors.Is(err, datastore.ErrNoAddress) {
		return a, wrapAssign(err)
	}
	s.pool.Wake()
	return s.wait(ctx, key, pod, changed)
}

// wait retries the assignment whenever the datastore changes or the poll
// timer fires, until it succeeds, the wait ends or ctx does.
func (s *Service) wait(ctx context.Context, key datastore.Key, pod datastore.Pod, changed <-chan struct{}) (datastore.Allocation, error) {
	wait := s.waitFor(ctx)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	poll := time.NewTicker(s.opts.Poll)
	defer poll.Stop()
	for {
		expired, grew := false, false
		select {
		case <-changed:
			grew = true
		case <-poll.C:
		case <-deadline.C:
			expired = true // one last try
		case <-ctx.Done():
			return datastore.Allocation{}, fmt.Errorf("wait for an address: %w", ctx.Err())
		}
		changed = s.store.Changed()
		a, err := s.store.Assign(key, pod)
		if !errors.Is(err, datastore.ErrNoAddress) {
			return a, wrapAssign(err)
		}
		if expired || s.hopeless() {
			return datastore.Allocation{}, s.exhausted(wait)
		}
		if grew {
			// The pool grew, but others took what came: it is short
			// again, ask for another pass rather than wait for the
			// periodic one.
			s.pool.Wake()
		}
	}
}

// hopeless says whether waiting cannot give an address: the pool is held
// at a limit only configuration or capacity lifts (ENIs, MAX_ENI, max
// pods, the addresses per ENI) and no released address is cooling down,
// so none can come free within the wait. The ADD then fails at once, and
// the runtime's retry (or the scheduler) acts sooner than after AddWait.
func (s *Service) hopeless() bool {
	_, _, permanent := s.blocked()
	return permanent && s.store.Stats().Cooling == 0
}

// waitFor is how long an ADD may wait: AddWait, ended early enough to
// answer before the caller's deadline.
func (s *Service) waitFor(ctx context.Context) time.Duration {
	wait := s.opts.AddWait
	if dl, ok := ctx.Deadline(); ok {
		wait = min(wait, max(time.Until(dl)-deadlineMargin, 0))
	}
	return wait
}

// exhausted is the error of an ADD that waited in vain, with the pool
// manager's account of why.
func (s *Service) exhausted(waited time.Duration) error {
	cause, class, permanent := s.blocked()
	if cause == "" {
		cause = fmt.Sprintf("the pool is growing; no address became available within %s",
			waited.Round(time.Millisecond))
		return &ExhaustedError{Cause: cause}
	}
	return &ExhaustedError{Cause: cause, Permanent: permanent, Class: class}
}

// blocked is the pool's account of why it cannot grow: from one read
// (BlockedStater) when the pool offers it, else from Blocked and, if the
// pool tells it, BlockedClass.
func (s *Service) blocked() (cause, class string, permanent bool) {
	if p, ok := s.pool.(BlockedStater); ok {
		return p.BlockedState()
	}
	cause, permanent = s.pool.Blocked()
	if c, ok := s.pool.(BlockedClasser); ok && cause != "" {
		class = c.BlockedClass()
	}
	return cause, class, permanent
}

func wrapAssign(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("assign: %w", err)
}

// admit refuses a malformed key, and every call before SetReady.
func (s *Service) admit(key datastore.Key) error {
	switch {
	case key.ContainerID == "":
		return fmt.Errorf("%w: the container id is empty", ErrInvalid)
	case key.IfName == "":
		return fmt.Errorf("%w: the interface name is empty", ErrInvalid)
	case !s.ready.Load():
		return ErrNotReady
	}
	return nil
}

// Del releases the key's address into cooldown.
func (s *Service) Del(_ context.Context, key datastore.Key) (datastore.Allocation, bool, error) {
	if err := s.admit(key); err != nil {
		return datastore.Allocation{}, false, err
	}
	a, found, err := s.store.Release(key)
	if err != nil {
		return datastore.Allocation{}, false, fmt.Errorf("release: %w", err)
	}
	if found {
		s.pool.Wake() // the pool may now hold more than its target
	}
	return a, found, nil
}

// Check returns the key's allocation if ipamd still holds it.
func (s *Service) Check(_ context.Context, key datastore.Key) (datastore.Allocation, bool, error) {
	if err := s.admit(key); err != nil {
		return datastore.Allocation{}, false, err
	}
	a, found := s.store.Get(key)
	return a, found, nil
}

// GC releases every allocation whose key is not in valid, with one
// checkpoint write.
func (s *Service) GC(ctx context.Context, valid []datastore.Key) ([]datastore.Allocation, error) {
	if !s.ready.Load() {
		return nil, ErrNotReady
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("garbage collect: %w", err)
	}
	keep := make(map[datastore.Key]struct{}, len(valid))
	for _, k := range valid {
		keep[k] = struct{}{}
	}
	released, err := s.store.ReleaseWhere(func(a datastore.Allocation) bool {
		_, ok := keep[a.Key]
		return !ok
	})
	if err != nil {
		return nil, fmt.Errorf("garbage collect: %w", err)
	}
	if len(released) > 0 {
		s.pool.Wake()
	}
	return released, nil
}

// Reason of a service not ready yet.
const reasonStarting = "ipamd is starting: restoring and reconciling its state"

// Status reports whether an ADD can succeed now: an address is available,
// or the pool is growing. With nothing available and the pool unable to
// grow, for now (a full subnet, EC2 throttling) or until something changes
// (a limit), it is not ready and the reason is the pool manager's cause: an
// ADD would only wait and fail. It asks nothing of the cloud.
func (s *Service) Status(_ context.Context) Status {
	if !s.ready.Load() {
		return Status{Reason: reasonStarting}
	}
	st := s.store.Stats()
	if st.Available > 0 {
		return Status{Ready: true, Available: st.Available}
	}
	cause, _ := s.pool.Blocked()
	if cause == "" {
		return Status{Ready: true} // growing
	}
	if st.Cooling > 0 {
		cause = fmt.Sprintf("%s (%d released addresses are cooling down)", cause, st.Cooling)
	}
	return Status{Reason: cause}
}

// noPool stands in for a nil Pool.
type noPool struct{}

func (noPool) Wake()                   {}
func (noPool) Blocked() (string, bool) { return "", false }
