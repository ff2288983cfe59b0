package server

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// ErrSocketInUse: another process answers on the socket path.
var ErrSocketInUse = errors.New("socket in use")

// maxSunPath is the longest unix socket path Linux accepts (sun_path is
// 108 bytes with its NUL).
const maxSunPath = 107

// dialProbe bounds the probe of an existing socket. A listening socket
// accepts a connection in the kernel, without its owner's help, so this
// only matters when the owner's backlog is full.
const dialProbe = 2 * time.Second

// socket is a unix socket listening at a path, with the identity of the
// file so that Close removes only our own.
type socket struct {
	path string
	lis  *net.UnixListener
	info os.FileInfo
}

// listenSocket listens on a unix socket at path with mode 0600, creating
// its directory (0700) if missing.
//
// The mode never is wider than 0600, whatever the umask: the socket is
// bound inside a fresh private directory (0700, next to path so that both
// are on one filesystem), chmod-ed to 0600 there, and only then linked at
// path; the private directory is removed. link(2), unlike rename(2), fails
// if path exists, so of two ipamds starting at once only one gets the path.
//
// An existing file at path is replaced only if it is a socket nobody
// answers on; if something answers, the error is ErrSocketInUse.
func listenSocket(path string) (*socket, error) {
	if path == "" || !filepath.IsAbs(path) {
		return nil, fmt.Errorf("socket path %q: must be an absolute path", path)
	}
	path = filepath.Clean(path)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create socket directory: %w", err)
	}
	priv, err := os.MkdirTemp(dir, ".s")
	if err != nil {
		return nil, fmt.Errorf("create socket: %w", err)
	}
	defer os.RemoveAll(priv)
	tmp := filepath.Join(priv, "s")
	if len(path) > maxSunPath || len(tmp) > maxSunPath {
		return nil, fmt.Errorf("socket path %s is too long for a unix socket (at most %d bytes, %d for its directory): choose a shorter path", path, maxSunPath, maxSunPath-len(tmp)+len(dir))
	}
	lis, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", path, err)
	}
	// The path it was bound to goes away with priv; ours is removed by Close.
	lis.SetUnlinkOnClose(false)
	s, err := publish(lis, tmp, path)
	if err != nil {
		lis.Close()
		return nil, err
	}
	return s, nil
}

// publish sets the bound socket's mode and links it at path, replacing a
// stale socket there.
func publish(lis *net.UnixListener, tmp, path string) (*socket, error) {
	if err := os.Chmod(tmp, 0o600); err != nil {
		return nil, fmt.Errorf("set socket mode: %w", err)
	}
	// Two attempts: a stale socket found the first time is removed, and a
	// second conflict means another ipamd linked its socket meanwhile.
	for attempt := 0; ; attempt++ {
		err := os.Link(tmp, path)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || attempt > 0 {
			return nil, fmt.Errorf("create socket %s: %w", path, err)
		}
		if err := removeStale(path); err != nil {
			return nil, err
		}
	}
	info, err := os.Lstat(path)
	if err != nil {
		return nil, fmt.Errorf("create socket %s: %w", path, err)
	}
	return &socket{path: path, lis: lis, info: info}, nil
}

// removeStale removes the socket at path if nothing answers on it.
func removeStale(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("%s exists and is not a socket (%s): remove it or choose another socket path", path, fi.Mode().Type())
	}
	conn, err := net.DialTimeout("unix", path, dialProbe)
	switch {
	case err == nil:
		conn.Close()
		return fmt.Errorf("%w: another ipamd is serving on %s: stop it first, or give this one another socket path", ErrSocketInUse, path)
	case errors.Is(err, syscall.ECONNREFUSED):
		// Bound by nobody: a crashed ipamd's leftover.
	case errors.Is(err, fs.ErrNotExist):
		return nil
	default:
		return fmt.Errorf("cannot tell whether something serves on %s, so it is left in place: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}

// close stops listening and removes the socket file if it still is ours.
func (s *socket) close() error {
	err := s.lis.Close()
	if errors.Is(err, net.ErrClosed) {
		err = nil
	}
	if fi, serr := os.Lstat(s.path); serr == nil && os.SameFile(fi, s.info) {
		if rerr := os.Remove(s.path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			err = errors.Join(err, fmt.Errorf("remove socket: %w", rerr))
		}
	}
	return err
}
