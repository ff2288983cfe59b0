package plugin

import (
	"errors"
	"net/netip"

	"github.com/containernetworking/cni/pkg/skel"

	"github.com/vpc-cni/vpc-cni/cni/config"
	"github.com/vpc-cni/vpc-cni/cni/dataplane"
	"github.com/vpc-cni/vpc-cni/cni/ipamc"
)

// Del removes the pod's wiring, then releases its address. It is
// idempotent: a missing netns, missing links, or an attachment ipamd does
// not know are success. The wiring goes first, while ipamd still holds the
// address, so that no other pod can hold it meanwhile. If nothing answers
// on ipamd's socket, the wiring is removed and DEL succeeds (the address
// is reclaimed by the runtime's GC, or at ipamd's next start); if ipamd
// answers but fails, DEL fails and the runtime retries.
func (p *Plugin) Del(args *skel.CmdArgs) error {
	c, err := p.openLenient("DEL", args)
	if err != nil {
		return err
	}
	defer c.close()
	pod, err := config.ParseArgs(args.Args)
	if err != nil {
		// The pod's name only names its host veth, which the pod
		// side finds too: go on without it.
		c.log.Warn("CNI_ARGS ignored", keyError, err.Error())
	}
	dp, err := p.dataplane(c)
	if err != nil {
		return err
	}
	att := ipamc.Attachment{ContainerID: args.ContainerID, IfName: args.IfName}
	td := dataplane.Teardown{NetNS: args.Netns, IfName: args.IfName, HostIfName: hostIfName(c.conf, pod, args)}
	if ip, ok := c.conf.PrevIP(); ok {
		td.IP = ip
	}
	c.lookup(att, &td)
	if err := dp.Teardown(td); err != nil {
		c.log.Error("removing the pod's wiring failed", keyIP, addrWords(td.IP), keyError, err.Error())
		return wireError("remove the pod's network", err)
	}
	if err := c.release(att); err != nil {
		return err
	}
	c.log.Info("pod deleted", keyIP, addrWords(td.IP), keyHostIf, td.HostIfName)
	return nil
}

// lookup completes td, when prevResult has no address, with the one ipamd
// holds for the attachment (the teardown also reads the pod's own).
// ipamd not answering is no error here: release says it.
func (c *call) lookup(att ipamc.Attachment, td *dataplane.Teardown) {
	if c.ipam == nil || td.IP.IsValid() {
		return
	}
	ctx, cancel := c.ctx()
	defer cancel()
	alloc, found, err := c.ipam.Check(ctx, att)
	if err != nil || !found {
		return
	}
	td.IP, td.RouteTable = alloc.IP, alloc.RouteTable
}

// release gives the attachment's address back to ipamd. Only an ipamd that
// is not there at all is tolerated.
func (c *call) release(att ipamc.Attachment) error {
	err := c.dialErr
	if c.ipam != nil {
		ctx, cancel := c.ctx()
		defer cancel()
		_, _, err = c.ipam.Del(ctx, att)
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ipamc.ErrUnreachable):
		c.log.Warn("ipamd unreachable: the pod's wiring is removed; its address is reclaimed by the runtime's "+
			"GC or at ipamd's next start", keyError, err.Error())
		return nil
	default:
		c.log.Error("ipamd failed to release the address; the runtime will retry the DEL", keyError, err.Error())
		return ipamError("release the address", err)
	}
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
