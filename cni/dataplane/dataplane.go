// Package dataplane wires a pod's network namespace with netlink: a veth
// created inside the pod's namespace with its peer placed straight into the
// host's, the pod side (/32 address, link route and default route via
// 169.254.1.1, a permanent neighbour for it) and the host side (a /32 route
// to the pod, the rule "to <pod> lookup main" and, for an address on a
// secondary ENI, "from <pod> lookup <table>"). It undoes what it did on any
// failure, tears down idempotently and checks what it wired.
package dataplane

import (
	"errors"
	"net/netip"
)

// Defaults that are part of the interface (DESIGN.md, "Defaults").
const (
	// GatewayIP is the pod's next hop: the host veth answers for it by the
	// permanent neighbour entry, never by ARP.
	GatewayIP = "169.254.1.1"
	// PriorityToPod: "to <pod> lookup main".
	PriorityToPod = 512
	// PriorityFromPod: "from <pod> lookup <ENI table>".
	PriorityFromPod = 1536
	// MainTable is the main routing table; an address of the primary ENI
	// gets no "from" rule.
	MainTable = 254
)

// Pod is what to wire.
type Pod struct {
	// NetNS is the pod's network namespace path.
	NetNS string
	// IfName is the pod-side interface name (CNI_IFNAME).
	IfName string
	// HostIfName is the host-side veth name (HostIfName).
	HostIfName string
	IP         netip.Addr
	MTU        int
	// RouteTable is the table of the address's ENI; MainTable (or 0): no
	// "from" rule.
	RouteTable int
}

// Wired is what Setup made, for the CNI result.
type Wired struct {
	HostIfName string
	HostMAC    string
	PodIfName  string
	PodMAC     string
	// PodIndex is the pod-side link's index inside the pod namespace.
	PodIndex int
}

// Teardown says what to remove. Every field may be missing (a DEL after a
// reboot, a GC): what cannot be found is not an error.
type Teardown struct {
	// NetNS is the pod's namespace path; empty, gone or the host's own:
	// only the host side.
	NetNS  string
	IfName string
	// HostIfName is the host veth's name. The veth normally goes with the
	// pod's interface; one that survives is deleted only when the /32
	// route to IP goes through it (and by that route's link, not by
	// name), since the name is shared by every sandbox of a pod and may
	// belong to a newer one.
	HostIfName string
	// IP is the pod's address, when known (prevResult, ipamd); when not
	// set, the /32 address of the pod's interface, if found. Its host
	// route and rules are removed unless a route to it goes through a
	// live link: then the address is in use (another pod got it since)
	// and they stay.
	IP         netip.Addr
	RouteTable int
}

// Options configure a Linux dataplane.
type Options struct {
	// HostNS is the path of the namespace that plays the host (a lab node,
	// a test's namespace); empty: the caller's own.
	HostNS string
}

// Dataplane is what the plugin needs of the host: Linux implements it.
type Dataplane interface {
	// Setup wires the pod; on any error it has undone what it made.
	Setup(p Pod) (Wired, error)
	// Teardown removes what Setup made; idempotent.
	Teardown(t Teardown) error
	// Check verifies what Setup made against p; the error names the first
	// mismatch (ErrMismatch).
	Check(p Pod) error
	// CheckNetNS says whether path can be a pod's network namespace: it
	// exists, is a network namespace and is not the host's own. The
	// error wraps ErrNetNS and says which.
	CheckNetNS(path string) error
	// PodIfExists says whether ifName already exists in the namespace
	// netns (a path CheckNetNS accepts): an ADD for a live pod must stop
	// before it asks for an address.
	PodIfExists(netns, ifName string) (bool, error)
}

// ErrMismatch: Check found something that is not as Setup made it.
var ErrMismatch = errors.New("pod network does not match")

// ErrIncomplete: Setup failed and its undo failed too, so part of the
// pod's network is left behind; a Teardown (the runtime's DEL) removes it.
// The caller keeps the pod's address allocated until then.
var ErrIncomplete = errors.New("setup failed and left part of the pod network behind")

// ErrNetNS: a path that is not a usable pod network namespace (missing,
// not a network namespace, or the host's own). Setup and Check refuse it
// before touching anything.
var ErrNetNS = errors.New("not a usable pod network namespace")
