// Package fake is a stateful, in-memory fake of the cloud boundary for unit
// tests: one instance with its primary ENI in a VPC, and EC2's ENI semantics
// in miniature (instance-type ENI and address limits, subnet exhaustion,
// aligned /28 prefixes on Nitro types only, the attach/detach/delete
// lifecycle with its attaching and detaching states, tags, filters), with
// per-operation fault and latency injection (a fault can strike before the
// call takes effect, or after it, as when an answer is lost) and instance
// metadata that lags the API like IMDS does.
//
// *Cloud implements cloud.ENIAPI; its Metadata view (*IMDS) implements
// cloud.Metadata over the same state. Errors are *cloud.APIError with the
// EC2 error code, so they unwrap to the sentinel kinds exactly as the real
// client's do; arguments the real client rejects before calling EC2 (an
// empty id, a count below 1) fail here the same way, with an error that
// wraps cloud.ErrInvalidParameter and is no *cloud.APIError. The fake has no
// Reset: build a new one per test.
package fake

import (
	"cmp"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// Defaults of Options.
const (
	DefaultInstanceType  = "m5.large"
	DefaultInstanceID    = "i-0f00dfeedbeef0001"
	DefaultRegion        = "us-west-2"
	DefaultAZ            = "us-west-2a"
	DefaultSecurityGroup = "sg-0f00dfeedbeef0001"
)

// Default address plan: the VPC and the primary ENI's subnet.
var (
	DefaultVPCCIDR    = netip.MustParsePrefix("198.18.0.0/16")
	DefaultSubnetCIDR = netip.MustParsePrefix("198.18.0.0/20")
)

// Options shape the fake instance. Zero fields take the defaults above.
type Options struct {
	InstanceType string
	// Limits, when set, replaces the built-in limits of InstanceType (a
	// test can make a tiny instance, e.g. 2 ENIs of 3 addresses). Its Type
	// defaults to InstanceType.
	Limits         *cloud.InstanceTypeLimits
	InstanceID     string // i- and 1 to 17 lowercase hex digits, as EC2's
	Region         string
	AZ             string
	VPCCIDRs       []netip.Prefix // the first is the primary CIDR block
	SubnetCIDR     netip.Prefix   // the primary ENI's subnet
	SecurityGroups []string
	// Now is the clock that metadata lag and attach and detach delays are
	// measured with; time.Now by default. See Clock for a manual one.
	Now func() time.Time
	// AttachDelay is how long an attachment stays "attaching" and
	// DetachDelay how long it stays "detaching" (see SetAttachDelay). Both
	// default to 0, which completes them within the call; on EC2 they take
	// seconds, during which the ENI cannot be deleted. Tests of release and
	// cleanup paths should set both, with a manual clock, so that code which
	// deletes an ENI right after detaching it fails here as it would on EC2.
	AttachDelay time.Duration
	DetachDelay time.Duration
}

// Cloud is the fake EC2 API over one instance and its VPC. It is safe for
// concurrent use.
type Cloud struct {
	mu     sync.Mutex
	now    func() time.Time
	inst   cloud.Instance
	limits cloud.InstanceTypeLimits
	vpcID  string

	subnets     map[string]*pool
	enis        map[string]*cloud.ENI
	attachments map[string]string // attachment id -> ENI id
	seq         uint64            // id and MAC generator
	requests    uint64            // request id generator

	faults  map[Op]*fault // fail before the call takes effect
	after   map[Op]*fault // fail after it took effect: the answer is lost
	latency map[Op]time.Duration
	calls   map[Op]int

	attachDelay, detachDelay time.Duration
	pending                  map[string]time.Time // ENI id -> when its attach or detach completes
	live                     map[string]bool      // ENIs attached, not yet detached: what metadata may list

	lag   time.Duration
	views []view // metadata snapshots, oldest first
}

var _ cloud.ENIAPI = (*Cloud)(nil)

// New builds a fake instance with its primary ENI (device index 0, card 0)
// holding the lowest free address of its subnet.
func New(opts Options) (*Cloud, error) {
	opts = withDefaults(opts)
	if !wellFormed("i-", opts.InstanceID) {
		return nil, fmt.Errorf("fake: instance id %q: want i- and 1 to 17 lowercase hex digits, as EC2's", opts.InstanceID)
	}
	limits, err := resolveLimits(opts)
	if err != nil {
		return nil, err
	}
	c := &Cloud{
		now: opts.Now, limits: limits,
		subnets: map[string]*pool{}, enis: map[string]*cloud.ENI{}, attachments: map[string]string{},
		faults: map[Op]*fault{}, after: map[Op]*fault{}, latency: map[Op]time.Duration{}, calls: map[Op]int{},
		attachDelay: max(opts.AttachDelay, 0), detachDelay: max(opts.DetachDelay, 0),
		pending: map[string]time.Time{}, live: map[string]bool{},
	}
	c.vpcID = c.newID("vpc")
	c.inst = cloud.Instance{
		ID: opts.InstanceID, Type: limits.Type, Region: opts.Region, AZ: opts.AZ,
		VPCID: c.vpcID, VPCCIDRs: slices.Clone(opts.VPCCIDRs), SecurityGroups: slices.Clone(opts.SecurityGroups),
	}
	sub, err := c.addSubnetLocked(opts.SubnetCIDR, nil)
	if err != nil {
		return nil, err
	}
	if err := c.createPrimary(sub); err != nil {
		return nil, err
	}
	c.recordLocked()
	return c, nil
}

func withDefaults(o Options) Options {
	o.InstanceType = cmp.Or(o.InstanceType, DefaultInstanceType)
	o.InstanceID = cmp.Or(o.InstanceID, DefaultInstanceID)
	o.Region = cmp.Or(o.Region, DefaultRegion)
	o.AZ = cmp.Or(o.AZ, DefaultAZ)
	if len(o.VPCCIDRs) == 0 {
		o.VPCCIDRs = []netip.Prefix{DefaultVPCCIDR}
	}
	if !o.SubnetCIDR.IsValid() {
		o.SubnetCIDR = DefaultSubnetCIDR
	}
	if len(o.SecurityGroups) == 0 {
		o.SecurityGroups = []string{DefaultSecurityGroup}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

func resolveLimits(o Options) (cloud.InstanceTypeLimits, error) {
	if o.Limits == nil {
		l, ok := cloud.BuiltinInstanceType(o.InstanceType)
		if !ok {
			return l, fmt.Errorf("fake: instance type %q not in the built-in table", o.InstanceType)
		}
		return l, nil
	}
	l := *o.Limits
	l.NetworkCards = slices.Clone(l.NetworkCards)
	l.Type = cmp.Or(l.Type, o.InstanceType)
	if len(l.NetworkCards) == 0 {
		l.NetworkCards = []cloud.NetworkCard{{Index: 0, MaxENIs: l.MaxENIs}}
	}
	if l.MaxENIs < 1 || l.IPv4PerENI < 1 || l.ENIsOnCard(l.DefaultNetworkCard) < 1 {
		return l, fmt.Errorf("fake: unusable limits %+v", l)
	}
	return l, nil
}

// createPrimary makes the instance's primary ENI in sub.
func (c *Cloud) createPrimary(sub *pool) error {
	ips, ok := sub.takeIPs(1)
	if !ok {
		return fmt.Errorf("fake: subnet %s has no address for the primary ENI", sub.info.ID)
	}
	e := c.newENI(sub, ips[0], "Primary network interface", c.inst.SecurityGroups)
	e.Status = cloud.ENIInUse
	e.Attachment = &cloud.Attachment{
		ID: c.newID("eni-attach"), InstanceID: c.inst.ID, DeviceIndex: 0,
		NetworkCard: c.limits.DefaultNetworkCard, State: cloud.Attached, DeleteOnTermination: true,
	}
	c.attachments[e.Attachment.ID] = e.ID
	c.live[e.ID] = true
	c.inst.PrimaryENI, c.inst.PrimaryMAC, c.inst.PrimaryIP = e.ID, e.MAC, e.PrimaryIP
	c.inst.SubnetID, c.inst.SubnetCIDR = sub.info.ID, sub.info.CIDR
	return nil
}

// newENI registers a detached ENI with primary address ip in sub.
func (c *Cloud) newENI(sub *pool, ip netip.Addr, desc string, groups []string) *cloud.ENI {
	c.seq++
	n := c.seq
	e := &cloud.ENI{
		ID:       fmt.Sprintf("eni-%017x", n),
		MAC:      fmt.Sprintf("02:fa:ce:%02x:%02x:%02x", byte(n>>16), byte(n>>8), byte(n)),
		SubnetID: sub.info.ID, VPCID: c.vpcID, AZ: sub.info.AZ, Description: desc,
		Status: cloud.ENIAvailable, PrimaryIP: ip, SecurityGroups: slices.Clone(groups),
		Tags: map[string]string{},
	}
	c.enis[e.ID] = e
	return e
}

// newID returns a fresh resource id with an EC2-like prefix.
func (c *Cloud) newID(prefix string) string {
	c.seq++
	return fmt.Sprintf("%s-%017x", prefix, c.seq)
}

// Limits returns the networking limits the fake enforces.
func (c *Cloud) Limits() cloud.InstanceTypeLimits {
	l := c.limits
	l.NetworkCards = slices.Clone(l.NetworkCards)
	return l
}

// Instance returns the instance, as metadata reports it.
func (c *Cloud) Instance() cloud.Instance {
	defer c.lock()()
	return cloneInstance(c.inst)
}

// AllENIs returns the ground truth: every ENI, attached or not, in creation
// order, without counting a call or injecting anything.
func (c *Cloud) AllENIs() []cloud.ENI {
	defer c.lock()()
	return c.selectLocked(func(*cloud.ENI) bool { return true })
}

// ENI returns the ground truth of one ENI.
func (c *Cloud) ENI(id string) (cloud.ENI, bool) {
	defer c.lock()()
	e, ok := c.enis[id]
	if !ok {
		return cloud.ENI{}, false
	}
	return cloneENI(e), true
}

// selectLocked returns copies of the ENIs keep accepts, in creation order.
func (c *Cloud) selectLocked(keep func(*cloud.ENI) bool) []cloud.ENI {
	out := []cloud.ENI{}
	for _, id := range slices.Sorted(maps.Keys(c.enis)) {
		if e := c.enis[id]; keep(e) {
			out = append(out, cloneENI(e))
		}
	}
	return out
}

func cloneENI(e *cloud.ENI) cloud.ENI {
	out := *e
	out.SecondaryIPs = slices.Clone(e.SecondaryIPs)
	out.Prefixes = slices.Clone(e.Prefixes)
	out.SecurityGroups = slices.Clone(e.SecurityGroups)
	out.Tags = maps.Clone(e.Tags)
	if e.Attachment != nil {
		a := *e.Attachment
		out.Attachment = &a
	}
	return out
}

func cloneInstance(i cloud.Instance) cloud.Instance {
	i.VPCCIDRs = slices.Clone(i.VPCCIDRs)
	i.SecurityGroups = slices.Clone(i.SecurityGroups)
	return i
}

// Clock is a manual clock for Options.Now: time moves only by Advance.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (k *Clock) Now() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.t
}

// Advance moves the clock forward by d.
func (k *Clock) Advance(d time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.t = k.t.Add(d)
}
