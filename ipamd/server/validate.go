package server

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// Bounds of the request fields. The CNI spec bounds the interface name
// (the kernel's IFNAMSIZ less its NUL); the others are ours, generous for
// what runtimes and Kubernetes produce.
const (
	MaxContainerIDLen = 256  // runtimes use 64 hex digits
	MaxIfNameLen      = 15   // IFNAMSIZ - 1
	MaxNetnsLen       = 4096 // PATH_MAX
	MaxPodNamespace   = 63   // a DNS label
	MaxPodName        = 253  // a DNS subdomain
	MaxPodUID         = 128  // a UUID is 36
)

// fieldError is a malformed request field. It is ipam.ErrInvalid, so it
// maps to InvalidArgument like the backend's own validation errors.
type fieldError struct {
	field string
	why   string
}

func (e *fieldError) Error() string   { return "invalid " + e.field + ": " + e.why }
func (e *fieldError) Is(t error) bool { return t == ipam.ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &fieldError{field: field, why: fmt.Sprintf(format, args...)}
}

// quote shows a rejected value, cut short: a request may carry megabytes.
func quote(s string) string {
	const maxShown = 64
	if len(s) > maxShown {
		return fmt.Sprintf("%q… (%d bytes)", s[:maxShown], len(s))
	}
	return fmt.Sprintf("%q", s)
}

// checkContainerID applies the CNI spec's rule: not empty, an ASCII letter
// or digit, then letters, digits, '_', '.' or '-'; and our length bound.
func checkContainerID(field, id string) error {
	if id == "" {
		return invalid(field, "empty; the runtime must pass the container id (CNI_CONTAINERID)")
	}
	if len(id) > MaxContainerIDLen {
		return invalid(field, "%d bytes, more than %d", len(id), MaxContainerIDLen)
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i == 0 && !alnum {
			return invalid(field, "%s must start with a letter or digit", quote(id))
		}
		if !alnum && c != '_' && c != '.' && c != '-' {
			return invalid(field, "%s: only letters, digits, '_', '.' and '-' are allowed", quote(id))
		}
	}
	return nil
}

// checkIfName applies the CNI spec's (and the kernel's) rule for interface
// names: 1 to 15 bytes, not "." or "..", no '/', ':' or whitespace. We
// also refuse control characters, which the kernel would cut at a NUL.
func checkIfName(field, name string) error {
	switch {
	case name == "":
		return invalid(field, "empty; the runtime must pass the interface name (CNI_IFNAME)")
	case len(name) > MaxIfNameLen:
		return invalid(field, "%s is %d bytes, more than %d", quote(name), len(name), MaxIfNameLen)
	case name == "." || name == "..":
		return invalid(field, "%s is not an interface name", quote(name))
	case !utf8.ValidString(name):
		return invalid(field, "%s is not valid UTF-8", quote(name))
	}
	for _, r := range name {
		if r == '/' || r == ':' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return invalid(field, "%s: '/', ':', whitespace and control characters are not allowed", quote(name))
		}
	}
	return nil
}

// checkNetns requires an absolute path (/proc/<pid>/ns/net,
// /var/run/netns/<name>): the only form the plugin can enter.
func checkNetns(field, p string) error {
	switch {
	case p == "":
		return invalid(field, "empty; the runtime must pass the network namespace path (CNI_NETNS)")
	case len(p) > MaxNetnsLen:
		return invalid(field, "%d bytes, more than %d", len(p), MaxNetnsLen)
	case !strings.HasPrefix(p, "/"):
		return invalid(field, "%s is not an absolute path", quote(p))
	case strings.ContainsRune(p, 0):
		return invalid(field, "%s contains a NUL byte", quote(p))
	}
	return nil
}

// checkLabel bounds an optional free-form field (the pod's namespace, name
// and uid): at most max bytes, printable.
func checkLabel(field, v string, max int) error {
	if len(v) > max {
		return invalid(field, "%d bytes, more than %d", len(v), max)
	}
	for _, r := range v {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) {
			return invalid(field, "%s: whitespace and control characters are not allowed", quote(v))
		}
	}
	return nil
}

// checkKey checks an attachment: a container id and an interface name.
func checkKey(prefix, containerID, ifname string) (datastore.Key, error) {
	if err := checkContainerID(prefix+"container_id", containerID); err != nil {
		return datastore.Key{}, err
	}
	if err := checkIfName(prefix+"ifname", ifname); err != nil {
		return datastore.Key{}, err
	}
	return datastore.Key{ContainerID: containerID, IfName: ifname}, nil
}

// checkAdd checks an AddNetworkRequest and returns its key and pod.
func checkAdd(r *ipamv1.AddNetworkRequest) (datastore.Key, datastore.Pod, error) {
	key, err := checkKey("", r.GetContainerId(), r.GetIfname())
	if err != nil {
		return key, datastore.Pod{}, err
	}
	if err := checkNetns("netns", r.GetNetns()); err != nil {
		return key, datastore.Pod{}, err
	}
	labels := []struct {
		field, v string
		max      int
	}{
		{"pod_namespace", r.GetPodNamespace(), MaxPodNamespace},
		{"pod_name", r.GetPodName(), MaxPodName},
		{"pod_uid", r.GetPodUid(), MaxPodUID},
	}
	for _, l := range labels {
		if err := checkLabel(l.field, l.v, l.max); err != nil {
			return key, datastore.Pod{}, err
		}
	}
	if h := r.GetHostIfname(); h != "" {
		if err := checkIfName("host_ifname", h); err != nil {
			return key, datastore.Pod{}, err
		}
	}
	pod := datastore.Pod{
		Namespace:  r.GetPodNamespace(),
		Name:       r.GetPodName(),
		UID:        r.GetPodUid(),
		Netns:      r.GetNetns(),
		HostIfName: r.GetHostIfname(),
	}
	return key, pod, nil
}

// checkValid checks a GarbageCollectRequest's attachments.
func checkValid(as []*ipamv1.Attachment) ([]datastore.Key, error) {
	keys := make([]datastore.Key, 0, len(as))
	for i, a := range as {
		k, err := checkKey(fmt.Sprintf("valid_attachments[%d].", i), a.GetContainerId(), a.GetIfname())
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}
