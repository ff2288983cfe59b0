package plugin

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/vpc-cni/vpc-cni/cni/config"
	"github.com/vpc-cni/vpc-cni/cni/dataplane"
	"github.com/vpc-cni/vpc-cni/cni/ipamc"
)

// Add gets the pod an address from ipamd and wires it. On any failure
// after the address was given, it undoes the wiring and releases the
// address: nothing is left behind. If the undo itself fails, the address
// stays held, so that the runtime's DEL finds it and removes the rest.
func (p *Plugin) Add(args *skel.CmdArgs) error {
	pod, err := config.ParseArgs(args.Args)
	if err != nil {
		return confError(err)
	}
	c, err := p.open("ADD", args)
	if err != nil {
		return err
	}
	defer c.close()
	c.log = c.log.With(keyPod, pod.Namespace+"/"+pod.Name)
	dp, err := p.dataplane(c)
	if err != nil {
		return err
	}
	// Before anything is allocated: the netns must be a pod's, and a
	// repeated ADD of a live pod must not touch it (nor release its
	// address when it fails).
	if err := dp.CheckNetNS(args.Netns); err != nil {
		return wireError("CNI_NETNS", err)
	}
	if exists, err := dp.PodIfExists(args.Netns, args.IfName); err != nil {
		return wireError("inspect the pod's network namespace", err)
	} else if exists {
		return types.NewError(types.ErrInternal, fmt.Sprintf("interface %s already exists in %s: the runtime ran "+
			"ADD twice for container %s without a DEL; nothing was changed", args.IfName, args.Netns,
			args.ContainerID), "")
	}
	hostIf := dataplane.HostIfName(c.conf.VethPrefix, pod.Namespace, pod.Name, args.ContainerID, args.IfName)
	att := ipamc.Attachment{ContainerID: args.ContainerID, IfName: args.IfName}
	ctx, cancel := c.ctx()
	defer cancel()
	res, err := c.ipam.Add(ctx, ipamc.AddRequest{Attachment: att, NetNS: args.Netns, PodNamespace: pod.Namespace,
		PodName: pod.Name, PodUID: pod.UID, HostIfName: hostIf})
	if err != nil {
		c.log.Error("ipamd gave no address", keyError, err.Error())
		return ipamError("get an address from ipamd", err)
	}
	c.log = c.log.With(keyIP, res.IP.String(), keyENI, res.ENI, keyHostIf, hostIf)
	mtu := c.conf.MTU
	if mtu == 0 {
		mtu = res.MTU
	}
	want := dataplane.Pod{NetNS: args.Netns, IfName: args.IfName, HostIfName: hostIf, IP: res.IP, MTU: mtu,
		RouteTable: res.RouteTable}
	wired, err := dp.Setup(want)
	if errors.Is(err, dataplane.ErrIncomplete) {
		// Part of the wiring could not be undone: ipamd keeps the
		// address, so that the runtime's DEL finds it and cleans up.
		c.log.Error("wiring the pod failed and could not all be undone; the address stays held for the DEL",
			keyError, err.Error())
		return wireError("wire the pod's network", err)
	}
	if err != nil {
		c.log.Error("wiring the pod failed; releasing its address", keyError, err.Error())
		p.giveBack(c, att)
		return wireError("wire the pod's network", err)
	}
	result := addResult(c.conf, args.Netns, wired, res, mtu)
	if err := printResult(p, result, c.conf.CNIVersion); err != nil {
		c.log.Error("writing the result failed; undoing the ADD", keyError, err.Error())
		if terr := dp.Teardown(teardownOf(want)); terr != nil {
			c.log.Error("undoing the wiring failed; the address stays held for the DEL", keyError, terr.Error())
			return internal("write the result", err)
		}
		p.giveBack(c, att)
		return internal("write the result", err)
	}
	c.log.Info("pod added", keyTable, res.RouteTable, keyMTU, mtu)
	return nil
}

// giveBack gives an attachment's address back to ipamd after a failed ADD,
// with a context of its own (the ADD's may have run out).
func (p *Plugin) giveBack(c *call, att ipamc.Attachment) {
	ctx, cancel := context.WithTimeout(context.Background(), c.conf.IpamdTimeout)
	defer cancel()
	if _, _, err := c.ipam.Del(ctx, att); err != nil {
		c.log.Error("releasing the address failed; the runtime's DEL or GC, or ipamd's next start, reclaims it",
			keyError, err.Error())
	}
}

func teardownOf(p dataplane.Pod) dataplane.Teardown {
	return dataplane.Teardown{NetNS: p.NetNS, IfName: p.IfName, HostIfName: p.HostIfName, IP: p.IP,
		RouteTable: p.RouteTable}
}

// addResult is the CNI result of an ADD: the host veth, the pod interface
// (in its sandbox), the /32 on the pod interface with 169.254.1.1 as its
// gateway, and the default route.
func addResult(conf config.Conf, netns string, w dataplane.Wired, res ipamc.AddResult, mtu int) *current.Result {
	podIdx := 1
	gw := net.ParseIP(dataplane.GatewayIP)
	return &current.Result{
		CNIVersion: current.ImplementedSpecVersion,
		Interfaces: []*current.Interface{
			{Name: w.HostIfName, Mac: w.HostMAC, Mtu: mtu},
			{Name: w.PodIfName, Mac: w.PodMAC, Mtu: mtu, Sandbox: netns},
		},
		IPs: []*current.IPConfig{{
			Interface: &podIdx,
			Address:   net.IPNet{IP: res.IP.AsSlice(), Mask: net.CIDRMask(32, 32)},
			Gateway:   gw,
		}},
		Routes: []*types.Route{{Dst: net.IPNet{IP: net.IPv4zero.To4(), Mask: net.CIDRMask(0, 32)}, GW: gw}},
		DNS:    conf.DNS,
	}
}

// printResult writes the result in the configuration's version.
func printResult(p *Plugin, r *current.Result, ver string) error {
	out, err := r.GetAsVersion(ver)
	if err != nil {
		return fmt.Errorf("convert the result to %s: %w", ver, err)
	}
	return out.PrintTo(p.deps.Stdout)
}
