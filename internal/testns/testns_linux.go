// Package testns makes the network namespaces of privileged tests: named
// (bind-mounted under /var/run/netns, so that plugin processes can open
// them by path), with loopback up, and removed when the test ends,
// whatever happens to it. Only tests import it.
package testns

import (
	"errors"
	"os"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/containernetworking/plugins/pkg/testutils"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// New creates a namespace with loopback up; tb.Cleanup removes it.
func New(tb testing.TB) ns.NetNS {
	tb.Helper()
	n, err := testutils.NewNS()
	if err != nil {
		tb.Fatalf("create netns: %v", err)
	}
	tb.Cleanup(func() {
		if err := Remove(n); err != nil {
			tb.Errorf("remove netns: %v", err)
		}
	})
	err = n.Do(func(ns.NetNS) error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		return netlink.LinkSetUp(lo)
	})
	if err != nil {
		tb.Fatalf("loopback up in %s: %v", n.Path(), err)
	}
	return n
}

// Remove closes n and removes its mount point; the kernel destroys the
// namespace, and the links in it, once nothing holds it. The unmount is
// lazy: a copy of the mount that another mount namespace holds (ip netns
// exec, a concurrent test process) must not make it fail with EBUSY.
// Removing twice is not an error.
func Remove(n ns.NetNS) error {
	_ = n.Close()
	p := n.Path()
	if err := unix.Unmount(p, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return &os.PathError{Op: "unmount", Path: p, Err: err}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
