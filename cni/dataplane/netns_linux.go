package dataplane

import (
	"errors"
	"fmt"
	"io/fs"
	"slices"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// nsID identifies a namespace: the device and inode of its nsfs file.
type nsID struct{ dev, ino uint64 }

func idOf(n ns.NetNS) (nsID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(n.Fd()), &st); err != nil {
		return nsID{}, err
	}
	return nsID{dev: uint64(st.Dev), ino: st.Ino}, nil
}

// hostIDsOf are the namespaces no pod may use: the dataplane's host and
// the namespace New was called from (the same one unless Options.HostNS
// names another, as in the tests).
func hostIDsOf(hostNS ns.NetNS) ([]nsID, error) {
	host, err := idOf(hostNS)
	if err != nil {
		return nil, fmt.Errorf("stat host netns %q: %w", hostNS.Path(), err)
	}
	cur, err := ns.GetCurrentNS()
	if err != nil {
		return nil, fmt.Errorf("open own netns: %w", err)
	}
	defer cur.Close()
	own, err := idOf(cur)
	if err != nil {
		return nil, fmt.Errorf("stat own netns %q: %w", cur.Path(), err)
	}
	if own == host {
		return []nsID{host}, nil
	}
	return []nsID{host, own}, nil
}

// netnsError says why a path is not a usable pod namespace; it is
// ErrNetNS to errors.Is.
type netnsError struct {
	path string
	why  string
	gone bool // the path does not exist or is no namespace (any more)
	host bool // the path is the host's own namespace
	err  error
}

func (e *netnsError) Error() string {
	msg := fmt.Sprintf("%v: %s %s", ErrNetNS, e.path, e.why)
	if e.err != nil {
		msg += ": " + e.err.Error()
	}
	return msg
}

func (e *netnsError) Is(target error) bool { return target == ErrNetNS }
func (e *netnsError) Unwrap() error        { return e.err }

// openPod opens path as a pod's network namespace: it must exist, be a
// network namespace and not be one of the host's. Its errors are
// *netnsError (ErrNetNS).
func (l *Linux) openPod(path string) (ns.NetNS, error) {
	n, err := ns.GetNS(path)
	if err != nil {
		var notExist ns.NSPathNotExistErr
		var notNS ns.NSPathNotNSErr
		switch {
		case errors.As(err, &notExist) || errors.Is(err, fs.ErrNotExist):
			return nil, &netnsError{path: path, why: "does not exist", gone: true}
		case errors.As(err, &notNS):
			return nil, &netnsError{path: path, why: "is not a network namespace", gone: true}
		}
		return nil, &netnsError{path: path, why: "cannot be opened", err: err}
	}
	id, err := idOf(n)
	if err != nil {
		n.Close()
		return nil, &netnsError{path: path, why: "cannot be read", err: err}
	}
	if slices.Contains(l.hostIDs, id) {
		n.Close()
		return nil, &netnsError{path: path, why: "is the host's own network namespace, not a pod's", host: true}
	}
	return n, nil
}

// nsGone and nsHost classify an openPod error.
func nsGone(err error) bool {
	var e *netnsError
	return errors.As(err, &e) && e.gone
}

func nsHost(err error) bool {
	var e *netnsError
	return errors.As(err, &e) && e.host
}

// CheckNetNS says whether path can be a pod's network namespace: it
// exists, is a network namespace and is neither the host's namespace nor
// the one New was called from. The error wraps ErrNetNS and says which.
func (l *Linux) CheckNetNS(path string) error {
	if err := l.enter(); err != nil {
		return err
	}
	defer l.mu.RUnlock()
	n, err := l.openPod(path)
	if err != nil {
		return err
	}
	return n.Close()
}

// PodIfExists says whether ifName already exists in the pod namespace
// netns. A bad name is ErrInvalid, a path CheckNetNS refuses ErrNetNS.
func (l *Linux) PodIfExists(netns, ifName string) (bool, error) {
	if err := validIfName(ifName); err != nil {
		return false, fmt.Errorf("%w: pod interface name: %v", ErrInvalid, err)
	}
	if err := l.enter(); err != nil {
		return false, err
	}
	defer l.mu.RUnlock()
	podNS, err := l.openPod(netns)
	if err != nil {
		return false, err
	}
	defer podNS.Close()
	var exists bool
	err = podNS.Do(func(ns.NetNS) error {
		_, err := (&netlink.Handle{}).LinkByName(ifName)
		if isNotFound(err) {
			return nil
		}
		exists = err == nil
		return err
	})
	if err != nil {
		return false, fmt.Errorf("find %s in %s: %w", ifName, netns, err)
	}
	return exists, nil
}
