package daemon_test

import (
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
)

// view is a set of ENIs and their blocks, from ipamd or from ec2sim.
type view map[string][]netip.Prefix

func (v view) String() string {
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(v)) {
		fmt.Fprintf(&b, "%s: %v\n", id, v[id])
	}
	return b.String()
}

func sortedPrefixes(ps []netip.Prefix) []netip.Prefix {
	ps = slices.Clone(ps)
	slices.SortFunc(ps, func(a, b netip.Prefix) int { return a.Addr().Compare(b.Addr()) })
	return ps
}

// ipamdView is what ipamd's datastore holds, by introspection.
func ipamdView(v introspect.ENIsView) view {
	out := view{}
	for _, e := range v.ENIs {
		var blocks []netip.Prefix
		for _, b := range e.Blocks {
			blocks = append(blocks, b.Prefix)
		}
		out[e.ID] = sortedPrefixes(blocks)
	}
	return out
}

// truthView is the ground truth: the ENIs attached to the instance and
// their secondary addresses and prefixes.
func (c *cloudEnv) truthView() view {
	out := view{}
	for _, e := range c.srv.World().Snapshot().ENIs {
		if e.Attachment == nil || e.Attachment.InstanceID != c.inst.ID {
			continue
		}
		var blocks []netip.Prefix
		for _, ip := range e.SecondaryIPs {
			blocks = append(blocks, netip.PrefixFrom(ip, 32))
		}
		blocks = append(blocks, e.Prefixes...)
		out[e.ID] = sortedPrefixes(blocks)
	}
	return out
}

// leaked lists the ENIs of the VPC that are not attached: vpc-cni made
// them for the instance and lost track.
func (c *cloudEnv) leaked() []string {
	var out []string
	for _, e := range c.srv.World().Snapshot().ENIs {
		if e.Attachment == nil {
			out = append(out, e.ID)
		}
	}
	return out
}

// counts are the pool's figures from introspection.
type counts struct{ enis, total, assigned, cooling, free int }

func countsOf(v introspect.ENIsView) counts {
	c := counts{enis: len(v.ENIs)}
	for _, e := range v.ENIs {
		for _, b := range e.Blocks {
			for _, a := range b.Addresses {
				c.total++
				switch a.State {
				case introspect.StateAssigned:
					c.assigned++
				case introspect.StateCooling:
					c.cooling++
				default:
					c.free++
				}
			}
		}
	}
	return c
}

// waitSteady waits until a pass of the pool manager that began after the
// call has nothing left to do (or nothing it can do) and ipamd's view equals the ground truth,
// and returns the view. The manager must pass periodically.
func (r *running) waitSteady() introspect.ENIsView {
	r.t.Helper()
	since := time.Now()
	deadline := since.Add(waitFor)
	for {
		p := r.poolState()
		v := r.enis()
		// Short with no action: a limit holds the pool where it is.
		settled := p.LastPass != nil && p.LastPass.After(since) && len(p.LastDecision.Actions) == 0
		if settled && ipamdView(v).String() == r.n.cloud.truthView().String() {
			return v
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("the pool did not settle within %s: last decision %+v, last error %q\nipamd:\n%s\nec2sim:\n%s",
				waitFor, p.LastDecision, p.LastError, ipamdView(v), r.n.cloud.truthView())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertMatchesCloud checks ipamd's view against the ground truth and
// that no ENI was leaked.
func (r *running) assertMatchesCloud() {
	r.t.Helper()
	got, want := ipamdView(r.enis()), r.n.cloud.truthView()
	if got.String() != want.String() {
		r.t.Errorf("ipamd's view differs from ec2sim's ground truth\nipamd:\n%s\nec2sim:\n%s", got, want)
	}
	if l := r.n.cloud.leaked(); len(l) > 0 {
		r.t.Errorf("ENIs not attached to any instance (leaked): %v", l)
	}
}
