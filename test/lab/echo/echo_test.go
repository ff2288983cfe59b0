package echo

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitFor bounds every wait of these tests; none asserts on elapsed time.
const waitFor = 30 * time.Second

var loopback = netip.MustParseAddr("127.0.0.1")

// startServer listens on addr as name and serves until the test ends;
// the test fails if Serve does not return nil.
func startServer(t *testing.T, addr, name string) *Server {
	t.Helper()
	s, err := Listen(addr, name)
	if err != nil {
		t.Fatalf("Listen(%q): %v", addr, err)
	}
	serveUntilCleanup(t, s)
	return s
}

func serveUntilCleanup(t *testing.T, s *Server) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(waitFor):
			t.Errorf("Serve did not return after its context ended")
		}
	})
}

func probeCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return ctx
}

func TestServeProbeLoopback(t *testing.T) {
	s := startServer(t, "127.0.0.1:0", "lo-host")
	if s.Addr().Port() == 0 || s.Addr().Addr() != loopback {
		t.Fatalf("Addr() = %s, want 127.0.0.1 with a port", s.Addr())
	}
	for _, proto := range []string{"tcp", "udp"} {
		t.Run(proto, func(t *testing.T) {
			got, err := Probe(probeCtx(t), "", s.Addr(), proto)
			if err != nil {
				t.Fatalf("Probe: %v", err)
			}
			want := Reply{Seen: loopback, Me: loopback, Host: "lo-host"}
			if got != want {
				t.Errorf("Probe = %+v, want %+v", got, want)
			}
		})
	}
}

func TestTCPAnswersEachLine(t *testing.T) {
	s := startServer(t, "127.0.0.1:0", "h")
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitFor))
	if _, err := c.Write([]byte("a\nb\n\nc\n")); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(c)
	for i := range 4 {
		line, err := r.ReadBytes('\n')
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		got, err := decode(line)
		if err != nil || got.Host != "h" || got.Seen != loopback {
			t.Fatalf("reply %d = %+v, %v", i, got, err)
		}
	}
}

func TestTCPLongLineClosesConnection(t *testing.T) {
	s := startServer(t, "127.0.0.1:0", "h")
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitFor))
	// The server may close while we still write; only the read matters.
	_, _ = c.Write([]byte(strings.Repeat("x", 4*maxLine)))
	if b, err := bufio.NewReader(c).ReadBytes('\n'); err == nil {
		t.Fatalf("server answered an oversized line: %q", b)
	} else if isTimeout(err) {
		t.Fatalf("server kept the connection open: %v", err)
	}
}

func TestServeStopsAndClosesConnections(t *testing.T) {
	s, err := Listen("127.0.0.1:0", "h")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx) }()
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(waitFor))
	r := bufio.NewReader(c)
	if _, err := c.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.ReadBytes('\n'); err != nil { // the connection is served
		t.Fatal(err)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve after cancel = %v, want nil", err)
		}
	case <-time.After(waitFor):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := r.ReadBytes('\n'); err == nil || isTimeout(err) {
		t.Errorf("open connection after Serve returned: read err %v, want closed", err)
	}
	if _, err := Probe(probeCtx(t), "", s.Addr(), "tcp"); err == nil {
		t.Errorf("probe after Serve returned succeeded")
	}
}

func TestListenErrors(t *testing.T) {
	for _, addr := range []string{"", "7", "localhost:7", "0.0.0.0", "203.0.113.4:99999"} {
		if s, err := Listen(addr, "h"); err == nil {
			_ = s.Close()
			t.Errorf("Listen(%q) succeeded", addr)
		} else if !strings.Contains(err.Error(), "IP:port") {
			t.Errorf("Listen(%q) = %v, want it to say IP:port", addr, err)
		}
	}
	s := startServer(t, "127.0.0.1:0", "h")
	_, err := Listen(s.Addr().String(), "h")
	if err == nil || !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), s.Addr().String()) {
		t.Errorf("Listen on a taken port = %v, want EADDRINUSE naming %s", err, s.Addr())
	}
}

func TestParseListen(t *testing.T) {
	for in, want := range map[string]string{
		":7":                     "0.0.0.0:7",
		"0.0.0.0:7":              "0.0.0.0:7",
		"198.18.0.11:7":          "198.18.0.11:7",
		"[::ffff:203.0.113.4]:7": "203.0.113.4:7",
		"[::]:7":                 "[::]:7",
	} {
		got, err := parseListen(in)
		if err != nil || got.String() != want {
			t.Errorf("parseListen(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
}

// closedPort is a loopback port nothing listens on (for tcp and udp).
func closedPort(t *testing.T) netip.AddrPort {
	t.Helper()
	s, err := Listen("127.0.0.1:0", "h")
	if err != nil {
		t.Fatal(err)
	}
	ap := s.Addr()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return ap
}

func TestProbeClosedPort(t *testing.T) {
	target := closedPort(t)
	for _, proto := range []string{"tcp", "udp"} {
		t.Run(proto, func(t *testing.T) {
			_, err := Probe(probeCtx(t), "", target, proto)
			if err == nil {
				t.Fatal("Probe of a closed port succeeded")
			}
			msg := err.Error()
			for _, want := range []string{target.String(), "the current netns", proto} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q does not name %q", msg, want)
				}
			}
			if !errors.Is(err, syscall.ECONNREFUSED) {
				t.Errorf("error %v is not ECONNREFUSED", err)
			}
		})
	}
}

func TestProbeInvalid(t *testing.T) {
	good := netip.MustParseAddrPort("127.0.0.1:7")
	for _, tc := range []struct {
		target netip.AddrPort
		proto  string
	}{
		{good, "icmp"},
		{good, ""},
		{netip.AddrPort{}, "tcp"},
		{netip.MustParseAddrPort("127.0.0.1:0"), "udp"},
	} {
		_, err := Probe(probeCtx(t), "", tc.target, tc.proto)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("Probe(%s, %q) = %v, want ErrInvalid", tc.target, tc.proto, err)
		}
	}
}

func TestProbeMissingNetns(t *testing.T) {
	path := t.TempDir() + "/no-such-netns"
	_, err := Probe(probeCtx(t), path, netip.MustParseAddrPort("127.0.0.1:7"), "tcp")
	if err == nil || !strings.Contains(err.Error(), "netns "+path) || !strings.Contains(err.Error(), "127.0.0.1:7") {
		t.Errorf("Probe from a missing netns = %v, want an error naming it and the target", err)
	}
}

// udpPeer is a raw UDP socket on loopback that answers datagrams with
// answer, but drops the first skip of them; nil answer: it answers none.
func udpPeer(t *testing.T, answer []byte, skip int) netip.AddrPort {
	t.Helper()
	c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.MustParseAddrPort("127.0.0.1:0")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	go func() {
		buf := make([]byte, 2048)
		for n := 0; ; n++ {
			_, peer, err := c.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			if answer != nil && n >= skip {
				_, _ = c.WriteToUDPAddrPort(answer, peer)
			}
		}
	}()
	return c.LocalAddr().(*net.UDPAddr).AddrPort()
}

func TestProbeUDPRetriesALostDatagram(t *testing.T) {
	want := Reply{Seen: loopback, Me: loopback, Host: "second"}
	target := udpPeer(t, encode(want), 1)
	got, err := Probe(probeCtx(t), "", target, "udp")
	if err != nil || got != want {
		t.Fatalf("Probe of a peer that drops the first datagram = %+v, %v; want %+v", got, err, want)
	}
}

func TestProbeNoReply(t *testing.T) {
	target := udpPeer(t, nil, 0)
	// A short deadline on purpose: the probe must give up; nothing here
	// depends on how long it took.
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := Probe(ctx, "", target, "udp")
	if !errors.Is(err, ErrNoReply) || !strings.Contains(err.Error(), target.String()) {
		t.Fatalf("Probe of a silent peer = %v, want ErrNoReply naming %s", err, target)
	}
}

func TestProbeBadReply(t *testing.T) {
	for _, answer := range []string{"hello\n", `{"seen":"203.0.113.4"}` + "\n", `{"seen":"x","me":"203.0.113.4"}`} {
		target := udpPeer(t, []byte(answer), 0)
		_, err := Probe(probeCtx(t), "", target, "udp")
		if !errors.Is(err, ErrBadReply) {
			t.Errorf("Probe answered %q = %v, want ErrBadReply", answer, err)
		}
	}
}

func TestDecode(t *testing.T) {
	good := Reply{Seen: netip.MustParseAddr("198.18.0.21"), Me: netip.MustParseAddr("198.18.0.37"), Host: "vpclab-n2-p1"}
	line := encode(good)
	if want := `{"seen":"198.18.0.21","me":"198.18.0.37","host":"vpclab-n2-p1"}` + "\n"; string(line) != want {
		t.Errorf("encode = %q, want %q", line, want)
	}
	for _, tc := range []struct {
		in   string
		want Reply
		ok   bool
	}{
		{string(line), good, true},
		{`  {"seen":"203.0.113.4","me":"203.0.113.8","host":"","extra":1}` + "\r\n", Reply{Seen: netip.MustParseAddr("203.0.113.4"), Me: netip.MustParseAddr("203.0.113.8")}, true},
		{``, Reply{}, false},
		{`{}`, Reply{}, false},
		{`{"seen":"","me":"203.0.113.8"}`, Reply{}, false},
		{`[1,2]`, Reply{}, false},
		{strings.Repeat("z", 500), Reply{}, false},
	} {
		got, err := decode([]byte(tc.in))
		if tc.ok != (err == nil) || got != tc.want {
			t.Errorf("decode(%.20q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrBadReply) {
			t.Errorf("decode(%.20q) error %v is not ErrBadReply", tc.in, err)
		}
	}
}
