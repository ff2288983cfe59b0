package podgc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listersv1 "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// DefaultInterval is how often the collector looks.
const DefaultInterval = time.Minute

// ErrInUse is what a Store's Release wraps when the pod, gone from the API
// server, still holds its address on the node (its sandbox still runs): the
// allocation is kept and tried again at each pass.
var ErrInUse = errors.New("the address is still in use on the node")

// Store is what the collector needs of ipamd: its allocations, and their
// release (into cooldown, as a DEL does).
type Store interface {
	Allocations() []datastore.Allocation
	Release(ctx context.Context, key datastore.Key) error
}

// Options configure a Collector.
type Options struct {
	// Node is the Kubernetes node's name (MY_NODE_NAME): only its pods
	// are watched.
	Node string
	// Grace (default DefaultGrace) and Interval (default
	// DefaultInterval); Now is the clock (default time.Now).
	Grace    time.Duration
	Interval time.Duration
	Now      func() time.Time
	Log      *slog.Logger
}

// Collector releases the allocations of pods that are gone.
type Collector struct {
	opts    Options
	store   Store
	factory informers.SharedInformerFactory
	pods    listersv1.PodLister
	synced  cache.InformerSynced

	mu      sync.Mutex
	missing map[datastore.Key]time.Time
	inUse   map[datastore.Key]bool // logged as still in use
}

// Log keys.
const (
	keyContainer = "container"
	keyPod       = "pod"
	keyIP        = "ip"
	keyError     = "error"
)

// New watches the node's pods through client.
func New(client kubernetes.Interface, store Store, o Options) *Collector {
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	f := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(
		func(lo *metav1.ListOptions) {
			lo.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", o.Node).String()
		}))
	inf := f.Core().V1().Pods()
	return &Collector{opts: o, store: store, factory: f, pods: inf.Lister(), synced: inf.Informer().HasSynced,
		missing: map[datastore.Key]time.Time{}, inUse: map[datastore.Key]bool{}}
}

// Run watches until ctx ends, passing every Interval once the watch has
// synced. An API server that cannot be reached is retried by the informer;
// nothing is released meanwhile.
func (c *Collector) Run(ctx context.Context) error {
	c.factory.Start(ctx.Done())
	defer c.factory.Shutdown()
	t := time.NewTicker(c.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			c.Pass(ctx)
		}
	}
}

// Start starts the watch without passing (for callers that drive Pass).
func (c *Collector) Start(ctx context.Context) { c.factory.Start(ctx.Done()) }

// Synced says whether the watch has listed the node's pods.
func (c *Collector) Synced() bool { return c.synced() }

// Pass releases what Decide says is gone, and returns how many. Nothing
// happens before the watch has synced: an empty cache is not "no pods".
func (c *Collector) Pass(ctx context.Context) int {
	if !c.synced() {
		return 0
	}
	live, err := c.live()
	if err != nil {
		c.opts.Log.Warn("pod GC: cannot list the node's pods", keyError, err.Error())
		return 0
	}
	allocs := c.store.Allocations()
	c.mu.Lock()
	release, next := Decide(allocs, live, c.missing, c.opts.Now(), c.opts.Grace)
	c.missing = next
	c.mu.Unlock()
	byKey := make(map[datastore.Key]datastore.Allocation, len(allocs))
	for _, a := range allocs {
		byKey[a.Key] = a
	}
	n := 0
	for _, k := range release {
		a := byKey[k]
		err := c.store.Release(ctx, k)
		if err == nil {
			n++
			c.opts.Log.Warn("pod GC: released the address of a pod that is gone (its DEL never reached ipamd)",
				keyContainer, k.ContainerID, keyPod, a.Pod.Namespace+"/"+a.Pod.Name, keyIP, a.IP.String())
			continue
		}
		c.retry(k, a, err)
	}
	c.forget(allocs)
	return n
}

// retry keeps an allocation whose release failed due at the next pass,
// logging an address still in use once and other failures each time.
func (c *Collector) retry(k datastore.Key, a datastore.Allocation, err error) {
	c.mu.Lock()
	c.missing[k] = c.opts.Now().Add(-c.opts.Grace)
	logged := c.inUse[k]
	inUse := errors.Is(err, ErrInUse)
	if inUse {
		c.inUse[k] = true
	}
	c.mu.Unlock()
	switch {
	case inUse && !logged:
		c.opts.Log.Warn("pod GC: a pod gone from the API server still holds its address on the node; kept",
			keyContainer, k.ContainerID, keyPod, a.Pod.Namespace+"/"+a.Pod.Name, keyIP, a.IP.String(), keyError, err.Error())
	case !inUse:
		c.opts.Log.Error("pod GC: release failed; retried at the next pass", keyContainer, k.ContainerID,
			keyPod, a.Pod.Namespace+"/"+a.Pod.Name, keyError, err.Error())
	}
}

// forget drops the in-use marks of allocations that are gone.
func (c *Collector) forget(allocs []datastore.Allocation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.inUse) == 0 {
		return
	}
	have := make(map[datastore.Key]bool, len(allocs))
	for _, a := range allocs {
		have[a.Key] = true
	}
	for k := range c.inUse {
		if !have[k] {
			delete(c.inUse, k)
		}
	}
}

// live is the node's running pods: those that ended (Succeeded, Failed)
// hold no address any more.
func (c *Collector) live() (Live, error) {
	pods, err := c.pods.List(labels.Everything())
	if err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	live := Live{}
	for _, p := range pods {
		if p.Spec.NodeName != c.opts.Node || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		live.Add(PodRef{Namespace: p.Namespace, Name: p.Name, UID: string(p.UID)})
	}
	return live, nil
}
