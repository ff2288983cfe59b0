package echo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"time"
)

// DefaultTimeout bounds a probe whose context has no deadline.
const DefaultTimeout = 10 * time.Second

// udpRetryAfter is the longest a UDP probe waits before it sends its one
// retry (it waits at most half of its time). A late reply to the first
// datagram still counts.
const udpRetryAfter = 2 * time.Second

// request is what a probe sends: any line or datagram does.
var request = []byte("echo\n")

// Probe sends one echo request to target over proto ("tcp" or "udp") from
// inside the network namespace at netnsPath ("" = the caller's) and
// returns the reply. The deadline is ctx's, else DefaultTimeout; UDP sends
// once more when the first datagram gets no answer. Errors name the
// target and the namespace; a probe that got nothing back wraps
// ErrNoReply, a refused one syscall.ECONNREFUSED.
func Probe(ctx context.Context, netnsPath string, target netip.AddrPort, proto string) (Reply, error) {
	r, err := probeIn(ctx, netnsPath, target, proto)
	if err != nil {
		return Reply{}, fmt.Errorf("echo %s to %s from %s: %w", proto, target, nsLabel(netnsPath), err)
	}
	return r, nil
}

func probeIn(ctx context.Context, netnsPath string, target netip.AddrPort, proto string) (Reply, error) {
	if !target.IsValid() || target.Port() == 0 {
		return Reply{}, fmt.Errorf("%w: target %q needs an address and a port", ErrInvalid, target)
	}
	if proto != "tcp" && proto != "udp" {
		return Reply{}, fmt.Errorf("%w: protocol %q, want tcp or udp", ErrInvalid, proto)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	target = netip.AddrPortFrom(target.Addr().Unmap(), target.Port())
	var r Reply
	err := inNetNS(netnsPath, func() error {
		var err error
		if proto == "tcp" {
			r, err = probeTCP(ctx, target)
		} else {
			r, err = probeUDP(ctx, target)
		}
		return err
	})
	return r, err
}

// nsLabel names a namespace in an error.
func nsLabel(path string) string {
	if path == "" {
		return "the current netns"
	}
	return "netns " + path
}

// network is "tcp4"/"udp4" or "tcp6"/"udp6" for target.
func network(proto string, target netip.AddrPort) string {
	if target.Addr().Is4() {
		return proto + "4"
	}
	return proto + "6"
}

// dial connects a socket to target in the calling thread's namespace, and
// makes ctx's end interrupt its I/O; the returned func undoes that.
func dial(ctx context.Context, proto string, target netip.AddrPort) (net.Conn, func() bool, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, network(proto, target), target.String())
	if err != nil {
		return nil, nil, noReply(ctx, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Now()) })
	return c, stop, nil
}

func probeTCP(ctx context.Context, target netip.AddrPort) (Reply, error) {
	c, stop, err := dial(ctx, "tcp", target)
	if err != nil {
		return Reply{}, err
	}
	defer c.Close()
	defer stop()
	dl, _ := ctx.Deadline()
	_ = c.SetDeadline(dl)
	if _, err := c.Write(request); err != nil {
		return Reply{}, noReply(ctx, err)
	}
	line, err := bufio.NewReaderSize(c, maxLine).ReadSlice('\n')
	if err != nil {
		return Reply{}, noReply(ctx, err)
	}
	return decode(line)
}

func probeUDP(ctx context.Context, target netip.AddrPort) (Reply, error) {
	c, stop, err := dial(ctx, "udp", target)
	if err != nil {
		return Reply{}, err
	}
	defer c.Close()
	defer stop()
	dl, _ := ctx.Deadline()
	first := min(time.Until(dl)/2, udpRetryAfter)
	buf := make([]byte, maxLine)
	for attempt := range 2 {
		if err := ctx.Err(); err != nil {
			return Reply{}, noReply(ctx, err)
		}
		if _, err := c.Write(request); err != nil {
			return Reply{}, noReply(ctx, err)
		}
		wait := dl
		if attempt == 0 {
			wait = time.Now().Add(first)
		}
		_ = c.SetReadDeadline(wait)
		n, err := c.Read(buf)
		if err == nil {
			return decode(buf[:n])
		}
		if attempt == 0 && isTimeout(err) && ctx.Err() == nil {
			continue // lost datagram: send once more
		}
		return Reply{}, noReply(ctx, err)
	}
	return Reply{}, ErrNoReply // not reached
}

// noReply marks a timeout or the context's end as ErrNoReply; other errors
// (refused, unreachable) pass as they are.
func noReply(ctx context.Context, err error) error {
	if isTimeout(err) || ctx.Err() != nil {
		return fmt.Errorf("%w: %w", ErrNoReply, err)
	}
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}
