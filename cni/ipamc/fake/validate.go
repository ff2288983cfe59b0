package fake

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"google.golang.org/grpc/codes"

	"github.com/vpc-cni/vpc-cni/cni/ipamc"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// The request checks ipamd makes (ipamd/server), refused with
// InvalidArgument before anything changes. The bounds are ipamd's.
const (
	maxContainerID = 256
	maxIfName      = 15
	maxNetns       = 4096
	maxPodNS       = 63
	maxPodName     = 253
	maxPodUID      = 128
)

func invalid(field, format string, args ...any) error {
	return errf(codes.InvalidArgument, "invalid %s: %s", field, fmt.Sprintf(format, args...))
}

// checkContainerID: a letter or digit, then letters, digits, '_', '.', '-'.
func checkContainerID(field, id string) error {
	if id == "" || len(id) > maxContainerID {
		return invalid(field, "%d bytes; want 1 to %d", len(id), maxContainerID)
	}
	for i, c := range []byte(id) {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			return invalid(field, "%q: a letter or digit, then letters, digits, '_', '.' and '-' only", id)
		}
	}
	return nil
}

// checkIfName: 1 to 15 bytes, not "." or "..", no '/', ':', space or
// control character.
func checkIfName(field, name string) error {
	if name == "" || len(name) > maxIfName || name == "." || name == ".." || !utf8.ValidString(name) {
		return invalid(field, "%q is not an interface name (1 to %d bytes)", name, maxIfName)
	}
	if strings.ContainsFunc(name, func(r rune) bool {
		return r == '/' || r == ':' || unicode.IsSpace(r) || unicode.IsControl(r)
	}) {
		return invalid(field, "%q: '/', ':', whitespace and control characters are not allowed", name)
	}
	return nil
}

func checkKey(prefix, containerID, ifname string) (ipamc.Attachment, error) {
	if err := checkContainerID(prefix+"container_id", containerID); err != nil {
		return ipamc.Attachment{}, err
	}
	if err := checkIfName(prefix+"ifname", ifname); err != nil {
		return ipamc.Attachment{}, err
	}
	return ipamc.Attachment{ContainerID: containerID, IfName: ifname}, nil
}

// checkLabel bounds an optional free-form field: printable, no space.
func checkLabel(field, v string, max int) error {
	if len(v) > max || strings.ContainsFunc(v, func(r rune) bool { return !unicode.IsPrint(r) || unicode.IsSpace(r) }) {
		return invalid(field, "%q: at most %d printable characters without whitespace", v, max)
	}
	return nil
}

func checkAdd(r *ipamv1.AddNetworkRequest) error {
	if _, err := checkKey("", r.GetContainerId(), r.GetIfname()); err != nil {
		return err
	}
	ns := r.GetNetns()
	if !strings.HasPrefix(ns, "/") || len(ns) > maxNetns || strings.ContainsRune(ns, 0) {
		return invalid("netns", "%q: want an absolute path (CNI_NETNS)", ns)
	}
	for _, l := range []struct {
		field, v string
		max      int
	}{
		{"pod_namespace", r.GetPodNamespace(), maxPodNS},
		{"pod_name", r.GetPodName(), maxPodName},
		{"pod_uid", r.GetPodUid(), maxPodUID},
	} {
		if err := checkLabel(l.field, l.v, l.max); err != nil {
			return err
		}
	}
	if h := r.GetHostIfname(); h != "" {
		return checkIfName("host_ifname", h)
	}
	return nil
}

// checkValid checks GarbageCollect's attachments and returns them as a
// set.
func checkValid(as []*ipamv1.Attachment) (map[ipamc.Attachment]struct{}, error) {
	set := make(map[ipamc.Attachment]struct{}, len(as))
	for i, a := range as {
		k, err := checkKey(fmt.Sprintf("valid_attachments[%d].", i), a.GetContainerId(), a.GetIfname())
		if err != nil {
			return nil, err
		}
		set[k] = struct{}{}
	}
	return set, nil
}
