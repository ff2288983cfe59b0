package daemon_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
	"github.com/vpc-cni/vpc-cni/ipamd/maxpods"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// TestSteadyState: after start, on an empty node, the pool settles where
// the pool policy puts it, and ipamd's view is ec2sim's ground truth.
func TestSteadyState(t *testing.T) {
	tests := []struct {
		name string
		w    world
		env  map[string]string
		want counts // enis, total, assigned, cooling, free
	}{
		// WARM_ENI_TARGET=1: one ENI's worth (9 on m5.large) free; the
		// primary ENI is filled first.
		{"defaults on m5.large", world{}, nil, counts{enis: 1, total: 9, free: 9}},
		// MINIMUM_IP_TARGET=10 addresses in all, of which WARM_IP_TARGET=5
		// free: the primary ENI's 9 and one on a new ENI.
		{"WARM_IP_TARGET=5 MINIMUM_IP_TARGET=10 on m5.large", world{},
			map[string]string{"WARM_IP_TARGET": "5", "MINIMUM_IP_TARGET": "10"}, counts{enis: 2, total: 10, free: 10}},
		// WARM_PREFIX_TARGET=1: one /28 on the primary ENI.
		{"prefix delegation on m5.large", world{}, map[string]string{"ENABLE_PREFIX_DELEGATION": "true"},
			counts{enis: 1, total: 16, free: 16}},
		{"defaults on c5.4xlarge", world{instType: "c5.4xlarge"}, nil, counts{enis: 1, total: 29, free: 29}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := startCloud(t, tt.w, nil)
			n := newNode(t, c, tt.env)
			r := n.start()
			v := r.waitSteady()
			if got := countsOf(v); got != tt.want {
				t.Errorf("steady pool = %+v, want %+v", got, tt.want)
			}
			r.assertMatchesCloud()

			// The pool policy has nothing to do with the pool as it is.
			st := statsOf(v)
			lim := r.limits()
			d := pool.Decide(pool.Input{Stats: st, Config: poolConfig(n), Limits: lim, Now: c.clock.Now()})
			if len(d.Actions) != 0 || d.Short != 0 {
				t.Errorf("the policy still wants %+v (short %d): %s", d.Actions, d.Short, d.Reason)
			}

			// The host has SNAT and every secondary ENI set up.
			if s, ok := n.host.SNAT(); !ok || s.PrimaryIP != c.inst.PrimaryIP {
				t.Errorf("host SNAT = %+v, %v; want one to the primary address %s", s, ok, c.inst.PrimaryIP)
			}
			if got := len(n.host.ENIs()); got != tt.want.enis-1 {
				t.Errorf("host has %d ENIs set up, want %d", got, tt.want.enis-1)
			}
			// Metrics agree.
			body := r.scrape()
			for _, want := range []string{
				"vpc_cni_enis " + itoa(tt.want.enis), "vpc_cni_addresses " + itoa(tt.want.total),
				"vpc_cni_max_pods " + itoa(lim.MaxPods),
			} {
				if !strings.Contains(body, "\n"+want+"\n") {
					t.Errorf("metrics lack %q", want)
				}
			}
			if err := r.stop(); err != nil {
				t.Errorf("Run after cancel = %v, want nil", err)
			}
		})
	}
}

// statsOf counts an introspection view as the datastore's Stats.
func statsOf(v introspect.ENIsView) datastore.Stats {
	var st datastore.Stats
	for _, e := range v.ENIs {
		es := datastore.ENIStats{ID: e.ID, DeviceIndex: e.DeviceIndex, NetworkCard: e.NetworkCard, Primary: e.Primary}
		for _, b := range e.Blocks {
			bs := datastore.BlockStats{Prefix: b.Prefix}
			for _, a := range b.Addresses {
				switch a.State {
				case "assigned":
					bs.Assigned++
				case "cooling":
					bs.Cooling++
				default:
					bs.Available++
				}
			}
			es.Blocks = append(es.Blocks, bs)
			es.Assigned += bs.Assigned
			es.Cooling += bs.Cooling
			es.Available += bs.Available
			es.Total += bs.Assigned + bs.Cooling + bs.Available
		}
		st.ENIs = append(st.ENIs, es)
		st.Total += es.Total
		st.Assigned += es.Assigned
		st.Cooling += es.Cooling
		st.Available += es.Available
	}
	return st
}

func poolConfig(n *node) pool.Config {
	c := n.cfg
	return pool.Config{
		WarmENITarget: c.WarmENITarget, WarmIPTarget: c.WarmIPTarget, MinimumIPTarget: c.MinimumIPTarget,
		WarmPrefixTarget: c.WarmPrefixTarget, PrefixDelegation: c.PrefixDelegation,
	}
}

func (r *running) scrape() string {
	r.t.Helper()
	resp, err := http.Get("http://" + r.ep.Metrics + "/metrics")
	if err != nil {
		r.t.Fatalf("scrape: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		r.t.Fatalf("scrape: %s, %v", resp.Status, err)
	}
	return string(b)
}

func itoa(n int) string { return strconv.Itoa(n) }

// limits are the pool's limits for the node, worked out from the built-in
// table (which ec2sim serves); they must be what ipamd shows.
func (r *running) limits() pool.Limits {
	r.t.Helper()
	typ, ok := cloud.BuiltinInstanceType(r.n.cloud.inst.Type)
	if !ok {
		r.t.Fatalf("no built-in limits for %s", r.n.cloud.inst.Type)
	}
	mp, err := maxpods.Compute(typ, maxpods.Options{PrefixDelegation: r.n.cfg.PrefixDelegation, MaxENI: r.n.cfg.MaxENI})
	if err != nil {
		r.t.Fatal(err)
	}
	var shown introspect.LimitsView
	r.getJSON(introspect.PathLimits, &shown)
	if shown.InstanceType != typ.Type || shown.MaxPods != mp.MaxPods || shown.MaxENIs != mp.ENIs {
		r.t.Errorf("introspection limits = %+v, want %s with max pods %d and %d ENIs", shown, typ.Type, mp.MaxPods, mp.ENIs)
	}
	return pool.Limits{Type: typ, MaxENIs: mp.ENIs, MaxPods: mp.MaxPods}
}
