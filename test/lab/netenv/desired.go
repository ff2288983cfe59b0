package netenv

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
)

// ErrBadState is returned (joined, for each ENI skipped) when ec2sim's
// state holds something the fabric cannot build, such as a MAC that does not
// parse.
var ErrBadState = errors.New("bad ec2sim state")

// Key names one ENI pair: node index and device index.
type Key struct {
	Node, Device int
}

// String is the fabric side's name, n<i>e<d>.
func (k Key) String() string { return FabricLink(k.Node, k.Device) }

// Desired is the fabric as ec2sim's state says it must be.
type Desired struct {
	ENIs []DesiredENI // sorted by Key
	// Gateways are the subnets' gateways the fabric answers for, on its
	// loopback as /32s.
	Gateways []netip.Addr
}

// DesiredENI is one attached ENI of a lab node.
type DesiredENI struct {
	Key
	ID       string         // ENI id, for logs
	MAC      string         // canonical lower-case form
	Primary  netip.Addr     // the ENI's primary address
	Owned    []netip.Addr   // primary first, then the secondaries
	Prefixes []netip.Prefix // delegated /28s
	// NodeAddr and NodeGateway are set for device 0 only: the address the
	// node side carries (primary/subnet bits) and its default route's
	// gateway, what EC2's DHCP gives the primary ENI.
	NodeAddr    netip.Prefix
	NodeGateway netip.Addr
}

// present reports whether an attachment makes the ENI a device of the
// instance: once attached, and until its detach completes.
func present(a *sim.Attachment) bool {
	return a != nil && a.NetworkCardIndex == 0 &&
		(a.Status == "attached" || a.Status == "detaching")
}

// DesiredFrom is the fabric ec2sim's state asks for, for the given nodes:
// each ENI attached to a node's instance (network card 0) becomes a pair.
// An ENI that cannot be built is left out and reported in the (joined)
// error, which wraps ErrBadState; the rest is still returned.
func DesiredFrom(st sim.State, nodes []NodeSpec) (Desired, error) {
	byInstance := make(map[string]int, len(nodes))
	for _, n := range nodes {
		byInstance[n.InstanceID] = n.Index
	}
	subnets := make(map[string]netip.Prefix, len(st.Subnets))
	for _, sn := range st.Subnets {
		subnets[sn.ID] = sn.CIDR
	}
	var d Desired
	var errs []error
	gws := map[netip.Addr]bool{}
	for _, e := range st.ENIs {
		node, ok := byInstance[attachedTo(e)]
		if !ok || !present(e.Attachment) {
			continue
		}
		de, err := desiredENI(e, node, subnets)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if gw := gateway(subnets[e.SubnetID]); gw.IsValid() {
			gws[gw] = true
		}
		d.ENIs = append(d.ENIs, de)
	}
	d.ENIs, errs = dedupe(d.ENIs, errs)
	for gw := range gws {
		d.Gateways = append(d.Gateways, gw)
	}
	slices.SortFunc(d.Gateways, netip.Addr.Compare)
	return d, errors.Join(errs...)
}

func attachedTo(e sim.ENI) string {
	if e.Attachment == nil {
		return ""
	}
	return e.Attachment.InstanceID
}

// desiredENI builds one ENI's pair.
func desiredENI(e sim.ENI, node int, subnets map[string]netip.Prefix) (DesiredENI, error) {
	k := Key{Node: node, Device: e.Attachment.DeviceIndex}
	mac, err := net.ParseMAC(e.MAC)
	if err != nil || len(mac) != 6 {
		return DesiredENI{}, fmt.Errorf("%w: %s (%s): MAC %q", ErrBadState, e.ID, k, e.MAC)
	}
	if !e.PrimaryIP.Is4() {
		return DesiredENI{}, fmt.Errorf("%w: %s (%s): primary address %v is not IPv4", ErrBadState, e.ID, k, e.PrimaryIP)
	}
	if k.Device > 999 {
		return DesiredENI{}, fmt.Errorf("%w: %s: device index %d", ErrBadState, e.ID, k.Device)
	}
	de := DesiredENI{Key: k, ID: e.ID, MAC: mac.String(), Primary: e.PrimaryIP}
	de.Owned = append(de.Owned, e.PrimaryIP)
	for _, ip := range e.SecondaryIPs {
		if ip.Is4() {
			de.Owned = append(de.Owned, ip)
		}
	}
	for _, p := range e.Prefixes {
		if p.Addr().Is4() {
			de.Prefixes = append(de.Prefixes, p.Masked())
		}
	}
	if k.Device == 0 {
		sn, ok := subnets[e.SubnetID]
		if !ok {
			return DesiredENI{}, fmt.Errorf("%w: %s (%s): subnet %s not in the state", ErrBadState, e.ID, k, e.SubnetID)
		}
		de.NodeAddr = netip.PrefixFrom(e.PrimaryIP, sn.Bits())
		de.NodeGateway = gateway(sn)
	}
	return de, nil
}

// gateway is a subnet's gateway, its first address after the network's
// (EC2's ".1"); invalid for an invalid subnet.
func gateway(sn netip.Prefix) netip.Addr {
	if !sn.IsValid() {
		return netip.Addr{}
	}
	return sn.Masked().Addr().Next()
}

// dedupe sorts the pairs by key and drops a key given twice (two ENIs at
// one device index, which ec2sim refuses: a state that shows it is bad).
func dedupe(enis []DesiredENI, errs []error) ([]DesiredENI, []error) {
	slices.SortStableFunc(enis, func(a, b DesiredENI) int { return cmpKey(a.Key, b.Key) })
	out := enis[:0]
	for i, e := range enis {
		if i > 0 && enis[i-1].Key == e.Key {
			errs = append(errs, fmt.Errorf("%w: %s and %s both at %s", ErrBadState, enis[i-1].ID, e.ID, e.Key))
			continue
		}
		out = append(out, e)
	}
	return out, errs
}

func cmpKey(a, b Key) int {
	return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.Device, b.Device))
}
