package ipamc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// opErr is a connection error as net.Dialer returns it.
func opErr(errno syscall.Errno) error {
	return &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", errno)}
}

// Only an absent socket or one nobody listens on is absence.
func TestAbsent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{opErr(syscall.ENOENT), true},
		{opErr(syscall.ECONNREFUSED), true},
		{opErr(syscall.ENOTDIR), true},
		{fmt.Errorf("wrapped: %w", opErr(syscall.ECONNREFUSED)), true},
		{fs.ErrNotExist, true},
		{opErr(syscall.EAGAIN), false}, // the listen backlog is full: ipamd is there
		{opErr(syscall.EACCES), false},
		{opErr(syscall.ETIMEDOUT), false},
		{context.DeadlineExceeded, false},
		{errors.New("connection closed before server preface received"), false},
		{nil, false},
	} {
		if got := absent(tc.err); got != tc.want {
			t.Errorf("absent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// A call's Unavailable is judged by the last dial when it failed, by a
// new connection otherwise.
func TestWhyUnavailable(t *testing.T) {
	dir, err := os.MkdirTemp("", "ipamc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "s")
	lis, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lis.Close() })
	ctx := context.Background()

	d := &dialer{path: path}
	if err := d.whyUnavailable(ctx); err != nil {
		t.Errorf("no dial yet, socket listening: %v; want nil (ipamd is there)", err)
	}
	d.last, d.tried = opErr(syscall.EAGAIN), true
	if err := d.whyUnavailable(ctx); !errors.Is(err, syscall.EAGAIN) || absent(err) {
		t.Errorf("last dial EAGAIN: %v; want it, not absence", err)
	}
	d.last = opErr(syscall.ECONNREFUSED)
	if err := d.whyUnavailable(ctx); !absent(err) {
		t.Errorf("last dial refused: %v; want absence", err)
	}
	conn, err := d.dial(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := d.whyUnavailable(ctx); err != nil {
		t.Errorf("after a dial that connected, socket listening: %v; want nil", err)
	}
	lis.Close() // removes the socket
	if err := d.whyUnavailable(ctx); !absent(err) {
		t.Errorf("after a dial that connected, socket gone: %v; want absence", err)
	}
	if _, err := d.dial(ctx, ""); !absent(err) {
		t.Fatalf("dial of a removed socket: %v", err)
	}
	if err, failed := d.lastFailed(); !failed || !absent(err) {
		t.Errorf("lastFailed = %v, %v; want the dial's absence", err, failed)
	}
}
