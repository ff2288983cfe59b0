package plugin

import (
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/vpc-cni/vpc-cni/cni/config"
	"github.com/vpc-cni/vpc-cni/cni/dataplane"
	"github.com/vpc-cni/vpc-cni/cni/ipamc"
)

// Check verifies the pod's wiring, both sides, against prevResult, and
// that ipamd still holds the address; the error names the first mismatch.
func (p *Plugin) Check(args *skel.CmdArgs) error {
	pod, err := config.ParseArgs(args.Args)
	if err != nil {
		return confError(err)
	}
	c, err := p.open("CHECK", args)
	if err != nil {
		return err
	}
	defer c.close()
	ip, ok := c.conf.PrevIP()
	if !ok {
		return types.NewError(types.ErrInvalidNetworkConfig, "CHECK needs a prevResult with the pod's IPv4 address",
			"the runtime passes the ADD's result as prevResult")
	}
	ctx, cancel := c.ctx()
	defer cancel()
	alloc, found, err := c.ipam.Check(ctx, ipamc.Attachment{ContainerID: args.ContainerID, IfName: args.IfName})
	switch {
	case err != nil:
		return ipamError("ask ipamd about the address", err)
	case !found:
		return types.NewError(types.ErrInternal, fmt.Sprintf("ipamd holds no address for container %s "+
			"interface %s (prevResult has %s)", args.ContainerID, args.IfName, ip), "")
	case alloc.IP != ip:
		return types.NewError(types.ErrInternal, fmt.Sprintf("ipamd holds %s for container %s interface %s, "+
			"prevResult has %s", alloc.IP, args.ContainerID, args.IfName, ip), "")
	}
	dp, err := p.dataplane(c)
	if err != nil {
		return err
	}
	want := dataplane.Pod{NetNS: args.Netns, IfName: args.IfName, HostIfName: hostIfName(c.conf, pod, args),
		IP: ip, RouteTable: alloc.RouteTable}
	if err := dp.Check(want); err != nil {
		c.log.Warn("check failed", keyIP, ip.String(), keyError, err.Error())
		return wireError("check container "+args.ContainerID, err)
	}
	c.log.Debug("check passed", keyIP, ip.String())
	return nil
}
