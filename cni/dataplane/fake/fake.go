// Package fake is a stateful, in-memory dataplane.Dataplane for the
// plugin's tests that need no root: it remembers the pods it wired and the
// host side of their addresses, and fails any operation on demand.
package fake

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
)

// Op names an operation, for Fail.
type Op string

const (
	OpSetup       Op = "setup"
	OpTeardown    Op = "teardown"
	OpCheck       Op = "check"
	OpCheckNetNS  Op = "checknetns"
	OpPodIfExists Op = "podifexists"
)

// Dataplane is the fake. The zero value is not usable: call New.
type Dataplane struct {
	mu     sync.Mutex
	pods   map[string]dataplane.Pod // by NetNS + "|" + IfName
	hosts  map[netip.Addr]int       // the host side: address → route table
	hostNS map[string]bool          // paths of the host's own namespace
	gone   map[string]bool          // namespaces RemoveNetNS removed
	faults map[Op]error
	calls  map[Op]int
}

var _ dataplane.Dataplane = (*Dataplane)(nil)

// New is an empty fake host.
func New() *Dataplane {
	return &Dataplane{pods: map[string]dataplane.Pod{}, hosts: map[netip.Addr]int{},
		hostNS: map[string]bool{}, gone: map[string]bool{},
		faults: map[Op]error{}, calls: map[Op]int{}}
}

// SetHostNetNS makes path the host's own namespace: CheckNetNS, Setup
// and Check refuse it, Teardown touches only the host side there.
func (f *Dataplane) SetHostNetNS(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hostNS[path] = true
}

// Fail makes every later op fail with err (nil: succeed again). A failed
// Setup leaves nothing, as the real one, unless err wraps
// dataplane.ErrIncomplete: then it leaves the pod wired, as a real Setup
// whose undo failed, for a Teardown to remove.
func (f *Dataplane) Fail(op Op, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults[op] = err
}

// Calls is how many times op was called, failed calls included.
func (f *Dataplane) Calls(op Op) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Pods are the wired pods, sorted by address.
func (f *Dataplane) Pods() []dataplane.Pod {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ps []dataplane.Pod
	for _, p := range f.pods {
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b dataplane.Pod) int { return a.IP.Compare(b.IP) })
	return ps
}

// HostAddrs are the addresses with a host side (route, rules), sorted.
func (f *Dataplane) HostAddrs() []netip.Addr {
	f.mu.Lock()
	defer f.mu.Unlock()
	var as []netip.Addr
	for a := range f.hosts {
		as = append(as, a)
	}
	slices.SortFunc(as, netip.Addr.Compare)
	return as
}

// RemoveNetNS forgets the pods of a namespace, as when the runtime
// deletes it; the host side of their addresses stays until a Teardown
// with the address (HostSideOnly) removes it. The path is gone for good:
// CheckNetNS and Setup refuse it, Check reports it as a mismatch.
func (f *Dataplane) RemoveNetNS(path string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gone[path] = true
	for k, p := range f.pods {
		if p.NetNS == path {
			delete(f.pods, k)
		}
	}
}

func key(netns, ifName string) string { return netns + "|" + ifName }

// begin counts op and returns its injected fault; f.mu is held after.
func (f *Dataplane) begin(op Op) error {
	f.mu.Lock()
	f.calls[op]++
	return f.faults[op]
}

// netnsErr is CheckNetNS's answer for path; f.mu is held.
func (f *Dataplane) netnsErr(path string) error {
	switch {
	case path == "" || f.gone[path]:
		return fmt.Errorf("%w: %s does not exist", dataplane.ErrNetNS, path)
	case f.hostNS[path]:
		return fmt.Errorf("%w: %s is the host's own network namespace, not a pod's", dataplane.ErrNetNS, path)
	}
	return nil
}

// CheckNetNS refuses a path RemoveNetNS removed or SetHostNetNS marked;
// any other path is a namespace.
func (f *Dataplane) CheckNetNS(path string) error {
	err := f.begin(OpCheckNetNS)
	defer f.mu.Unlock()
	if err != nil {
		return err
	}
	return f.netnsErr(path)
}

// PodIfExists reports a pod wired in netns with ifName (a namespace
// CheckNetNS refuses is an error, as on Linux).
func (f *Dataplane) PodIfExists(netns, ifName string) (bool, error) {
	err := f.begin(OpPodIfExists)
	defer f.mu.Unlock()
	if err != nil {
		return false, err
	}
	if err := f.netnsErr(netns); err != nil {
		return false, err
	}
	_, ok := f.pods[key(netns, ifName)]
	return ok, nil
}

// Setup records p, replacing a stale pod of the same host veth name.
func (f *Dataplane) Setup(p dataplane.Pod) (dataplane.Wired, error) {
	fault := f.begin(OpSetup)
	defer f.mu.Unlock()
	if fault != nil && !errors.Is(fault, dataplane.ErrIncomplete) {
		return dataplane.Wired{}, fault
	}
	if err := p.Validate(); err != nil {
		return dataplane.Wired{}, err
	}
	if err := f.netnsErr(p.NetNS); err != nil {
		return dataplane.Wired{}, err
	}
	p.IP = p.IP.Unmap()
	k := key(p.NetNS, p.IfName)
	for ok, old := range f.pods {
		if old.HostIfName == p.HostIfName {
			delete(f.pods, ok)
		}
	}
	if _, ok := f.pods[k]; ok {
		return dataplane.Wired{}, fmt.Errorf("create veth: %s already exists in %s", p.IfName, p.NetNS)
	}
	f.pods[k] = p
	f.hosts[p.IP] = p.RouteTable
	if fault != nil {
		return dataplane.Wired{}, fault
	}
	b := p.IP.As4()
	return dataplane.Wired{
		HostIfName: p.HostIfName, HostMAC: fmt.Sprintf("ee:ee:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3]),
		PodIfName: p.IfName, PodMAC: fmt.Sprintf("02:00:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3]),
		PodIndex: 2,
	}, nil
}

// Teardown forgets what t names, as Linux removes it; nothing missing is
// an error. The pod of (NetNS, IfName) goes, and gives the address when
// t has none; else a pod of HostIfName goes if it holds the address (its
// route goes through that veth). The address's host side then goes
// unless a pod still holds it. In a namespace SetHostNetNS marked only
// the host side is considered.
func (f *Dataplane) Teardown(t dataplane.Teardown) error {
	err := f.begin(OpTeardown)
	defer f.mu.Unlock()
	if err != nil {
		return err
	}
	if f.hostNS[t.NetNS] {
		t = dataplane.HostSideOnly(t.IP, t.RouteTable)
	}
	ip := t.IP.Unmap()
	k := key(t.NetNS, t.IfName)
	if p, ok := f.pods[k]; ok && t.NetNS != "" && t.IfName != "" {
		delete(f.pods, k)
		if !ip.IsValid() {
			ip = p.IP
		}
	} else if t.HostIfName != "" && ip.IsValid() {
		for k, p := range f.pods {
			if p.HostIfName == t.HostIfName && p.IP == ip {
				delete(f.pods, k)
			}
		}
	}
	if !ip.IsValid() {
		return nil
	}
	for _, p := range f.pods {
		if p.IP == ip {
			return nil // in use: its host side is that pod's
		}
	}
	delete(f.hosts, ip)
	return nil
}

// Check compares p with what Setup recorded.
func (f *Dataplane) Check(p dataplane.Pod) error {
	err := f.begin(OpCheck)
	defer f.mu.Unlock()
	if err != nil {
		return err
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if f.gone[p.NetNS] {
		return fmt.Errorf("%w: pod network namespace %s is gone", dataplane.ErrMismatch, p.NetNS)
	}
	if err := f.netnsErr(p.NetNS); err != nil {
		return err
	}
	got, ok := f.pods[key(p.NetNS, p.IfName)]
	switch {
	case !ok:
		return fmt.Errorf("%w: pod interface %s is missing", dataplane.ErrMismatch, p.IfName)
	case got.IP != p.IP.Unmap():
		return fmt.Errorf("%w: pod address %s/32 on %s is missing", dataplane.ErrMismatch, p.IP, p.IfName)
	case got.HostIfName != p.HostIfName:
		return fmt.Errorf("%w: host veth %s is missing", dataplane.ErrMismatch, p.HostIfName)
	case p.MTU != 0 && got.MTU != p.MTU:
		return fmt.Errorf("%w: pod interface %s has MTU %d, want %d", dataplane.ErrMismatch, p.IfName, got.MTU, p.MTU)
	case got.RouteTable != p.RouteTable && (dataplane.Secondary(got.RouteTable) || dataplane.Secondary(p.RouteTable)):
		return fmt.Errorf("%w: host rule 'from %s/32 lookup %d' at priority %d is missing",
			dataplane.ErrMismatch, p.IP, p.RouteTable, dataplane.PriorityFromPod)
	}
	if _, ok := f.hosts[got.IP]; !ok {
		return fmt.Errorf("%w: host route %s/32 dev %s is missing", dataplane.ErrMismatch, p.IP, p.HostIfName)
	}
	return nil
}
