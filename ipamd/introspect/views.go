package introspect

import (
	"net/netip"
	"slices"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/manager"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// Address states in ENIsView.
const (
	StateAssigned = "assigned"
	StateCooling  = "cooling"
	StateFree     = "free"
)

// ENIsView is the answer of /v1/enis.
type ENIsView struct {
	ENIs []ENIView `json:"enis"`
	// Unplaced lists allocations whose address is on no managed block.
	// It is empty unless the datastore is inconsistent.
	Unplaced []datastore.Allocation `json:"unplaced,omitempty"`
}

// ENIView is one managed ENI, its blocks and the state of each address.
type ENIView struct {
	ID          string       `json:"id"`
	MAC         string       `json:"mac"`
	DeviceIndex int          `json:"deviceIndex"`
	NetworkCard int          `json:"networkCard"`
	Primary     bool         `json:"primary"`
	SubnetID    string       `json:"subnetId"`
	SubnetCIDR  netip.Prefix `json:"subnetCidr"`
	PrimaryIP   netip.Addr   `json:"primaryIp"`
	RouteTable  int          `json:"routeTable"`
	Blocks      []BlockView  `json:"blocks"`
}

// BlockView is a /32 secondary address or a /28 prefix and its addresses.
type BlockView struct {
	Prefix    netip.Prefix  `json:"prefix"`
	Addresses []AddressView `json:"addresses"`
}

// AddressView is one pod address: free, assigned (with its owner) or
// cooling down (with the time it becomes usable again).
type AddressView struct {
	IP           netip.Addr `json:"ip"`
	State        string     `json:"state"`
	Owner        *Owner     `json:"owner,omitempty"`
	CoolingUntil *time.Time `json:"coolingUntil,omitempty"`
}

// Owner is who holds an assigned address.
type Owner struct {
	datastore.Key
	Pod        datastore.Pod `json:"pod"`
	AssignedAt time.Time     `json:"assignedAt"`
}

// enisView joins the ENIs with the allocations and the cooldowns.
func enisView(enis []datastore.ENI, allocs []datastore.Allocation, cooling map[netip.Addr]time.Time) ENIsView {
	byIP := make(map[netip.Addr]datastore.Allocation, len(allocs))
	for _, a := range allocs {
		byIP[a.IP] = a
	}
	placed := make(map[netip.Addr]bool, len(allocs))
	v := ENIsView{ENIs: make([]ENIView, 0, len(enis))}
	for _, e := range enis {
		ev := ENIView{
			ID: e.ID, MAC: e.MAC, DeviceIndex: e.DeviceIndex, NetworkCard: e.NetworkCard,
			Primary: e.Primary, SubnetID: e.SubnetID, SubnetCIDR: e.SubnetCIDR,
			PrimaryIP: e.PrimaryIP, RouteTable: e.RouteTable(),
			Blocks: make([]BlockView, 0, len(e.Blocks)),
		}
		for _, b := range e.Blocks {
			bv := BlockView{Prefix: b}
			for ip := range blockAddrs(b) {
				if ip == e.PrimaryIP {
					continue
				}
				bv.Addresses = append(bv.Addresses, addressView(ip, byIP, cooling))
				if _, ok := byIP[ip]; ok {
					placed[ip] = true
				}
			}
			ev.Blocks = append(ev.Blocks, bv)
		}
		v.ENIs = append(v.ENIs, ev)
	}
	for _, a := range allocs {
		if !placed[a.IP] {
			v.Unplaced = append(v.Unplaced, a)
		}
	}
	return v
}

func addressView(ip netip.Addr, byIP map[netip.Addr]datastore.Allocation, cooling map[netip.Addr]time.Time) AddressView {
	if a, ok := byIP[ip]; ok {
		return AddressView{IP: ip, State: StateAssigned,
			Owner: &Owner{Key: a.Key, Pod: a.Pod, AssignedAt: a.AssignedAt}}
	}
	if until, ok := cooling[ip]; ok {
		return AddressView{IP: ip, State: StateCooling, CoolingUntil: &until}
	}
	return AddressView{IP: ip, State: StateFree}
}

// maxBlockAddrs bounds the addresses listed for one block: a /28 has 16;
// anything larger is not a block the datastore makes.
const maxBlockAddrs = 256

// blockAddrs yields the addresses of a block, in order.
func blockAddrs(p netip.Prefix) func(yield func(netip.Addr) bool) {
	return func(yield func(netip.Addr) bool) {
		if !p.IsValid() {
			return
		}
		p = p.Masked()
		for ip, n := p.Addr(), 0; ip.IsValid() && p.Contains(ip) && n < maxBlockAddrs; ip, n = ip.Next(), n+1 {
			if !yield(ip) {
				return
			}
		}
	}
}

// LimitsView is the answer of /v1/limits.
type LimitsView struct {
	InstanceType       string        `json:"instanceType"`
	Hypervisor         string        `json:"hypervisor,omitempty"`
	BareMetal          bool          `json:"bareMetal"`
	PrefixDelegation   bool          `json:"prefixDelegationSupported"`
	TypeMaxENIs        int           `json:"typeMaxENIs"`
	IPv4PerENI         int           `json:"ipv4PerENI"`
	NetworkCards       []NetworkCard `json:"networkCards"`
	DefaultNetworkCard int           `json:"defaultNetworkCard"`
	// MaxENIs is what ipamd may use: the default card's limit, capped by
	// MAX_ENI.
	MaxENIs int `json:"maxENIs"`
	MaxPods int `json:"maxPods"`
}

// NetworkCard is one network card and the ENIs it takes.
type NetworkCard struct {
	Index   int `json:"index"`
	MaxENIs int `json:"maxENIs"`
}

func limitsView(l pool.Limits) LimitsView {
	cards := make([]NetworkCard, 0, len(l.Type.NetworkCards))
	for _, c := range l.Type.NetworkCards {
		cards = append(cards, NetworkCard{Index: c.Index, MaxENIs: c.MaxENIs})
	}
	return LimitsView{
		InstanceType: l.Type.Type, Hypervisor: l.Type.Hypervisor, BareMetal: l.Type.BareMetal,
		PrefixDelegation: l.Type.PrefixDelegation(), TypeMaxENIs: l.Type.MaxENIs,
		IPv4PerENI: l.Type.IPv4PerENI, NetworkCards: cards,
		DefaultNetworkCard: l.Type.DefaultNetworkCard, MaxENIs: l.MaxENIs, MaxPods: l.MaxPods,
	}
}

// PoolView is the answer of /v1/pool.
type PoolView struct {
	LastPass     *time.Time   `json:"lastPass,omitempty"`
	LastDecision DecisionView `json:"lastDecision"`
	LastError    string       `json:"lastError,omitempty"`
	// Backoff is, per error class, until when growth of that kind is held
	// back; only classes still backing off are listed.
	Backoff map[string]time.Time `json:"backoff"`
}

// DecisionView is the pool policy's last decision.
type DecisionView struct {
	Actions []ActionView `json:"actions"`
	Short   int          `json:"short"`
	Excess  int          `json:"excess"`
	Blocked string       `json:"blocked,omitempty"`
	Reason  string       `json:"reason,omitempty"`
}

// ActionView is one action of a decision.
type ActionView struct {
	Kind   pool.Kind      `json:"kind"`
	ENI    string         `json:"eni,omitempty"`
	Count  int            `json:"count,omitempty"`
	Blocks []netip.Prefix `json:"blocks,omitempty"`
}

func poolView(s manager.State, now time.Time) PoolView {
	v := PoolView{
		LastError: s.LastError,
		Backoff:   map[string]time.Time{},
		LastDecision: DecisionView{
			Actions: make([]ActionView, 0, len(s.LastDecision.Actions)),
			Short:   s.LastDecision.Short, Excess: s.LastDecision.Excess,
			Blocked: s.LastDecision.Blocked, Reason: s.LastDecision.Reason,
		},
	}
	if !s.LastPass.IsZero() {
		v.LastPass = &s.LastPass
	}
	for _, a := range s.LastDecision.Actions {
		v.LastDecision.Actions = append(v.LastDecision.Actions,
			ActionView{Kind: a.Kind, ENI: a.ENI, Count: a.Count, Blocks: slices.Clone(a.Blocks)})
	}
	for class, until := range s.Backoff {
		if until.After(now) {
			v.Backoff[class] = until
		}
	}
	return v
}
