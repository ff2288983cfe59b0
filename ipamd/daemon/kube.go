package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/vpc-cni/vpc-cni/ipamd/capacity"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/podgc"
)

// What ipamd does with Kubernetes (Deps.Kubernetes): it reports the node's
// pod address capacity and its pool's health to the Node (ipamd/capacity)
// and releases the addresses of pods that are gone from the API server
// (ipamd/podgc). Both run in the background once ipamd serves: an API
// server that cannot be reached is retried and never holds back an ADD.

// ErrNoNodeName: a Kubernetes client without MY_NODE_NAME. Run refuses to
// start with it; main checks before it builds anything.
var ErrNoNodeName = errors.New("a Kubernetes client configuration was found (KUBECONFIG or in-cluster) but " +
	"MY_NODE_NAME is unset: ipamd needs its Node's name to report capacity and watch its pods " +
	"(the chart sets it from spec.nodeName)")

// startKubernetes runs, in g, the capacity writer, its following of the
// pool and its watch of the Node (to restore what kubelet or someone else
// overwrote), and the pod GC, when the daemon has a Kubernetes client.
func (d *daemon) startKubernetes(ctx context.Context, g *group) error {
	client := d.deps.Kubernetes
	if client == nil {
		return nil
	}
	w, err := capacity.NewWriter(capacity.Options{
		Client: client, NodeName: d.cfg.NodeName, Log: d.log.With(logKeyComponent, "capacity"),
	})
	if err != nil {
		return fmt.Errorf("node capacity reporting: %w", err)
	}
	read := func() capacity.Pool {
		cause, class, permanent := d.mgr.BlockedState()
		return capacity.FromStats(d.svc.Status(ctx).Ready, d.store.Stats(), cause, class, permanent)
	}
	gc := podgc.New(client, gcStore{d}, podgc.Options{
		Node: d.cfg.NodeName, Grace: d.tune.PodGCGrace, Interval: d.tune.PodGCInterval, Now: d.now,
		Log: d.log.With(logKeyComponent, "podgc"),
	})
	g.run(func() error { w.Run(ctx); return nil })
	g.run(func() error { w.WatchNode(ctx); return nil })
	g.run(func() error { w.Follow(ctx, d.podIPs, read, 0); return nil })
	g.run(func() error { return gc.Run(ctx) })
	d.log.Info("reporting to the Kubernetes node and collecting the addresses of deleted pods",
		logKeyNode, d.cfg.NodeName, logKeyPodIPs, d.podIPs, logKeyGrace, d.tune.PodGCGrace.String())
	return nil
}

// gcStore is the pod GC's view of ipamd: a release is a DEL (into
// cooldown, the pool woken), refused while the pod's host veth still
// exists: the API server may have forgotten a pod (a forced delete) whose
// sandbox still runs, and its address must not go to another pod.
type gcStore struct{ d *daemon }

func (s gcStore) Allocations() []datastore.Allocation { return s.d.store.Allocations() }

func (s gcStore) Release(ctx context.Context, key datastore.Key) error {
	a, ok := s.d.store.Get(key)
	if !ok {
		return nil // released meanwhile
	}
	if a.Pod.HostIfName != "" {
		exists, err := s.d.deps.Host.LinkExists(ctx, a.Pod.HostIfName)
		if err != nil {
			return fmt.Errorf("check the pod's veth %s: %w", a.Pod.HostIfName, err)
		}
		if exists {
			return fmt.Errorf("%w: its veth %s still exists", podgc.ErrInUse, a.Pod.HostIfName)
		}
	}
	if _, _, err := s.d.svc.Del(ctx, key); err != nil {
		return fmt.Errorf("release: %w", err)
	}
	return nil
}
