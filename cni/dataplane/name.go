package dataplane

import (
	"crypto/sha1"
	"encoding/hex"
)

// MaxIfNameLen is the kernel's limit on an interface name (IFNAMSIZ - 1).
const MaxIfNameLen = 15

// primaryIfName is a pod's first attachment, the one of its default
// route; others (Multus-style net1, ...) get veth names and route metrics
// of their own.
const primaryIfName = "eth0"

// HostIfName is the host-side veth name of a pod: prefix followed by the
// hex SHA-1 of "namespace.pod", cut to MaxIfNameLen characters, stable
// across restarts of the pod. A pod's other attachments (ifName not
// "eth0") hash "namespace.pod/ifName", so that each has a veth of its own;
// eth0 keeps the name it always had. Without a pod name (a runtime that
// passes no Kubernetes arguments) the container id and ifname are hashed
// instead, so that two such containers never share a name.
func HostIfName(prefix, namespace, pod, containerID, ifName string) string {
	key := namespace + "." + pod
	switch {
	case pod == "":
		key = containerID + "/" + ifName
	case ifName != primaryIfName:
		key += "/" + ifName
	}
	sum := sha1.Sum([]byte(key))
	n := MaxIfNameLen - len(prefix)
	if n <= 0 {
		return prefix[:MaxIfNameLen]
	}
	return prefix + hex.EncodeToString(sum[:])[:n]
}
