package netenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// RunDir is where named network namespaces live, as with `ip netns`.
// Tests may point it elsewhere.
var RunDir = "/var/run/netns"

// ErrExists is returned when a namespace to create is already there.
var ErrExists = errors.New("already exists")

// NSPath is the bind mount of the named namespace.
func NSPath(name string) string { return filepath.Join(RunDir, name) }

// checkNSName refuses names that are not one plain file name.
func checkNSName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
		return fmt.Errorf("%w: namespace %q", ErrBadName, name)
	}
	return nil
}

// CreateNS creates the named network namespace, as `ip netns add` does (a
// new namespace bind-mounted on RunDir/name), and returns its path. Its
// loopback is down, as in any new namespace. An existing name is ErrExists.
func CreateNS(name string) (string, error) {
	if err := checkNSName(name); err != nil {
		return "", err
	}
	if err := os.MkdirAll(RunDir, 0o755); err != nil {
		return "", fmt.Errorf("create netns %s: %w", name, err)
	}
	p := NSPath(name)
	f, err := os.OpenFile(p, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
	if errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("create netns %s: %w (remove the lab first)", name, ErrExists)
	}
	if err != nil {
		return "", fmt.Errorf("create netns %s: %w", name, err)
	}
	_ = f.Close()
	if err := bindNewNS(p); err != nil {
		_ = os.Remove(p)
		return "", fmt.Errorf("create netns %s: %w", name, err)
	}
	return p, nil
}

// bindNewNS makes a new network namespace on a throwaway thread and bind
// mounts it on p. The thread stays locked, so the runtime ends it with the
// goroutine instead of reusing a thread in another namespace.
func bindNewNS(p string) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare: %w", err)
			return
		}
		src := fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		if err := unix.Mount(src, p, "none", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("bind mount: %w", err)
			return
		}
		errc <- nil
	}()
	return <-errc
}

// DeleteNS removes a named namespace: a lazy unmount (a copy of the mount
// held by another mount namespace, such as `ip netns exec`, must not make it
// fail with EBUSY) and the mount point. The kernel destroys the namespace
// and its links once no process and no open file holds it. A missing
// namespace is not an error.
func DeleteNS(name string) error {
	if err := checkNSName(name); err != nil {
		return err
	}
	p := NSPath(name)
	err := unix.Unmount(p, unix.MNT_DETACH)
	if err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete netns %s: unmount: %w", name, err)
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete netns %s: %w", name, err)
	}
	return nil
}

// List returns the names of the lab's namespaces (every P-* entry of
// RunDir), sorted.
func List(prefix string) ([]string, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(RunDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list netns: %w", err)
	}
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix+"-") {
			out = append(out, e.Name())
		}
	}
	slices.Sort(out)
	return out, nil
}

// DeleteAll removes every namespace named P-* and nothing else. It is
// idempotent. Processes still running in them keep them alive (without a
// name): stop those first.
func DeleteAll(prefix string) error {
	names, err := List(prefix)
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		errs = append(errs, DeleteNS(n))
	}
	return errors.Join(errs...)
}

// Exists reports whether the named namespace is there.
func Exists(name string) bool {
	_, err := os.Stat(NSPath(name))
	return err == nil
}
