package netenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
)

// fabricSysctls make the fabric a router that checks sources per link:
// the kernel applies the larger of conf/all and a link's rp_filter, so all
// and default are 0 and each ENI link gets 1 (strict) when it is created.
// IPv6 is off in the fabric and the internet host (no router
// solicitations or duplicate address detection on their links).
var fabricSysctls = append([]sysctl{
	{key: "net/ipv4/ip_forward", val: "1"},
	{key: "net/ipv4/conf/all/rp_filter", val: "0"},
	{key: "net/ipv4/conf/default/rp_filter", val: "0"},
	{key: "net/ipv4/conf/all/send_redirects", val: "0"},
	{key: "net/ipv4/conf/default/send_redirects", val: "0"},
}, noIPv6...)

var noIPv6 = []sysctl{
	{key: "net/ipv6/conf/all/disable_ipv6", val: "1", optional: true},
	{key: "net/ipv6/conf/default/disable_ipv6", val: "1", optional: true},
}

// CreateFabric creates P-fabric (loopback up with the EC2 API, IMDS and
// gateway addresses as /32s, forwarding on, per-link strict reverse-path
// filtering) and P-inet (the internet host: inet0 203.0.113.10/24, default
// via the fabric's finet 203.0.113.1/24). Either namespace existing already
// is ErrExists (remove the lab first); on any failure what it made is
// removed again.
func CreateFabric(prefix string) (err error) {
	if err := ValidatePrefix(prefix); err != nil {
		return err
	}
	fab, inet := FabricNS(prefix), InetNS(prefix)
	if _, err := CreateNS(fab); err != nil {
		return fmt.Errorf("create fabric: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, DeleteNS(fab))
		}
	}()
	if _, err := CreateNS(inet); err != nil {
		return fmt.Errorf("create fabric: %w", err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, DeleteNS(inet))
		}
	}()
	if err := setupFabric(fab); err != nil {
		return fmt.Errorf("create fabric: %w", err)
	}
	if err := setupInet(fab, inet); err != nil {
		return fmt.Errorf("create internet host: %w", err)
	}
	return nil
}

// setupFabric: sysctls, loopback up with its /32s.
func setupFabric(fab string) error {
	if err := setSysctls(fab, fabricSysctls...); err != nil {
		return err
	}
	h, err := openNS(fab)
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.linkUp("lo"); err != nil {
		return err
	}
	for _, a := range []netip.Addr{EC2Addr, IMDSAddr, Gateway} {
		if err := h.addAddr("lo", netip.PrefixFrom(a, 32)); err != nil {
			return err
		}
	}
	return nil
}

// setupInet: the internet host and its link to the fabric.
func setupInet(fab, inet string) error {
	if err := setSysctls(inet, noIPv6...); err != nil {
		return err
	}
	fh, err := openNS(fab)
	if err != nil {
		return err
	}
	defer fh.Close()
	ih, err := openNS(inet)
	if err != nil {
		return err
	}
	defer ih.Close()
	if err := ih.linkUp("lo"); err != nil {
		return err
	}
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: FabricInetLink}, PeerName: InetLink,
		PeerNamespace: netlink.NsFd(int(ih.fd))}
	if err := fh.LinkAdd(v); err != nil {
		return fmt.Errorf("veth %s-%s: %w", FabricInetLink, InetLink, err)
	}
	if err := fh.addAddr(FabricInetLink, InternetGateway); err != nil {
		return err
	}
	if err := fh.linkUp(FabricInetLink); err != nil {
		return err
	}
	if err := ih.addAddr(InetLink, InternetHost); err != nil {
		return err
	}
	if err := ih.linkUp(InetLink); err != nil {
		return err
	}
	return ih.defaultVia(InetLink, InternetGateway.Addr())
}

// CreateNode creates P-node<i> with loopback up and forwarding on. Its ENIs
// (eth0 included) come from the follower. An existing namespace is
// ErrExists; on failure the namespace is removed again.
func CreateNode(prefix string, n NodeSpec) (err error) {
	if err := ValidatePrefix(prefix); err != nil {
		return err
	}
	if err := validateNodes([]NodeSpec{n}); err != nil {
		return err
	}
	name := NodeNS(prefix, n.Index)
	if _, err := CreateNS(name); err != nil {
		return fmt.Errorf("create node %d: %w", n.Index, err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, DeleteNS(name))
		}
	}()
	if err := setSysctls(name, sysctl{key: "net/ipv4/ip_forward", val: "1"}); err != nil {
		return fmt.Errorf("create node %d: %w", n.Index, err)
	}
	h, err := openNS(name)
	if err != nil {
		return fmt.Errorf("create node %d: %w", n.Index, err)
	}
	defer h.Close()
	if err := h.linkUp("lo"); err != nil {
		return fmt.Errorf("create node %d: %w", n.Index, err)
	}
	return nil
}

// AddFabricAddr puts one more service address on the fabric's loopback
// (the real cluster's API server): every node reaches it through its
// default route. Adding it twice is not an error.
func AddFabricAddr(prefix string, a netip.Addr) error {
	if err := ValidatePrefix(prefix); err != nil {
		return err
	}
	h, err := openNS(FabricNS(prefix))
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.addAddr("lo", netip.PrefixFrom(a, 32)); err != nil {
		return fmt.Errorf("fabric service address %s: %w", a, err)
	}
	return nil
}

// DialIn is a dialer whose connections are made inside the network
// namespace at nsPath (a socket stays in the namespace it was made in):
// the host reaches the lab's services (ec2sim, the API server) with it.
func DialIn(nsPath string) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var c net.Conn
		err := ns.WithNetNSPath(nsPath, func(ns.NetNS) error {
			var err error
			c, err = (&net.Dialer{}).DialContext(ctx, network, addr)
			return err
		})
		return c, err
	}
}
