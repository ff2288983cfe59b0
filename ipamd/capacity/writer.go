package capacity

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/clock"
)

// Defaults of Options.
const (
	DefaultDebounce       = time.Second
	DefaultMinInterval    = 5 * time.Second
	DefaultFiguresEvery   = 30 * time.Second
	DefaultRetryMin       = time.Second
	DefaultRetryMax       = time.Minute
	DefaultRequestTimeout = 10 * time.Second
	DefaultResync         = 5 * time.Minute
)

// Log keys.
const (
	logKeyNode     = "node"
	logKeyErr      = "err"
	logKeyReason   = "reason"
	logKeyRetryIn  = "retryIn"
	logKeyFailures = "failures"
)

// logEvery: a failing write is logged at the first failure and every
// logEvery-th after it (about every 10 minutes at the longest backoff).
const logEvery = 10

// Options configure a Writer. Client and NodeName are required.
type Options struct {
	Client   kubernetes.Interface
	NodeName string
	// Clock is the clock; default the real one.
	Clock clock.Clock
	// Debounce is how long changes are collected after the first one
	// before a write.
	Debounce time.Duration
	// MinInterval is the least time between two writes (attempts), whatever
	// the churn.
	MinInterval time.Duration
	// FiguresEvery is the least time between two writes when only the
	// figures of PodIPsAvailable's message changed (pods come and go, the
	// condition and capacity stay): steady churn on a thousand nodes then
	// costs the API server a write per node every FiguresEvery, not every
	// MinInterval. A change of capacity, condition or reason waits only
	// MinInterval.
	FiguresEvery time.Duration
	// RetryMin and RetryMax bound the backoff after a failed write; it
	// doubles at each failure.
	RetryMin, RetryMax time.Duration
	// RequestTimeout bounds one write (GET, PATCH and Event).
	RequestTimeout time.Duration
	// Resync is how often the node is read back while nothing changes,
	// to restore what someone else overwrote (a re-registered Node); it
	// patches only if the node differs. Negative: never.
	Resync time.Duration
	// Log receives failures and recoveries; default discards.
	Log *slog.Logger
}

// Writer applies the latest State to the Node in the background: only when
// it differs from what was written, Debounce after the first change, at
// most once per MinInterval (FiguresEvery when only the figures changed),
// retrying a failing API server with backoff.
// Update never blocks; Run does the writing.
type Writer struct {
	o    Options
	kick chan struct{}

	mu        sync.Mutex
	latest    State
	has       bool      // latest was set
	written   State     // last state the node was brought to
	wrote     bool      // written is set
	changedAt time.Time // first change not written yet; zero if none
	lastTry   time.Time
	retryAt   time.Time
	failures  int
	event     *corev1.Event // due but not created yet
	writes    int
	drifted   bool // the node no longer shows what was written (Drifted)
}

// NewWriter returns a Writer; call Run to start it.
func NewWriter(o Options) (*Writer, error) {
	if o.Client == nil || o.NodeName == "" {
		return nil, fmt.Errorf("capacity writer: a client and a node name are needed")
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Debounce, DefaultDebounce)
	def(&o.MinInterval, DefaultMinInterval)
	def(&o.FiguresEvery, DefaultFiguresEvery)
	def(&o.RetryMin, DefaultRetryMin)
	def(&o.RetryMax, DefaultRetryMax)
	def(&o.RequestTimeout, DefaultRequestTimeout)
	if o.Resync == 0 {
		o.Resync = DefaultResync
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Writer{o: o, kick: make(chan struct{}, 1)}, nil
}

// Update sets the state to write; the last value wins. It never blocks.
func (w *Writer) Update(s State) {
	w.mu.Lock()
	w.latest, w.has = s, true
	if w.changedAt.IsZero() && (!w.wrote || s != w.written) {
		w.changedAt = w.o.Clock.Now()
	}
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Drifted takes the Node as the API server has it now (WatchNode calls it
// on every change): when it no longer shows the state written (kubelet,
// registering again after a restart, zeroes extended resources; someone
// edited the status), the state is written again as a change is, within
// MinInterval, not at the next resync.
func (w *Writer) Drifted(node *corev1.Node) {
	if node == nil || node.Name != w.o.NodeName {
		return
	}
	w.mu.Lock()
	if !w.wrote || w.drifted {
		w.mu.Unlock()
		return
	}
	patch, err := PatchFor(node, w.written, w.o.Clock.Now())
	if err != nil || patch == nil {
		w.mu.Unlock()
		return
	}
	w.drifted = true
	if w.changedAt.IsZero() {
		w.changedAt = w.o.Clock.Now()
	}
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// WatchNode watches the Node (a field selector on its name) until ctx
// ends and passes each version to Drifted. A watch that fails is retried
// by client-go in the background.
func (w *Writer) WatchNode(ctx context.Context) {
	f := informers.NewSharedInformerFactoryWithOptions(w.o.Client, 0, informers.WithTweakListOptions(
		func(lo *metav1.ListOptions) {
			lo.FieldSelector = fields.OneTermEqualSelector("metadata.name", w.o.NodeName).String()
		}))
	inf := f.Core().V1().Nodes().Informer()
	_, _ = inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { w.Drifted(asNode(obj)) },
		UpdateFunc: func(_, obj any) { w.Drifted(asNode(obj)) },
	})
	f.Start(ctx.Done())
	<-ctx.Done()
	f.Shutdown()
}

func asNode(obj any) *corev1.Node {
	n, _ := obj.(*corev1.Node)
	return n
}

// Writes is the number of successful Node status patches so far.
func (w *Writer) Writes() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}

// Run writes until ctx ends.
func (w *Writer) Run(ctx context.Context) {
	for {
		wait, pending := w.next(w.o.Clock.Now())
		if pending && wait <= 0 {
			w.attempt(ctx)
			continue
		}
		var timer clock.Timer
		var fire <-chan time.Time
		if pending {
			timer = w.o.Clock.NewTimer(wait)
			fire = timer.C()
		}
		select {
		case <-ctx.Done():
		case <-w.kick:
		case <-fire:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// next says whether there is something to write and how long until it is
// due.
func (w *Writer) next(now time.Time) (time.Duration, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.has {
		return 0, false
	}
	if w.wrote && w.latest == w.written && w.event == nil && !w.drifted {
		if w.o.Resync < 0 {
			return 0, false
		}
		return w.lastTry.Add(w.o.Resync).Sub(now), true
	}
	due := w.changedAt.Add(w.o.Debounce)
	if !w.lastTry.IsZero() {
		gap := w.o.MinInterval
		if w.wrote && w.event == nil && !w.drifted && figuresOnly(w.latest, w.written) {
			gap = max(gap, w.o.FiguresEvery)
		}
		due = later(due, w.lastTry.Add(gap))
	}
	due = later(due, w.retryAt)
	return due.Sub(now), true
}

// figuresOnly says whether a and b differ at most in the message, whose
// figures change with every pod.
func figuresOnly(a, b State) bool {
	a.Message = b.Message
	return a == b
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// attempt writes the latest state once and records the outcome.
func (w *Writer) attempt(ctx context.Context) {
	w.mu.Lock()
	s := w.latest
	w.lastTry = w.o.Clock.Now()
	w.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, w.o.RequestTimeout)
	defer cancel()
	err := w.sync(rctx, s)
	if ctx.Err() != nil {
		return // stopping: not a failure
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.o.Clock.Now()
	if err != nil {
		w.failures++
		d := min(w.o.RetryMin<<min(w.failures-1, 20), w.o.RetryMax)
		w.retryAt = now.Add(d)
		if w.failures%logEvery == 1 {
			w.o.Log.Warn("node status write failed; retrying in the background",
				logKeyNode, w.o.NodeName, logKeyErr, err.Error(), logKeyRetryIn, d.String(), logKeyFailures, w.failures)
		}
		return
	}
	if w.failures > 0 {
		w.o.Log.Info("node status written after failures", logKeyNode, w.o.NodeName)
	}
	w.failures, w.retryAt = 0, time.Time{}
	w.written, w.wrote, w.drifted = s, true, false
	w.changedAt = time.Time{}
	if w.latest != s {
		w.changedAt = now
	}
}

// sync brings the node to s: reads it, patches its status if it differs,
// and creates the Event due, if any.
func (w *Writer) sync(ctx context.Context, s State) error {
	nodes := w.o.Client.CoreV1().Nodes()
	node, err := nodes.Get(ctx, w.o.NodeName, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get node %s: %w", w.o.NodeName, err)
	}
	now := w.o.Clock.Now()
	prev := ""
	if c := Condition(node, ConditionPodIPsAvailable); c != nil {
		prev = c.Reason
	}
	patch, err := PatchFor(node, s, now)
	if err != nil {
		return err
	}
	if patch != nil {
		_, err = nodes.Patch(ctx, w.o.NodeName, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		if err != nil {
			return fmt.Errorf("patch node %s status: %w", w.o.NodeName, err)
		}
		w.mu.Lock()
		w.writes++
		if EventDue(prev, s) {
			w.event = EventFor(node, s, now)
		}
		w.mu.Unlock()
	}
	return w.createEvent(ctx)
}

// createEvent creates the Event due, if any; one that fails stays due.
func (w *Writer) createEvent(ctx context.Context) error {
	w.mu.Lock()
	ev := w.event
	w.mu.Unlock()
	if ev == nil {
		return nil
	}
	_, err := w.o.Client.CoreV1().Events(ev.Namespace).Create(ctx, ev, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) { // a retry of one that got through
		return fmt.Errorf("create event %s on node %s: %w", ev.Reason, w.o.NodeName, err)
	}
	w.mu.Lock()
	if w.event == ev {
		w.event = nil
	}
	w.mu.Unlock()
	w.o.Log.Info("node event", logKeyNode, w.o.NodeName, logKeyReason, ev.Reason)
	return nil
}
