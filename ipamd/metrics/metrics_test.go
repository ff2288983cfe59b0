package metrics

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

func block(s string, assigned, cooling, available int) datastore.BlockStats {
	return datastore.BlockStats{Prefix: netip.MustParsePrefix(s), Assigned: assigned, Cooling: cooling, Available: available}
}

// twoENIs is a node with a primary ENI carrying two /32s and a secondary
// ENI carrying two /28 prefixes.
func twoENIs() datastore.Stats {
	return datastore.Stats{
		ENIs: []datastore.ENIStats{
			{ID: "eni-1", Primary: true, Blocks: []datastore.BlockStats{
				block("198.18.0.10/32", 1, 0, 0), block("198.18.0.11/32", 0, 1, 0),
			}, Total: 2, Assigned: 1, Cooling: 1},
			{ID: "eni-2", DeviceIndex: 1, Blocks: []datastore.BlockStats{
				block("198.18.1.16/28", 3, 0, 13), block("198.18.1.32/28", 0, 0, 16),
			}, Total: 32, Assigned: 3, Available: 29},
		},
		Total: 34, Assigned: 4, Cooling: 1, Available: 29,
	}
}

func newTest(t *testing.T, src Sources) (*Metrics, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	m, err := New(reg, src)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return m, reg
}

func TestPoolGaugesReadAtScrape(t *testing.T) {
	stats := datastore.Stats{}
	_, reg := newTest(t, Sources{
		Stats:   func() datastore.Stats { return stats },
		MaxPods: func() int { return 29 },
	})
	tests := []struct {
		name  string
		stats datastore.Stats
		want  map[string]float64
	}{
		{"empty pool", datastore.Stats{}, map[string]float64{
			"vpc_cni_enis": 0, "vpc_cni_addresses": 0, "vpc_cni_addresses_assigned": 0,
			"vpc_cni_addresses_available": 0, "vpc_cni_addresses_cooling": 0,
			"vpc_cni_prefixes": 0, "vpc_cni_max_pods": 29,
		}},
		{"after growth, the next scrape", twoENIs(), map[string]float64{
			"vpc_cni_enis": 2, "vpc_cni_addresses": 34, "vpc_cni_addresses_assigned": 4,
			"vpc_cni_addresses_available": 29, "vpc_cni_addresses_cooling": 1,
			"vpc_cni_prefixes": 2, "vpc_cni_max_pods": 29,
		}},
	}
	for _, tc := range tests {
		stats = tc.stats
		got := gauges(t, reg)
		for name, want := range tc.want {
			if v, ok := got[name]; !ok || v != want {
				t.Errorf("%s: %s = %v (present %v), want %v", tc.name, name, v, ok, want)
			}
		}
	}
}

// gauges returns the value of every gauge reg gathers, by name.
func gauges(t *testing.T, reg prometheus.Gatherer) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetType() != dto.MetricType_GAUGE {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[mf.GetName()] = m.GetGauge().GetValue()
		}
	}
	return out
}

func TestNilSourcesLeaveGaugesOut(t *testing.T) {
	_, reg := newTest(t, Sources{})
	n, err := testutil.GatherAndCount(reg, "vpc_cni_enis", "vpc_cni_max_pods")
	if err != nil || n != 0 {
		t.Errorf("gauges without sources: %d series, err %v; want none", n, err)
	}
}

func TestPoolAction(t *testing.T) {
	m, reg := newTest(t, Sources{})
	m.PoolAction(pool.CreateENI, "ok", 2*time.Second)
	m.PoolAction(pool.CreateENI, "ok", 3*time.Second)
	m.PoolAction(pool.AssignIPs, "throttled", 50*time.Millisecond)

	for _, tc := range []struct {
		kind, outcome string
		want          float64
	}{
		{"create-eni", "ok", 2},
		{"assign-ips", "throttled", 1},
		{"assign-ips", "ok", 0},
	} {
		got := testutil.ToFloat64(m.actions.WithLabelValues(tc.kind, tc.outcome))
		if got != tc.want {
			t.Errorf("pool_actions_total{kind=%q,outcome=%q} = %v, want %v", tc.kind, tc.outcome, got, tc.want)
		}
	}
	if n := histogramCount(t, reg, "vpc_cni_pool_action_duration_seconds", "create-eni"); n != 2 {
		t.Errorf("create-eni durations observed: %d, want 2", n)
	}
}

func TestAddNetwork(t *testing.T) {
	m, reg := newTest(t, Sources{})
	m.AddNetwork(300*time.Microsecond, "")
	m.AddNetwork(10*time.Second, ipam.FailureExhausted)
	m.AddNetwork(time.Millisecond, ipam.FailureOf(fmt.Errorf("%w: empty container id", ipam.ErrInvalid)))

	if n := histogramCount(t, reg, "vpc_cni_add_network_duration_seconds", "success"); n != 1 {
		t.Errorf("successful ADDs observed: %d, want 1", n)
	}
	if n := histogramCount(t, reg, "vpc_cni_add_network_duration_seconds", "failure"); n != 2 {
		t.Errorf("failed ADDs observed: %d, want 2", n)
	}
	for _, f := range ipam.Failures() {
		want := 0.0
		if f == ipam.FailureExhausted || f == ipam.FailureInvalid {
			want = 1
		}
		if got := testutil.ToFloat64(m.addFailures.WithLabelValues(string(f))); got != want {
			t.Errorf("failures{cause=%q} = %v, want %v", f, got, want)
		}
	}
}

func TestFailureSeriesExistAtZero(t *testing.T) {
	_, reg := newTest(t, Sources{})
	n, err := testutil.GatherAndCount(reg, "vpc_cni_add_network_failures_total")
	if err != nil {
		t.Fatal(err)
	}
	if n != len(ipam.Failures()) {
		t.Errorf("failure series before any ADD: %d, want %d", n, len(ipam.Failures()))
	}
}

func TestLint(t *testing.T) {
	m, reg := newTest(t, Sources{
		Stats:   twoENIs,
		MaxPods: func() int { return 29 },
	})
	m.PoolAction(pool.AssignPrefixes, "ok", time.Second)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestRegisterTwiceFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := New(reg, Sources{}); err != nil {
		t.Fatal(err)
	}
	if _, err := New(reg, Sources{}); err == nil {
		t.Error("a second New on one registry succeeded; want an error")
	}
}

func TestNilRegisterer(t *testing.T) {
	m, err := New(nil, Sources{})
	if err != nil {
		t.Fatal(err)
	}
	m.AddNetwork(time.Millisecond, "")
	m.PoolAction(pool.DeleteENI, "ok", time.Second)
}

func histogramCount(t *testing.T, g prometheus.Gatherer, name, label string) uint64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetValue() == label {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}
