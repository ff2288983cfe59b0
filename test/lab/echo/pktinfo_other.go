//go:build !linux

package echo

import (
	"net"
	"net/netip"
)

// Elsewhere than Linux the server reports its bound address as me and lets
// the kernel choose a reply's source.

func enablePktinfo(*net.UDPConn, bool) error { return nil }
func pktinfoDst([]byte) (netip.Addr, bool)   { return netip.Addr{}, false }
func pktinfoSrc(netip.Addr) []byte           { return nil }
