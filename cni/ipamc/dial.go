package ipamc

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"sync"
	"syscall"
)

// dialer connects to ipamd's socket for gRPC and remembers how its last
// attempt ended, so that a call that failed with Unavailable can tell an
// ipamd that is not there from one that is there and cannot serve it.
type dialer struct {
	path string

	mu sync.Mutex
	// last is the last attempt's error, nil once it connected; tried is
	// whether there was one.
	last  error
	tried bool
}

// dial is gRPC's context dialer.
func (d *dialer) dial(ctx context.Context, _ string) (net.Conn, error) {
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "unix", d.path)
	d.mu.Lock()
	d.last, d.tried = err, true
	d.mu.Unlock()
	return conn, err
}

// lastFailed is the error of the last attempt to connect, if it failed:
// gRPC then holds no connection to ipamd, and a call's Unavailable is
// gRPC's own, that attempt's failure.
func (d *dialer) lastFailed() (error, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last, d.tried && d.last != nil
}

// probe connects to the socket once, and hangs up: nil when something
// accepts connections there.
func (d *dialer) probe(ctx context.Context) error {
	var nd net.Dialer
	conn, err := nd.DialContext(ctx, "unix", d.path)
	if err != nil {
		return err
	}
	return conn.Close()
}

// absent reports a connection that failed because nothing is there to
// answer: the socket does not exist, or nothing listens on it (a stale
// socket file, or a file that is not a socket). Any other failure (the
// listener's backlog full, a permission refused) is not absence.
func absent(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.ECONNREFUSED)
}

// whyUnavailable is what ended a call that failed with Unavailable: nil
// when ipamd is there (the status is ipamd's own, or the connection broke
// during the call and ipamd accepts connections again), else the
// connection error that shows nothing answers.
func (d *dialer) whyUnavailable(ctx context.Context) error {
	if err, failed := d.lastFailed(); failed {
		return err
	}
	// A connection had been made: the call reached ipamd, which answered
	// Unavailable, or lost it midway; ipamd is not there if a new
	// connection fails.
	return d.probe(ctx)
}
