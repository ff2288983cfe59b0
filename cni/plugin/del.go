package plugin

import (
	"errors"
	"net/netip"

	"github.com/containernetworking/cni/pkg/skel"

	"github.com/vpc-cni/vpc-cni/cni/config"
	"github.com/vpc-cni/vpc-cni/cni/dataplane"
	"github.com/vpc-cni/vpc-cni/cni/ipamc"
)

// Del releases the pod's address and removes its wiring. It is
// idempotent: a missing netns, missing links, or an attachment ipamd does
// not know are success. If ipamd is unreachable, the host routes and rules
// of the address in prevResult are removed and DEL succeeds: ipamd's
// garbage collection reclaims the address later.
func (p *Plugin) Del(args *skel.CmdArgs) error {
	pod, err := config.ParseArgs(args.Args)
	if err != nil {
		return confError(err)
	}
	c, err := p.openLenient("DEL", args)
	if err != nil {
		return err
	}
	defer c.close()
	dp, err := p.dataplane(c)
	if err != nil {
		return err
	}
	td := dataplane.Teardown{NetNS: args.Netns, IfName: args.IfName,
		HostIfName: hostIfName(c.conf, pod, args)}
	if ip, ok := c.conf.PrevIP(); ok {
		td.IP = ip
	}
	var ipamErr error
	if c.ipam != nil {
		ipamErr = p.releaseFor(c, args, &td)
	} else {
		ipamErr = c.dialErr
	}
	unreachable := errors.Is(ipamErr, ipamc.ErrUnreachable) || errors.Is(ipamErr, ipamc.ErrTimeout)
	if unreachable {
		c.log.Warn("ipamd unreachable: removing the pod's wiring; ipamd's garbage collection reclaims the address",
			keyIP, addrWords(td.IP), keyError, ipamErr.Error())
	}
	if err := dp.Teardown(td); err != nil {
		c.log.Error("removing the pod's wiring failed", keyError, err.Error())
		return internal("remove the pod's network", err)
	}
	if ipamErr != nil && !unreachable {
		c.log.Error("ipamd failed to release the address", keyError, ipamErr.Error())
		return ipamError("release the address", ipamErr)
	}
	c.log.Info("pod deleted", keyIP, addrWords(td.IP), keyHostIf, td.HostIfName)
	return nil
}

// releaseFor asks ipamd to release the attachment's address and completes
// td with what ipamd says the address was.
func (p *Plugin) releaseFor(c *call, args *skel.CmdArgs, td *dataplane.Teardown) error {
	ctx, cancel := c.ctx()
	defer cancel()
	alloc, found, err := c.ipam.Del(ctx, ipamc.Attachment{ContainerID: args.ContainerID, IfName: args.IfName})
	if err != nil {
		return err
	}
	if found {
		td.IP, td.RouteTable = alloc.IP, alloc.RouteTable
	}
	return nil
}

// hostIfName is the pod's host veth: prevResult's, else the name ADD
// gives it.
func hostIfName(conf config.Conf, pod config.PodArgs, args *skel.CmdArgs) string {
	if name, ok := conf.PrevHostIfName(); ok && name != "" {
		return name
	}
	return dataplane.HostIfName(conf.VethPrefix, pod.Namespace, pod.Name, args.ContainerID, args.IfName)
}

func addrWords(ip netip.Addr) string {
	if !ip.IsValid() {
		return "unknown"
	}
	return ip.String()
}
