// Package echo owns the lab's echo protocol: the server every lab host
// runs (node, pod, internet host), the client probe that runs inside a
// chosen network namespace, and Check, one connectivity assertion of the
// lab's matrix.
//
// The protocol is deliberately tiny. A server listens on one address and
// port for both TCP and UDP. Each request — a line over TCP (one
// connection may carry several), or a datagram over UDP — is answered with
// one JSON line:
//
//	{"seen":"198.18.0.21","me":"198.18.0.37","host":"vpclab-n2-p1"}
//
// seen is the request's source address as the server saw it (so a NAT on
// the way shows), me the local address the request arrived on (the
// destination the client used), host the server's name. A UDP reply leaves
// from the address the request arrived on, even when the server listens on
// a wildcard address, so that a connected client socket accepts it.
package echo
