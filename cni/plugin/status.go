package plugin

import (
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
	"github.com/vpc-cni/vpc-cni/cni/ipamc"
)

// Status succeeds only when ipamd answers and can serve an ADD now;
// otherwise it fails with code 50 and ipamd's reason.
func (p *Plugin) Status(args *skel.CmdArgs) error {
	c, err := p.openWith("STATUS", args, false)
	if err != nil {
		return err
	}
	defer c.close()
	if c.dialErr != nil {
		return notAvailable(c.dialErr)
	}
	ctx, cancel := c.ctx()
	defer cancel()
	st, err := c.ipam.Status(ctx)
	if err != nil {
		return notAvailable(err)
	}
	if !st.Ready {
		return types.NewError(CodeNotAvailable, "ipamd cannot serve an ADD now: "+st.Reason, "")
	}
	return nil
}

func notAvailable(err error) error {
	msg := fmt.Sprintf("ipamd does not answer: %v", err)
	if !errors.Is(err, ipamc.ErrUnreachable) && !errors.Is(err, ipamc.ErrTimeout) {
		msg = fmt.Sprintf("ipamd's status: %v", err)
	}
	return types.NewError(CodeNotAvailable, msg, "check that ipamd runs on this node")
}

// GC passes the runtime's valid attachments to ipamd, which releases
// every other allocation, and removes the host routes and rules of those
// it released.
func (p *Plugin) GC(args *skel.CmdArgs) error {
	c, err := p.openLenient("GC", args)
	if err != nil {
		return err
	}
	defer c.close()
	if c.dialErr != nil {
		return ipamError("connect to ipamd", c.dialErr)
	}
	if !c.conf.HasValidAttachments {
		// Without the list every allocation would look stale.
		return types.NewError(types.ErrInvalidNetworkConfig, "GC needs cni.dev/valid-attachments: nothing was released",
			"the runtime passes the attachments it still holds")
	}
	valid := make([]ipamc.Attachment, 0, len(c.conf.ValidAttachments))
	for _, a := range c.conf.ValidAttachments {
		valid = append(valid, ipamc.Attachment{ContainerID: a.ContainerID, IfName: a.IfName})
	}
	ctx, cancel := c.ctx()
	defer cancel()
	released, err := c.ipam.GC(ctx, valid)
	if err != nil {
		return ipamError("garbage-collect in ipamd", err)
	}
	if len(released) == 0 {
		return nil
	}
	dp, err := p.dataplane(c)
	if err != nil {
		return err
	}
	var errs []error
	for _, r := range released {
		c.log.Info("released by garbage collection", keyContainer, r.ContainerID, keyIfName, r.IfName,
			keyIP, r.IP.String())
		td := dataplane.Teardown{HostIfName: r.HostIfName, IP: r.IP, RouteTable: r.RouteTable}
		if err := dp.Teardown(td); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", r.IP, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return internal("remove the host routes and rules of released addresses", err)
	}
	c.log.Info("garbage collection done", keyReleased, len(released))
	return nil
}
