// Package podgc is the safety net behind CNI GC, for runtimes that never
// call it: ipamd watches the pods of its node and, after a grace period,
// releases the allocations whose pod no longer exists. The decision is a
// pure function (Decide); Collector runs it over a pod informer.
package podgc

import (
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
)

// DefaultGrace is how long an allocation's pod must have been missing, and
// how old the allocation must be, before it is released: it covers an ADD
// that comes before the pod reaches the watch, and the watch's lag.
const DefaultGrace = 5 * time.Minute

// PodRef names a pod as allocations record it.
type PodRef struct {
	Namespace, Name, UID string
}

// Live is the set of pods the node runs now, by namespace and name, with
// their UIDs.
type Live map[[2]string]string

// Add records a live pod.
func (l Live) Add(p PodRef) { l[[2]string{p.Namespace, p.Name}] = p.UID }

// holds says whether the allocation's pod is live: a pod of that namespace
// and name exists and, when the allocation recorded a UID, has that UID (a
// pod deleted and made again under its name is another pod).
func (l Live) holds(p datastore.Pod) bool {
	uid, ok := l[[2]string{p.Namespace, p.Name}]
	return ok && (p.UID == "" || uid == "" || uid == p.UID)
}

// Decide returns the allocations to release now, and the updated record of
// when each allocation's pod was first seen missing. An allocation without
// a pod name (a runtime that is not Kubernetes) is never released; one
// whose pod is live is forgotten from missing; one whose pod has been
// missing for grace, and that is older than grace, is released.
func Decide(allocs []datastore.Allocation, live Live, missing map[datastore.Key]time.Time, now time.Time,
	grace time.Duration,
) (release []datastore.Key, next map[datastore.Key]time.Time) {
	next = make(map[datastore.Key]time.Time)
	for _, a := range allocs {
		if a.Pod.Name == "" || live.holds(a.Pod) {
			continue
		}
		since, ok := missing[a.Key]
		if !ok {
			since = now
		}
		if now.Sub(since) >= grace && now.Sub(a.AssignedAt) >= grace {
			release = append(release, a.Key)
			continue
		}
		next[a.Key] = since
	}
	return release, next
}
