// Package metrics owns ipamd's Prometheus collectors: the pool's gauges
// (ENIs, addresses by state, prefixes, max pods), read from the datastore at
// scrape time; pool actions by kind and outcome; AddNetwork latency and
// failures by cause. Everything is registered on the registerer it is given,
// never on the global one. The EC2 and IMDS call metrics are registered on
// the same registerer by cloud/aws.
package metrics

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
)

// Label values of vpc_cni_add_network_duration_seconds.
const (
	outcomeSuccess = "success"
	outcomeFailure = "failure"
)

// addBuckets span an ADD served from a warm pool (a checkpoint write, well
// under a millisecond) to one that waited its whole AddWait and more:
// 100µs to about 26s.
var addBuckets = prometheus.ExponentialBuckets(0.0001, 2, 19)

// actionBuckets span a quick EC2 call to a new ENI that waited a long time
// for instance metadata: 10ms to about 164s.
var actionBuckets = prometheus.ExponentialBuckets(0.01, 2, 15)

// Sources are where the gauges read the node's state at scrape time.
// A nil func leaves its gauges out.
type Sources struct {
	// Stats counts the datastore's blocks and addresses
	// (datastore.Store.Stats).
	Stats func() datastore.Stats
	// MaxPods is the node's pod capacity.
	MaxPods func() int
}

// Metrics are ipamd's own metrics. It implements manager.Observer and
// ipam.Observer. Safe for concurrent use.
type Metrics struct {
	actions        *prometheus.CounterVec   // kind, outcome
	actionDuration *prometheus.HistogramVec // kind
	addDuration    *prometheus.HistogramVec // outcome
	addFailures    *prometheus.CounterVec   // cause
}

// Metrics also implements manager.Observer; the assertion lives in the
// tests, so that this package does not import the manager's dependencies
// (cloud, hostnet).
var _ ipam.Observer = (*Metrics)(nil)

// New creates the metrics and registers them, with the pool gauges read
// from src, on r. A nil r registers nothing (the metrics still count).
func New(r prometheus.Registerer, src Sources) (*Metrics, error) {
	m := newMetrics()
	if r == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{
		m.actions, m.actionDuration, m.addDuration, m.addFailures, newPoolCollector(src),
	} {
		if err := r.Register(c); err != nil {
			return nil, fmt.Errorf("register metrics: %w", err)
		}
	}
	return m, nil
}

func newMetrics() *Metrics {
	m := &Metrics{
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpc_cni_pool_actions_total",
			Help: "Pool actions executed against EC2 (assign or unassign addresses or prefixes, create or delete an ENI) by kind and outcome.",
		}, []string{"kind", "outcome"}),
		actionDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vpc_cni_pool_action_duration_seconds",
			Help:    "Duration of pool actions by kind, the wait for instance metadata to show the change included.",
			Buckets: actionBuckets,
		}, []string{"kind"}),
		addDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vpc_cni_add_network_duration_seconds",
			Help:    "Latency of AddNetwork calls by outcome (success, failure), the wait for the pool to grow included.",
			Buckets: addBuckets,
		}, []string{"outcome"}),
		addFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpc_cni_add_network_failures_total",
			Help: "Failed AddNetwork calls by cause: invalid, not-ready, checkpoint, canceled, other, or for an empty pool the class of what holds it back (subnet-exhausted, prefix-fragmented, eni-limit, max-eni, address-limit, max-pods, throttled) or exhausted.",
		}, []string{"cause"}),
	}
	// Every series a dashboard expects exists from the start, at zero.
	m.addDuration.WithLabelValues(outcomeSuccess)
	m.addDuration.WithLabelValues(outcomeFailure)
	for _, f := range ipam.Failures() {
		m.addFailures.WithLabelValues(string(f))
	}
	return m
}

// PoolAction counts one pool action and its duration.
func (m *Metrics) PoolAction(kind pool.Kind, outcome string, d time.Duration) {
	m.actions.WithLabelValues(string(kind), outcome).Inc()
	m.actionDuration.WithLabelValues(string(kind)).Observe(d.Seconds())
}

// AddNetwork records one ADD's latency and, if it failed, its cause.
func (m *Metrics) AddNetwork(d time.Duration, failure ipam.Failure) {
	if failure == "" {
		m.addDuration.WithLabelValues(outcomeSuccess).Observe(d.Seconds())
		return
	}
	m.addDuration.WithLabelValues(outcomeFailure).Observe(d.Seconds())
	m.addFailures.WithLabelValues(string(failure)).Inc()
}

// poolCollector reports the pool's gauges from its sources at scrape time,
// so they are never stale and nothing has to remember to update them.
type poolCollector struct {
	src                                  Sources
	enis, addresses, assigned, available *prometheus.Desc
	cooling, prefixes, maxPods           *prometheus.Desc
}

func newPoolCollector(src Sources) *poolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, nil, nil)
	}
	return &poolCollector{
		src:       src,
		enis:      d("vpc_cni_enis", "ENIs ipamd manages, the primary ENI included."),
		addresses: d("vpc_cni_addresses", "Pod addresses the pool holds: assigned, cooling down or available (ENI primary addresses excluded)."),
		assigned:  d("vpc_cni_addresses_assigned", "Pod addresses assigned to pods."),
		available: d("vpc_cni_addresses_available", "Pod addresses free and cooled down: what ADDs can take now."),
		cooling:   d("vpc_cni_addresses_cooling", "Pod addresses released and cooling down (IP_COOLDOWN_PERIOD) before reuse."),
		prefixes:  d("vpc_cni_prefixes", "Delegated /28 IPv4 prefixes on the managed ENIs."),
		maxPods:   d("vpc_cni_max_pods", "The node's pod capacity, which caps the pool."),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.enis, c.addresses, c.assigned, c.available, c.cooling, c.prefixes, c.maxPods,
	} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	if c.src.Stats != nil {
		s := c.src.Stats()
		gauge(ch, c.enis, len(s.ENIs))
		gauge(ch, c.addresses, s.Total)
		gauge(ch, c.assigned, s.Assigned)
		gauge(ch, c.available, s.Available)
		gauge(ch, c.cooling, s.Cooling)
		gauge(ch, c.prefixes, countPrefixes(s))
	}
	if c.src.MaxPods != nil {
		gauge(ch, c.maxPods, c.src.MaxPods())
	}
}

func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v int) {
	m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, float64(v))
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}

// prefixBits is the length of a delegated IPv4 prefix.
const prefixBits = 28

// countPrefixes counts the /28 blocks (the others are /32 secondary
// addresses).
func countPrefixes(s datastore.Stats) int {
	n := 0
	for _, e := range s.ENIs {
		for _, b := range e.Blocks {
			if isPrefix(b.Prefix) {
				n++
			}
		}
	}
	return n
}

func isPrefix(p netip.Prefix) bool { return p.IsValid() && p.Bits() == prefixBits }
