package netenv

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Addresses of the lab (design: 198.18.0.0/16 VPC, 203.0.113.0/24 internet).
var (
	// Gateway is the subnet's gateway, on the fabric's loopback as a /32.
	Gateway = netip.MustParseAddr("198.18.0.1")
	// EC2Addr and IMDSAddr are ec2sim's listeners, on the fabric's loopback.
	EC2Addr  = netip.MustParseAddr("169.254.169.253")
	IMDSAddr = netip.MustParseAddr("169.254.169.254")
	// InternetHost is the internet host's address (link inet0 in P-inet);
	// InternetGateway is the fabric's side of that link (finet).
	InternetHost    = netip.MustParsePrefix("203.0.113.10/24")
	InternetGateway = netip.MustParsePrefix("203.0.113.1/24")
)

// Link names and MTU.
const (
	InetLink       = "inet0" // the internet host's link, in P-inet
	FabricInetLink = "finet" // its peer, in P-fabric
	// ENIMTU is the MTU of both sides of an ENI pair: EC2's jumbo frames
	// inside a VPC. ipamd may lower the node side.
	ENIMTU = 9001
)

// ErrBadName is returned for a prefix or a name the lab cannot use.
var ErrBadName = errors.New("bad lab name")

// Spec is what a lab has: its prefix and its nodes.
type Spec struct {
	Prefix string     `json:"prefix"`
	Nodes  []NodeSpec `json:"nodes"`
}

// NodeSpec is one lab node: its index (1..N, the i of P-node<i>), the
// ec2sim instance it is, and that instance's primary address.
type NodeSpec struct {
	Index      int        `json:"index"`
	InstanceID string     `json:"instanceId"`
	PrimaryIP  netip.Addr `json:"primaryIp"`
}

// ValidatePrefix checks a lab prefix: 1 to 32 letters, digits or
// underscores. A dash is refused so that "P-" never matches another lab's
// names ("a-" would match the lab "a-b").
func ValidatePrefix(p string) error {
	if p == "" || len(p) > 32 {
		return fmt.Errorf("%w: prefix %q: want 1 to 32 characters", ErrBadName, p)
	}
	for _, r := range p {
		ok := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !ok {
			return fmt.Errorf("%w: prefix %q: use only letters, digits and _", ErrBadName, p)
		}
	}
	return nil
}

// Namespace kinds for NSName.
const (
	KindFabric = "fabric"
	KindInet   = "inet"
	KindNode   = "node"
	KindPod    = "pod"
)

// NSName names a lab namespace: kind fabric or inet (i, j unused), node (i),
// pod (node i, pod j). An unknown kind gives "".
func NSName(prefix, kind string, i, j int) string {
	switch kind {
	case KindFabric:
		return FabricNS(prefix)
	case KindInet:
		return InetNS(prefix)
	case KindNode:
		return NodeNS(prefix, i)
	case KindPod:
		return PodNS(prefix, i, j)
	}
	return ""
}

// FabricNS is the fabric's namespace, P-fabric.
func FabricNS(prefix string) string { return prefix + "-fabric" }

// InetNS is the internet host's namespace, P-inet.
func InetNS(prefix string) string { return prefix + "-inet" }

// NodeNS is node i's namespace, P-node<i>.
func NodeNS(prefix string, i int) string { return prefix + "-node" + strconv.Itoa(i) }

// PodNS is pod j of node i's namespace, P-n<i>-p<j>.
func PodNS(prefix string, i, j int) string {
	return prefix + "-n" + strconv.Itoa(i) + "-p" + strconv.Itoa(j)
}

// NodeLink is the node side of ENI device d: eth<d>.
func NodeLink(d int) string { return "eth" + strconv.Itoa(d) }

// FabricLink is the fabric side of node i's ENI device d: n<i>e<d>.
func FabricLink(i, d int) string { return "n" + strconv.Itoa(i) + "e" + strconv.Itoa(d) }

// parseNodeLink parses eth<d>.
func parseNodeLink(name string) (d int, ok bool) {
	rest, found := strings.CutPrefix(name, "eth")
	if !found {
		return 0, false
	}
	return parseIndex(rest)
}

// parseFabricLink parses n<i>e<d>.
func parseFabricLink(name string) (i, d int, ok bool) {
	rest, found := strings.CutPrefix(name, "n")
	if !found {
		return 0, 0, false
	}
	si, sd, found := strings.Cut(rest, "e")
	if !found {
		return 0, 0, false
	}
	if i, ok = parseIndex(si); !ok {
		return 0, 0, false
	}
	if d, ok = parseIndex(sd); !ok {
		return 0, 0, false
	}
	return i, d, true
}

// parseIndex parses a canonical non-negative decimal (no sign, no leading
// zero), so that a name parses back to itself.
func parseIndex(s string) (int, bool) {
	if s == "" || len(s) > 4 || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n := 0
	for _, r := range s {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, true
}

// validateNodes checks node specs: indexes 1..999, distinct; instance ids
// distinct and not empty.
func validateNodes(nodes []NodeSpec) error {
	seen, ids := map[int]bool{}, map[string]bool{}
	for _, n := range nodes {
		switch {
		case n.Index < 1 || n.Index > 999:
			return fmt.Errorf("%w: node index %d: want 1..999", ErrBadName, n.Index)
		case seen[n.Index]:
			return fmt.Errorf("%w: node index %d given twice", ErrBadName, n.Index)
		case n.InstanceID == "":
			return fmt.Errorf("%w: node %d has no instance id", ErrBadName, n.Index)
		case ids[n.InstanceID]:
			return fmt.Errorf("%w: instance %s given to two nodes", ErrBadName, n.InstanceID)
		}
		seen[n.Index], ids[n.InstanceID] = true, true
	}
	return nil
}
