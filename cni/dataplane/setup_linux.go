package dataplane

import (
	"errors"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// The steps of Setup, in order; an error names the step that failed.
const (
	stepStale        = "remove stale host veth"
	stepVeth         = "create veth"
	stepPodLink      = "find pod interface"
	stepHostLink     = "find host veth"
	stepHostUp       = "set host veth up"
	stepPodUp        = "set pod interface up"
	stepPodAddr      = "add pod address"
	stepPodLinkRoute = "add pod link route"
	stepPodDefault   = "add pod default route"
	stepPodNeigh     = "add pod neighbour"
	stepHostRoute    = "add host route"
	stepRuleTo       = "add rule to pod"
	stepRuleFrom     = "add rule from pod"
)

// The undo's steps: the fault seam can fail them too (the deletion is
// then skipped, as if the kernel had refused it).
const (
	undoRule      = "undo: delete rule"
	undoHostRoute = "undo: delete host route"
	undoVeth      = "undo: delete veth"
)

// undoSteps lists the undo's steps for the tests' fault seam.
var undoSteps = []string{undoRule, undoHostRoute, undoVeth}

// setupSteps lists the steps for the tests' fault seam.
var setupSteps = []string{
	stepStale, stepVeth, stepPodLink, stepHostLink, stepHostUp, stepPodUp,
	stepPodAddr, stepPodLinkRoute, stepPodDefault, stepPodNeigh,
	stepHostRoute, stepRuleTo, stepRuleFrom,
}

// setup is one Setup in progress: what it made, for the undo.
type setup struct {
	l     *Linux
	p     Pod
	podNS ns.NetNS

	veth      bool // the pair exists (deleting one end deletes both)
	host      netlink.Link
	pod       netlink.Link
	hostRoute *netlink.Route
	rules     []*netlink.Rule
}

// Setup wires p; on any error it undoes what it made and returns the
// error wrapped with the step that failed. When the undo fails too, the
// error also wraps ErrIncomplete and names what is left: a Teardown of p
// removes it. A p.NetNS that CheckNetNS
// refuses (the host's own namespace) fails with ErrNetNS before anything
// is made.
func (l *Linux) Setup(p Pod) (Wired, error) {
	if err := p.Validate(); err != nil {
		return Wired{}, err
	}
	p.IP = p.IP.Unmap()
	if err := l.enter(); err != nil {
		return Wired{}, err
	}
	defer l.mu.RUnlock()
	podNS, err := l.openPod(p.NetNS)
	if err != nil {
		return Wired{}, err
	}
	defer podNS.Close()

	s := &setup{l: l, p: p, podNS: podNS}
	if err := s.run(); err != nil {
		if uerr := s.undo(); uerr != nil {
			return Wired{}, fmt.Errorf("%w (%w: %w; a DEL of the pod removes it)", err, ErrIncomplete, uerr)
		}
		return Wired{}, err
	}
	return Wired{
		HostIfName: p.HostIfName,
		HostMAC:    s.host.Attrs().HardwareAddr.String(),
		PodIfName:  p.IfName,
		PodMAC:     s.pod.Attrs().HardwareAddr.String(),
		PodIndex:   s.pod.Attrs().Index,
	}, nil
}

// do runs one step after the fault seam, naming it in its error.
func (s *setup) do(step string, f func() error) error {
	err := s.l.step(step)
	if err == nil {
		err = f()
	}
	if err != nil {
		return fmt.Errorf("%s: %w", step, err)
	}
	return nil
}

func (s *setup) run() error {
	if err := s.do(stepStale, s.removeStale); err != nil {
		return err
	}
	if err := s.podNS.Do(func(ns.NetNS) error { return s.createVeth() }); err != nil {
		return err
	}
	if err := s.do(stepHostLink, s.findHost); err != nil {
		return err
	}
	if err := s.do(stepHostUp, func() error { return s.l.host.LinkSetUp(s.host) }); err != nil {
		return err
	}
	if err := s.podNS.Do(func(ns.NetNS) error { return s.podSide() }); err != nil {
		return err
	}
	return s.hostSide()
}

// removeStale deletes a veth left in the host namespace under our name by
// a previous sandbox of the same pod (its peer goes with it).
func (s *setup) removeStale() error {
	old, err := s.l.host.LinkByName(s.p.HostIfName)
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if old.Type() != "veth" {
		return fmt.Errorf("host interface %s exists and is a %s, not a veth: rename or delete it", s.p.HostIfName, old.Type())
	}
	if err := s.l.host.LinkDel(old); err != nil && !isNotFound(err) {
		return err
	}
	return nil
}

// createVeth runs inside the pod namespace: the pair is created here with
// its peer placed straight into the host namespace, never moved.
func (s *setup) createVeth() error {
	veth := &netlink.Veth{
		LinkAttrs:     netlink.LinkAttrs{Name: s.p.IfName, MTU: s.p.MTU},
		PeerName:      s.p.HostIfName,
		PeerNamespace: netlink.NsFd(int(s.l.hostNS.Fd())),
		PeerMTU:       uint32(s.p.MTU),
	}
	err := s.do(stepVeth, func() error {
		if err := netlink.LinkAdd(veth); err != nil {
			if errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("%w: %s already exists in the pod or %s in the host", err, s.p.IfName, s.p.HostIfName)
			}
			return err
		}
		s.veth = true
		return nil
	})
	if err != nil {
		return err
	}
	return s.do(stepPodLink, func() error {
		var err error
		s.pod, err = netlink.LinkByName(s.p.IfName)
		return err
	})
}

func (s *setup) findHost() error {
	var err error
	s.host, err = s.l.host.LinkByName(s.p.HostIfName)
	return err
}

// podSide runs inside the pod namespace: link up, /32 address, the link
// route to the gateway, the default route via it and the permanent
// neighbour entry that answers for it with the host veth's MAC. The
// routes of an attachment other than eth0 get the link's index as their
// metric, so that they sit beside eth0's (and each other's) instead of
// replacing them: eth0 keeps the pod's default route.
func (s *setup) podSide() error {
	idx := s.pod.Attrs().Index
	gw := net.IP(gateway.AsSlice())
	metric := 0
	if s.p.IfName != primaryIfName {
		metric = idx
	}
	steps := []struct {
		name string
		f    func() error
	}{
		{stepPodUp, func() error { return netlink.LinkSetUp(s.pod) }},
		{stepPodAddr, func() error {
			return netlink.AddrReplace(s.pod, &netlink.Addr{IPNet: hostNet(s.p.IP)})
		}},
		{stepPodLinkRoute, func() error {
			return netlink.RouteReplace(&netlink.Route{LinkIndex: idx, Dst: hostNet(gateway), Scope: netlink.SCOPE_LINK,
				Priority: metric})
		}},
		{stepPodDefault, func() error {
			return netlink.RouteReplace(&netlink.Route{LinkIndex: idx, Gw: gw, Scope: netlink.SCOPE_UNIVERSE,
				Priority: metric})
		}},
		{stepPodNeigh, func() error {
			return netlink.NeighSet(&netlink.Neigh{
				LinkIndex: idx, Family: netlink.FAMILY_V4, State: netlink.NUD_PERMANENT,
				IP: gw, HardwareAddr: s.host.Attrs().HardwareAddr,
			})
		}},
	}
	for _, st := range steps {
		if err := s.do(st.name, st.f); err != nil {
			return err
		}
	}
	return nil
}

// hostSide adds the /32 route to the pod and its rules. Rules at our
// priorities for this address are replaced, so a repeated Setup of the
// same pod (or a stale rule of an earlier one) never fails on "exists".
func (s *setup) hostSide() error {
	ip := s.p.IP
	err := s.do(stepHostRoute, func() error {
		r := &netlink.Route{
			LinkIndex: s.host.Attrs().Index, Dst: hostNet(ip),
			Scope: netlink.SCOPE_LINK, Table: MainTable,
		}
		if err := s.l.host.RouteReplace(r); err != nil {
			return err
		}
		s.hostRoute = r
		return nil
	})
	if err != nil {
		return err
	}
	if err := s.do(stepRuleTo, func() error { return s.replaceRule(toRule(ip, 0), toRule(ip, MainTable)) }); err != nil {
		return err
	}
	return s.do(stepRuleFrom, func() error {
		var want *netlink.Rule
		if Secondary(s.p.RouteTable) {
			want = fromRule(ip, s.p.RouteTable)
		}
		return s.replaceRule(fromRule(ip, 0), want)
	})
}

// replaceRule deletes the rules sel selects and adds want (if not nil).
func (s *setup) replaceRule(sel, want *netlink.Rule) error {
	if err := s.l.delRules(sel); err != nil {
		return err
	}
	if want == nil {
		return nil
	}
	if err := s.l.host.RuleAdd(want); err != nil && !errors.Is(err, unix.EEXIST) {
		return err
	}
	s.rules = append(s.rules, want)
	return nil
}

// undo removes what this Setup made, newest first.
func (s *setup) undo() error {
	var errs []error
	for i := len(s.rules) - 1; i >= 0; i-- {
		r := s.rules[i]
		if err := s.undoStep(undoRule, func() error { return s.l.host.RuleDel(r) }); err != nil {
			errs = append(errs, fmt.Errorf("delete rule %v: %w", r, err))
		}
	}
	if s.hostRoute != nil {
		if err := s.undoStep(undoHostRoute, func() error { return s.l.host.RouteDel(s.hostRoute) }); err != nil {
			errs = append(errs, fmt.Errorf("delete host route to %s: %w", s.p.IP, err))
		}
	}
	if s.veth {
		if err := s.undoStep(undoVeth, s.delVeth); err != nil {
			errs = append(errs, fmt.Errorf("delete veth %s: %w", s.p.HostIfName, err))
		}
	}
	return errors.Join(errs...)
}

// undoStep runs one deletion of the undo after the fault seam; what is
// already gone is done.
func (s *setup) undoStep(step string, del func() error) error {
	err := s.l.step(step)
	if err == nil {
		err = del()
	}
	if isNotFound(err) {
		return nil
	}
	return err
}

// delVeth deletes the pair by its host end, or by its pod end when the
// host end was not found.
func (s *setup) delVeth() error {
	done, err := delLink(s.l.host, s.p.HostIfName)
	if err != nil || done {
		return err
	}
	return s.podNS.Do(func(ns.NetNS) error {
		_, err := delLink(nil, s.p.IfName)
		return err
	})
}
