// Package fake is a stateful in-memory hostnet.Host for the tests of
// ipamd's other packages: it remembers which ENIs are set up and the last
// SNAT configuration, keeps a set of links the test controls, counts calls
// and injects faults per method. It validates its arguments as the Linux
// implementation does, so a caller's mistake fails here too.
package fake

import (
	"cmp"
	"context"
	"fmt"
	"net"
	"slices"
	"sync"

	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
)

// Op names one method of hostnet.Host, for faults and call counts.
type Op string

// The operations of hostnet.Host.
const (
	OpSetupENI    Op = "SetupENI"
	OpTeardownENI Op = "TeardownENI"
	OpSetupSNAT   Op = "SetupSNAT"
	OpLinkExists  Op = "LinkExists"
)

// Ops lists every operation.
var Ops = []Op{OpSetupENI, OpTeardownENI, OpSetupSNAT, OpLinkExists}

// Host is the fake. The zero value is not usable; call New.
type Host struct {
	mu     sync.Mutex
	enis   map[string]hostnet.ENI // set up, by normalised MAC
	snat   *hostnet.SNAT
	links  map[string]bool // names LinkExists reports
	macs   map[string]bool // ENI links present, when strict
	strict bool
	faults map[Op]*fault
	calls  map[Op]int
}

var _ hostnet.Host = (*Host)(nil)

// fault is an injected failure: err for the next times calls, or for every
// call while times is 0.
type fault struct {
	err   error
	times int
}

// New returns a fake with no links, no ENIs set up and no SNAT.
func New() *Host {
	return &Host{
		enis:   map[string]hostnet.ENI{},
		links:  map[string]bool{},
		macs:   map[string]bool{},
		faults: map[Op]*fault{},
		calls:  map[Op]int{},
	}
}

// AddLink makes LinkExists report name (a pod's host-side veth).
func (h *Host) AddLink(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.links[name] = true
}

// DelLink makes LinkExists stop reporting name (the pod is gone).
func (h *Host) DelLink(name string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.links, name)
}

// RequireENILinks makes SetupENI fail with hostnet.ErrLinkNotFound for a
// MAC not added with AddENILink (an ENI attached but not yet visible).
// Off by default: every MAC has a link.
func (h *Host) RequireENILinks(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.strict = on
}

// AddENILink makes a link with that MAC present.
func (h *Host) AddENILink(mac string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.macs[normMAC(mac)] = true
}

// DelENILink removes the link with that MAC (a detached ENI); what was set
// up for it stays, as routes and rules would.
func (h *Host) DelENILink(mac string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.macs, normMAC(mac))
}

// SetFault makes op fail with err: for its next times calls, or for every
// call until cleared when times is 0. A nil err clears op's fault. A
// failed call changes nothing.
func (h *Host) SetFault(op Op, err error, times int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err == nil || times < 0 {
		delete(h.faults, op)
		return
	}
	h.faults[op] = &fault{err: err, times: times}
}

// ClearFaults removes every injected fault.
func (h *Host) ClearFaults() {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.faults)
}

// Calls returns how many times op was called, failed calls included.
func (h *Host) Calls(op Op) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls[op]
}

// ENIs returns the ENIs set up, by device index.
func (h *Host) ENIs() []hostnet.ENI {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]hostnet.ENI, 0, len(h.enis))
	for _, e := range h.enis {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b hostnet.ENI) int {
		return cmp.Or(cmp.Compare(a.DeviceIndex, b.DeviceIndex), cmp.Compare(a.MAC, b.MAC))
	})
	return out
}

// ENI returns the ENI set up with that MAC.
func (h *Host) ENI(mac string) (hostnet.ENI, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.enis[normMAC(mac)]
	return e, ok
}

// SNAT returns the last SNAT configuration applied (External included);
// false before any.
func (h *Host) SNAT() (hostnet.SNAT, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.snat == nil {
		return hostnet.SNAT{}, false
	}
	return cloneSNAT(*h.snat), true
}

// begin counts a call of op and returns the context's error or the
// injected fault if one is due. The caller holds h.mu.
func (h *Host) begin(ctx context.Context, op Op) error {
	h.calls[op]++
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("fake %s: %w", op, err)
	}
	f, ok := h.faults[op]
	if !ok {
		return nil
	}
	if f.times > 0 {
		f.times--
		if f.times == 0 {
			delete(h.faults, op)
		}
	}
	return f.err
}

// SetupENI records e as set up.
func (h *Host) SetupENI(ctx context.Context, e hostnet.ENI) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.begin(ctx, OpSetupENI); err != nil {
		return err
	}
	if err := hostnet.ValidateENI(e); err != nil {
		return err
	}
	mac := normMAC(e.MAC)
	if h.strict && !h.macs[mac] {
		return fmt.Errorf("no link has mac %s: %w", e.MAC, hostnet.ErrLinkNotFound)
	}
	h.enis[mac] = e
	return nil
}

// TeardownENI forgets e; one not set up is fine.
func (h *Host) TeardownENI(ctx context.Context, e hostnet.ENI) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.begin(ctx, OpTeardownENI); err != nil {
		return err
	}
	if err := hostnet.ValidateENI(e); err != nil {
		return err
	}
	delete(h.enis, normMAC(e.MAC))
	return nil
}

// SetupSNAT records s as the current configuration.
func (h *Host) SetupSNAT(ctx context.Context, s hostnet.SNAT) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.begin(ctx, OpSetupSNAT); err != nil {
		return err
	}
	if err := hostnet.ValidateSNAT(s); err != nil {
		return err
	}
	if !s.External && h.strict && !h.macs[normMAC(s.PrimaryMAC)] {
		return fmt.Errorf("primary eni: no link has mac %s: %w", s.PrimaryMAC, hostnet.ErrLinkNotFound)
	}
	c := cloneSNAT(s)
	h.snat = &c
	return nil
}

// LinkExists reports whether name was added with AddLink.
func (h *Host) LinkExists(ctx context.Context, name string) (bool, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if err := h.begin(ctx, OpLinkExists); err != nil {
		return false, err
	}
	return h.links[name], nil
}

// normMAC is the canonical form of a MAC (lower case, colons); an
// unparsable one is kept as given.
func normMAC(mac string) string {
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return mac
	}
	return hw.String()
}

func cloneSNAT(s hostnet.SNAT) hostnet.SNAT {
	s.VPCCIDRs = slices.Clone(s.VPCCIDRs)
	s.Exclude = slices.Clone(s.Exclude)
	return s
}
