package echo

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"
)

// IdleTimeout closes a TCP connection that sends no request for this long,
// so that a client that went away does not hold a goroutine forever.
const IdleTimeout = 2 * time.Minute

// Server answers echo requests over TCP and UDP on one address and port.
// Listen creates it (in the calling thread's network namespace: the
// sockets stay in that namespace whichever thread serves them later);
// Serve answers until its context ends.
type Server struct {
	name string
	addr netip.AddrPort
	tcp  *net.TCPListener
	udp  *net.UDPConn

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// Serve listens on addr (IP:port, e.g. "0.0.0.0:7" or "198.18.0.11:7";
// ":7" means 0.0.0.0:7) for TCP and UDP and answers as name until ctx
// ends, then returns nil. It fails when it cannot listen or a listener
// breaks.
func Serve(ctx context.Context, addr, name string) error {
	s, err := Listen(addr, name)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}

// Listen binds TCP and UDP on addr. Port 0 picks a free port, the same
// for both protocols.
func Listen(addr, name string) (*Server, error) {
	ap, err := parseListen(addr)
	if err != nil {
		return nil, err
	}
	tcpNet, udpNet := "tcp4", "udp4"
	if ap.Addr().Is6() {
		tcpNet, udpNet = "tcp6", "udp6"
	}
	// Port 0: the kernel picks TCP's port; UDP may find it taken, so try
	// a few times.
	const tries = 8
	var lastErr error
	for range tries {
		s, err := listenOnce(ap, tcpNet, udpNet, name)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if ap.Port() != 0 || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	return nil, fmt.Errorf("echo listen %s: %w", ap, lastErr)
}

func listenOnce(ap netip.AddrPort, tcpNet, udpNet, name string) (*Server, error) {
	tl, err := net.ListenTCP(tcpNet, net.TCPAddrFromAddrPort(ap))
	if err != nil {
		return nil, err
	}
	port := uint16(tl.Addr().(*net.TCPAddr).Port)
	uap := netip.AddrPortFrom(ap.Addr(), port)
	ul, err := net.ListenUDP(udpNet, net.UDPAddrFromAddrPort(uap))
	if err != nil {
		_ = tl.Close()
		return nil, err
	}
	if err := enablePktinfo(ul, ap.Addr().Is4()); err != nil {
		_ = tl.Close()
		_ = ul.Close()
		return nil, fmt.Errorf("udp packet info: %w", err)
	}
	return &Server{name: name, addr: uap, tcp: tl, udp: ul, conns: map[net.Conn]struct{}{}}, nil
}

// parseListen accepts IP:port and :port (IPv4 wildcard).
func parseListen(addr string) (netip.AddrPort, error) {
	if strings.HasPrefix(addr, ":") {
		addr = "0.0.0.0" + addr
	}
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("echo listen address %q: want IP:port, e.g. 0.0.0.0:7: %w", addr, err)
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

// Addr is the address and port the server listens on.
func (s *Server) Addr() netip.AddrPort { return s.addr }

// Name is the host name the server answers with.
func (s *Server) Name() string { return s.name }

// Close releases the listeners of a server that is not serving (Serve
// closes them itself when it returns).
func (s *Server) Close() error {
	return errors.Join(s.tcp.Close(), s.udp.Close())
}

// Serve answers requests until ctx ends (then it returns nil) or a
// listener fails (then it returns the error). Either way it closes the
// listeners and every open connection, and waits for its goroutines.
func (s *Server) Serve(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		_ = s.Close()
		s.closeConns()
	})
	defer stop()

	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Go(func() { errc <- s.acceptLoop(ctx, &wg) })
	wg.Go(func() { errc <- s.udpLoop(ctx) })
	err := <-errc
	cancel()
	if err2 := <-errc; err == nil {
		err = err2
	}
	wg.Wait()
	if err != nil {
		return fmt.Errorf("echo serve %s: %w", s.addr, err)
	}
	return nil
}

// acceptLoop returns nil once ctx has ended, else the listener's error.
func (s *Server) acceptLoop(ctx context.Context, wg *sync.WaitGroup) error {
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("tcp accept: %w", err)
		}
		if !s.track(c) {
			_ = c.Close()
			return nil
		}
		wg.Go(func() {
			defer s.untrack(c)
			s.serveConn(c)
		})
	}
}

// serveConn answers each line of c until the peer closes, goes idle, or
// sends a line longer than maxLine.
func (s *Server) serveConn(c net.Conn) {
	defer c.Close()
	r := Reply{Seen: addrOf(c.RemoteAddr()), Me: addrOf(c.LocalAddr()), Host: s.name}
	out := encode(r)
	sc := bufio.NewScanner(c)
	sc.Buffer(make([]byte, 0, 128), maxLine)
	for {
		_ = c.SetReadDeadline(time.Now().Add(IdleTimeout))
		if !sc.Scan() {
			return
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// udpLoop answers each datagram from the address it arrived on.
func (s *Server) udpLoop(ctx context.Context) error {
	buf := make([]byte, 2048)
	oob := make([]byte, 512)
	for {
		_, oobn, _, peer, err := s.udp.ReadMsgUDPAddrPort(buf, oob)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("udp read: %w", err)
		}
		me := s.addr.Addr()
		if dst, ok := pktinfoDst(oob[:oobn]); ok {
			me = dst
		}
		out := encode(Reply{Seen: peer.Addr().Unmap(), Me: me, Host: s.name})
		// A write error (the peer's network is gone) only loses this
		// reply; the client retries or reports no reply.
		_, _, _ = s.udp.WriteMsgUDPAddrPort(out, pktinfoSrc(me), peer)
	}
}

// track records an open connection; false once the server is closing.
func (s *Server) track(c net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conns == nil {
		return false
	}
	s.conns[c] = struct{}{}
	return true
}

func (s *Server) untrack(c net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, c)
}

// closeConns closes every open connection and refuses new ones.
func (s *Server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
}

// addrOf is a TCP or UDP endpoint's address, IPv4-mapped addresses
// unmapped; the zero Addr for anything else.
func addrOf(a net.Addr) netip.Addr {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort().Addr().Unmap()
	case *net.UDPAddr:
		return a.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}
