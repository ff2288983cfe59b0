package sim

import (
	"cmp"
	"maps"
	"math/rand/v2"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// Defaults of a World.
const (
	DefaultRegion    = "us-west-2"
	DefaultAccountID = "123456789012"
)

// WorldOptions configures a World.
type WorldOptions struct {
	Region    string // default us-west-2
	AccountID string // default 123456789012
	// AttachDelay is how long an attachment stays "attaching" (and
	// DetachDelay "detaching") before it settles.
	AttachDelay time.Duration
	DetachDelay time.Duration
	// IMDSLag is how long instance metadata lags the EC2 API: an attach, an
	// assign or an unassign shows in IMDSView only IMDSLag after it happened.
	IMDSLag time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Seed seeds address and id choice; 0 picks a random seed.
	Seed int64
}

// World is the emulated EC2 state of one account in one region. It is safe
// for concurrent use; everything it returns is a copy.
//
// Every exported method takes the one lock, first settles the attachments
// whose delay has run out (lazily, from the clock: there are no goroutines),
// then acts. An action either fully succeeds or changes nothing.
type World struct {
	mu          sync.Mutex
	region      string
	account     string
	attachDelay time.Duration
	detachDelay time.Duration
	imdsLag     time.Duration
	now         func() time.Time
	rng         *rand.Rand

	vpcs      map[string]*vpcRec
	subnets   map[string]*subnetRec
	instances map[string]*instRec
	enis      map[string]*eniRec
	// pending holds the ENIs whose attachment is attaching or detaching.
	pending map[string]*eniRec
	ids     map[string]bool // every id ever handed out
	macs    map[string]bool
	byIP    map[netip.Addr]string // running instance by primary address
	seq     int                   // launch counter
}

type vpcRec struct {
	VPC
	defaultSG string
}

type subnetRec struct {
	Subnet
	pool *addrPool
}

type instRec struct {
	Instance
	limits cloud.InstanceTypeLimits
	seq    int
	enis   map[string]bool // ENIs with an attachment to it, in any state
	imds   []imdsSnap      // metadata history, oldest first
}

type eniRec struct {
	ENI
	// settleAt is when a pending attach or detach completes.
	settleAt time.Time
	// attached is true from the moment an attach completes until its
	// detach completes: when instance metadata may list the ENI.
	attached bool
}

// NewWorld returns an empty world.
func NewWorld(opts WorldOptions) *World {
	w := &World{
		region:      cmp.Or(opts.Region, DefaultRegion),
		account:     cmp.Or(opts.AccountID, DefaultAccountID),
		attachDelay: max(opts.AttachDelay, 0),
		detachDelay: max(opts.DetachDelay, 0),
		imdsLag:     max(opts.IMDSLag, 0),
		now:         opts.Now,
		vpcs:        map[string]*vpcRec{},
		subnets:     map[string]*subnetRec{},
		instances:   map[string]*instRec{},
		enis:        map[string]*eniRec{},
		pending:     map[string]*eniRec{},
		ids:         map[string]bool{},
		macs:        map[string]bool{},
		byIP:        map[netip.Addr]string{},
	}
	if w.now == nil {
		w.now = time.Now
	}
	seed := uint64(opts.Seed)
	if seed == 0 {
		seed = rand.Uint64()
	}
	w.rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	return w
}

// lock takes the world's lock and settles pending attachments; the caller
// defers the returned unlock.
func (w *World) lock() func() {
	w.mu.Lock()
	w.settle()
	return w.mu.Unlock
}

// SetDelays changes the attach, detach and IMDS propagation delays. Pending
// attachments keep the delay they started with.
func (w *World) SetDelays(attach, detach, imdsLag time.Duration) {
	defer w.lock()()
	w.attachDelay, w.detachDelay, w.imdsLag = max(attach, 0), max(detach, 0), max(imdsLag, 0)
}

// Region returns the world's region.
func (w *World) Region() string { return w.region }

// AccountID returns the world's account id.
func (w *World) AccountID() string { return w.account }

// Snapshot returns the ground truth of every VPC, subnet, instance and ENI,
// each list sorted by id.
func (w *World) Snapshot() State {
	defer w.lock()()
	var s State
	for _, v := range sortedByID(w.vpcs) {
		s.VPCs = append(s.VPCs, copyVPC(v.VPC))
	}
	for _, sn := range sortedByID(w.subnets) {
		s.Subnets = append(s.Subnets, sn.view())
	}
	for _, in := range sortedByID(w.instances) {
		s.Instances = append(s.Instances, copyInstance(in.Instance))
	}
	for _, e := range sortedByID(w.enis) {
		s.ENIs = append(s.ENIs, copyENI(e.ENI))
	}
	return s
}

// InstanceByIP finds the running instance whose primary address is ip.
func (w *World) InstanceByIP(ip netip.Addr) (Instance, bool) {
	defer w.lock()()
	in, ok := w.instances[w.byIP[ip.Unmap()]]
	if !ok || in.State != stateRunning {
		return Instance{}, false
	}
	return copyInstance(in.Instance), true
}

// DefaultInstance is the instance IMDS answers for a caller that matches
// none: the first instance launched that is still running.
func (w *World) DefaultInstance() (Instance, bool) {
	defer w.lock()()
	var first *instRec
	for _, in := range w.instances {
		if in.State == stateRunning && (first == nil || in.seq < first.seq) {
			first = in
		}
	}
	if first == nil {
		return Instance{}, false
	}
	return copyInstance(first.Instance), true
}

// settle completes every pending attach and detach whose delay has run
// out, in the order they completed, so that metadata history stays ordered.
func (w *World) settle() {
	if len(w.pending) == 0 {
		return
	}
	now := w.now()
	var due []*eniRec
	for _, e := range w.pending {
		if !e.settleAt.After(now) {
			due = append(due, e)
		}
	}
	slices.SortFunc(due, func(a, b *eniRec) int {
		return cmp.Or(a.settleAt.Compare(b.settleAt), cmp.Compare(a.ID, b.ID))
	})
	for _, e := range due {
		delete(w.pending, e.ID)
		w.complete(e, e.settleAt)
	}
}

// complete finishes an ENI's pending attach or detach as of time at.
func (w *World) complete(e *eniRec, at time.Time) {
	a := e.Attachment
	if a == nil {
		return
	}
	in := w.instances[a.InstanceID]
	switch a.Status {
	case string(cloud.Attaching):
		a.Status = string(cloud.Attached)
		e.Status = cloud.ENIInUse
		e.attached = true
	case string(cloud.Detaching):
		e.Attachment = nil
		e.Status = cloud.ENIAvailable
		e.attached = false
		if in != nil {
			delete(in.enis, e.ID)
		}
	}
	if in != nil {
		w.recordIMDS(in, at)
	}
}

// view returns the subnet with its current AvailableIPs.
func (sn *subnetRec) view() Subnet {
	s := sn.Subnet
	s.Tags = slices.Clone(s.Tags)
	s.AvailableIPs = sn.pool.available()
	return s
}

func copyVPC(v VPC) VPC {
	v.CIDRs = slices.Clone(v.CIDRs)
	v.Tags = slices.Clone(v.Tags)
	return v
}

func copyInstance(in Instance) Instance {
	in.SecurityGroups = slices.Clone(in.SecurityGroups)
	in.Tags = slices.Clone(in.Tags)
	return in
}

func copyENI(e ENI) ENI {
	e.SecondaryIPs = slices.Clone(e.SecondaryIPs)
	e.Prefixes = slices.Clone(e.Prefixes)
	e.SecurityGroups = slices.Clone(e.SecurityGroups)
	e.Tags = slices.Clone(e.Tags)
	if e.Attachment != nil {
		a := *e.Attachment
		e.Attachment = &a
	}
	return e
}

// sortedByID returns a map's values ordered by key.
func sortedByID[V any](m map[string]V) []V {
	out := make([]V, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[k])
	}
	return out
}
