package echo

import (
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// enablePktinfo asks the kernel to tell, with each datagram, the address it
// was sent to: a server on a wildcard address must answer from that
// address, and report it as me.
func enablePktinfo(c *net.UDPConn, is4 bool) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		if is4 {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_PKTINFO, 1)
		} else {
			serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_RECVPKTINFO, 1)
		}
	})
	if err != nil {
		return err
	}
	return serr
}

// pktinfoDst is the destination address of a received datagram, from its
// control messages.
func pktinfoDst(oob []byte) (netip.Addr, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return netip.Addr{}, false
	}
	for _, m := range msgs {
		switch {
		case m.Header.Level == unix.IPPROTO_IP && m.Header.Type == unix.IP_PKTINFO && len(m.Data) >= unix.SizeofInet4Pktinfo:
			// struct in_pktinfo: ifindex, spec_dst, addr (the header's
			// destination, the address the client used).
			return netip.AddrFrom4([4]byte(m.Data[8:12])), true
		case m.Header.Level == unix.IPPROTO_IPV6 && m.Header.Type == unix.IPV6_PKTINFO && len(m.Data) >= unix.SizeofInet6Pktinfo:
			// struct in6_pktinfo: addr, ifindex.
			return netip.AddrFrom16([16]byte(m.Data[0:16])).Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// pktinfoSrc is the control message that makes a reply leave from src;
// nil (the kernel chooses) when src is not a unicast address.
func pktinfoSrc(src netip.Addr) []byte {
	switch {
	case !src.IsValid() || src.IsUnspecified() || src.IsMulticast():
		return nil
	case src.Is4():
		return unix.PktInfo4(&unix.Inet4Pktinfo{Spec_dst: src.As4()})
	default:
		return unix.PktInfo6(&unix.Inet6Pktinfo{Addr: src.As16()})
	}
}
