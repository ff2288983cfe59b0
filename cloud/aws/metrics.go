package aws

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/smithy-go"
	"github.com/prometheus/client_golang/prometheus"
)

// How the metrics are taken. A request (one EC2 action, or one page of a
// paginated one, all its attempts together) goes through EC2.request, a
// plain wrapper: it is the only place that sees the request's final outcome
// and total latency, and it already knows the action. The deadline belongs
// to the method call around it (EC2.bound), so the pages of one call share
// it. An attempt is only visible inside the SDK, between its retry loop and
// the wire, so the token bucket and the attempt counter are a finalize-step
// middleware placed right after the SDK's "Retry" middleware (see
// attemptMiddleware). IMDS reads go through IMDS.get, a wrapper like
// EC2.request, under their method's deadline (IMDS.bound).

// Label values that are not EC2 error codes.
const (
	codeOK             = "OK"
	codeRateLimited    = "ClientRateLimited"
	codeTimeout        = "Timeout"
	codeCanceled       = "Canceled"
	codeTransportError = "TransportError"
)

// latencyBuckets span a fast local call to a call that used its whole
// timeout on retries: 5ms to about 41s.
var latencyBuckets = prometheus.ExponentialBuckets(0.005, 2, 14)

// ec2Metrics are the EC2 API metrics, by action and error code.
type ec2Metrics struct {
	requests *prometheus.CounterVec   // action, code: outcome of each call
	attempts *prometheus.CounterVec   // action, code: outcome of each attempt
	duration *prometheus.HistogramVec // action: latency of each call
	wait     *prometheus.HistogramVec // action: rate-limiter wait per attempt
}

func newEC2Metrics(r prometheus.Registerer) (*ec2Metrics, error) {
	m := &ec2Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpc_cni_ec2_api_requests_total",
			Help: "EC2 API requests (a page of a paginated call is one) by action and outcome (error code, or OK), all attempts counted once.",
		}, []string{"action", "code"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpc_cni_ec2_api_attempts_total",
			Help: "EC2 API request attempts sent, retries included, by action and outcome.",
		}, []string{"action", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vpc_cni_ec2_api_request_duration_seconds",
			Help:    "Latency of EC2 API requests (a page of a paginated call is one), retries, backoff and rate-limiter waits included.",
			Buckets: latencyBuckets,
		}, []string{"action"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vpc_cni_ec2_api_rate_limiter_wait_seconds",
			Help:    "Time each EC2 API attempt waited on the client-side rate limiter.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"action"}),
	}
	var err error
	if m.requests, err = register(r, m.requests); err != nil {
		return nil, err
	}
	if m.attempts, err = register(r, m.attempts); err != nil {
		return nil, err
	}
	if m.duration, err = register(r, m.duration); err != nil {
		return nil, err
	}
	if m.wait, err = register(r, m.wait); err != nil {
		return nil, err
	}
	return m, nil
}

// imdsMetrics are the instance metadata metrics, by normalized path.
type imdsMetrics struct {
	requests *prometheus.CounterVec   // path, code
	duration *prometheus.HistogramVec // path
}

func newIMDSMetrics(r prometheus.Registerer) (*imdsMetrics, error) {
	m := &imdsMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vpc_cni_imds_requests_total",
			Help: "Instance metadata reads by path (MACs replaced by {mac}) and outcome (OK, HTTP status, or error class).",
		}, []string{"path", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "vpc_cni_imds_request_duration_seconds",
			Help:    "Latency of instance metadata reads, retries included.",
			Buckets: latencyBuckets,
		}, []string{"path"}),
	}
	var err error
	if m.requests, err = register(r, m.requests); err != nil {
		return nil, err
	}
	if m.duration, err = register(r, m.duration); err != nil {
		return nil, err
	}
	return m, nil
}

// register registers c with r, or returns the equal collector r already
// has, so that several clients built on one registry share their metrics.
// A nil r registers nothing.
func register[T prometheus.Collector](r prometheus.Registerer, c T) (T, error) {
	if r == nil {
		return c, nil
	}
	err := r.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(T); ok {
			return existing, nil
		}
	}
	return c, fmt.Errorf("register metrics: %w", err)
}

// errorCode is the code label of an outcome: "OK", the EC2 error code, or
// the class of a failure that has no code.
func errorCode(err error) string {
	var ae smithy.APIError
	switch {
	case err == nil:
		return codeOK
	case errors.As(err, &ae):
		return ae.ErrorCode()
	case errors.Is(err, ErrRateLimited):
		return codeRateLimited
	case errors.Is(err, context.DeadlineExceeded):
		return codeTimeout
	case errors.Is(err, context.Canceled):
		return codeCanceled
	default:
		return codeTransportError
	}
}

// imdsCode is the code label of an IMDS read: "OK", the HTTP status of a
// failed response, or the class of a failure that has none.
func imdsCode(err error) string {
	if status, ok := httpStatus(err); ok {
		return strconv.Itoa(status)
	}
	return errorCode(err)
}

// imdsPathLabel keeps the label's cardinality bounded: every path segment
// that is a MAC address becomes "{mac}".
func imdsPathLabel(path string) string {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		if validMAC(s) {
			segs[i] = "{mac}"
		}
	}
	return strings.Join(segs, "/")
}

func observe(h *prometheus.HistogramVec, label string, d time.Duration) {
	h.WithLabelValues(label).Observe(d.Seconds())
}
