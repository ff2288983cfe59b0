package lab

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"strconv"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
	"github.com/vpc-cni/vpc-cni/test/lab/report"
)

// Report runs the checks (Checks) and gathers the lab's report: per node
// its instance, ENIs, pool (warm, assigned, cooling) and max pods from
// its ipamd's introspection; per pod its address, node and ENI (from
// ec2sim's ground truth); the timings. What could not be read is a note.
func (l *Lab) Report(ctx context.Context) report.Report {
	r := report.Report{Prefix: l.cfg.Prefix, Settings: l.cfg.settings()}
	if l.cfg.K8S { // the pods are the echo Deployment's now
		if _, err := l.SyncKubePods(ctx); err != nil {
			r.Notes = append(r.Notes, err.Error())
		}
	}
	st, err := l.SimState(ctx)
	if err != nil {
		r.Notes = append(r.Notes, err.Error())
	}
	for _, n := range l.nodes {
		rn, note := l.reportNode(ctx, n, st)
		r.Nodes = append(r.Nodes, rn)
		if note != "" {
			r.Notes = append(r.Notes, note)
		}
	}
	owner := eniOwners(st)
	for _, p := range l.Pods() {
		r.Pods = append(r.Pods, report.Pod{Name: p.Name, Node: nodeName(p.Node), IP: p.IP, ENI: owner(p.IP)})
	}
	if k, note := l.kubeReport(ctx); k != nil || note != "" {
		r.Kubernetes = k
		if note != "" {
			r.Notes = append(r.Notes, note)
		}
	}
	start := time.Now()
	r.Checks = l.Checks(ctx)
	t := l.Timings()
	r.Timings = report.Timings{LabUp: t.Up, FirstPodReady: t.FirstPodReady, Checks: time.Since(start)}
	return r
}

// settings are the lab's knobs as the report shows them.
func (c Config) settings() map[string]string {
	s := maps.Clone(c.IpamdEnv)
	if s == nil {
		s = map[string]string{}
	}
	s[EnvNodes] = strconv.Itoa(c.Nodes)
	s[EnvInstanceType] = c.InstanceType
	s[EnvPods] = strconv.Itoa(c.PodsPerNode)
	return s
}

// reportNode is one node's row: the instance from ec2sim, the pool and
// limits from its ipamd. The note says what could not be read.
func (l *Lab) reportNode(ctx context.Context, n Node, st sim.State) (report.Node, string) {
	rn := report.Node{Name: n.Name, InstanceID: n.InstanceID, InstanceType: l.cfg.InstanceType, PrimaryIP: n.PrimaryIP}
	for _, in := range st.Instances {
		if in.ID == n.InstanceID {
			rn.InstanceType = in.Type
		}
	}
	var enis introspect.ENIsView
	var limits introspect.LimitsView
	if err := l.Introspect(ctx, n.Index, introspect.PathENIs, &enis); err != nil {
		return rn, err.Error()
	}
	if err := l.Introspect(ctx, n.Index, introspect.PathLimits, &limits); err != nil {
		return rn, err.Error()
	}
	rn.MaxPods = limits.MaxPods
	for _, e := range enis.ENIs {
		re := report.ENI{ID: e.ID, DeviceIndex: e.DeviceIndex}
		for _, b := range e.Blocks {
			if b.Prefix.Bits() < 32 {
				re.Prefixes++
			}
			for _, a := range b.Addresses {
				re.Addresses++
				switch a.State {
				case introspect.StateAssigned:
					rn.Assigned++
				case introspect.StateCooling:
					rn.Cooling++
				default:
					rn.Warm++
				}
			}
		}
		rn.ENIs = append(rn.ENIs, re)
	}
	return rn, ""
}

// eniOwners returns a lookup of the ENI that holds an address, as a
// secondary address or in a prefix, in ec2sim's state ("" for none).
func eniOwners(st sim.State) func(netip.Addr) string {
	return func(a netip.Addr) string {
		for _, e := range st.ENIs {
			for _, ip := range e.SecondaryIPs {
				if ip == a {
					return eniLabel(e)
				}
			}
			for _, p := range e.Prefixes {
				if p.Contains(a) {
					return eniLabel(e)
				}
			}
		}
		return ""
	}
}

// eniLabel names an ENI with its device index, e.g. "eni-0abc (eth1)".
func eniLabel(e sim.ENI) string {
	if e.Attachment == nil {
		return e.ID
	}
	return fmt.Sprintf("%s (eth%d)", e.ID, e.Attachment.DeviceIndex)
}
