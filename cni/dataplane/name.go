package dataplane

import (
	"crypto/sha1"
	"encoding/hex"
)

// MaxIfNameLen is the kernel's limit on an interface name (IFNAMSIZ - 1).
const MaxIfNameLen = 15

// HostIfName is the host-side veth name of a pod: prefix followed by the
// hex SHA-1 of "namespace.pod", cut to MaxIfNameLen characters, stable
// across restarts of the pod. Without a pod name (a runtime that passes no
// Kubernetes arguments) the container id and ifname are hashed instead, so
// that two such containers never share a name.
func HostIfName(prefix, namespace, pod, containerID, ifName string) string {
	key := namespace + "." + pod
	if pod == "" {
		key = containerID + "/" + ifName
	}
	sum := sha1.Sum([]byte(key))
	n := MaxIfNameLen - len(prefix)
	if n <= 0 {
		return prefix[:MaxIfNameLen]
	}
	return prefix + hex.EncodeToString(sum[:])[:n]
}
