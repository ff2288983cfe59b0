// Package aws implements cloud.ENIAPI and cloud.Metadata over
// aws-sdk-go-v2: the EC2 Query API for ENI operations and IMDSv2 for
// instance metadata. It owns everything SDK-specific: configuration and
// endpoints, the client-side rate limiter, retries with jittered backoff,
// per-call timeouts, the mapping between ipamd's domain types and the SDK's
// input and output structs, the translation of SDK errors into
// *cloud.APIError (with cloud.ErrOutcomeUnknown on a call that may have
// taken effect, whichever of its attempts lost its answer), and the API
// metrics.
//
// The same binary talks to EC2 or to ec2sim: endpoints, region and
// credentials come from the SDK's standard configuration
// (AWS_ENDPOINT_URL_EC2 or AWS_ENDPOINT_URL, AWS_EC2_METADATA_SERVICE_ENDPOINT,
// AWS_REGION, shared files, the default credential chain), and Options can
// override each of them in Go.
package aws

import (
	"context"
	"fmt"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/prometheus/client_golang/prometheus"
)

// Defaults for a node daemon: one ipamd per node, a few thousand nodes per
// account and region sharing EC2's request budget.
const (
	DefaultQPS         = 10
	DefaultBurst       = 20
	DefaultMaxAttempts = 5
	DefaultBaseBackoff = 200 * time.Millisecond
	DefaultMaxBackoff  = 10 * time.Second
	DefaultCallTimeout = 30 * time.Second
	DefaultIMDSTimeout = 10 * time.Second
	DefaultPageSize    = 1000
)

// Options configures the EC2 and IMDS clients. The zero value is usable:
// every field has a default.
type Options struct {
	// Region overrides the SDK's region (AWS_REGION, the shared config).
	// When neither sets one, NewEC2 asks IMDS (placement/region).
	Region string
	// EC2Endpoint overrides the EC2 endpoint URL, which otherwise comes
	// from AWS_ENDPOINT_URL_EC2, AWS_ENDPOINT_URL, the shared config or the
	// region's public endpoint.
	EC2Endpoint string
	// IMDSEndpoint overrides the instance metadata endpoint, which
	// otherwise comes from AWS_EC2_METADATA_SERVICE_ENDPOINT or defaults to
	// http://169.254.169.254. It also applies to IMDS role credentials.
	IMDSEndpoint string
	// HTTPClient overrides the SDK's HTTP client for EC2, IMDS and the
	// credential providers.
	HTTPClient awssdk.HTTPClient
	// Credentials overrides the default credential chain (environment,
	// shared files, container and IMDS role credentials).
	Credentials awssdk.CredentialsProvider

	// QPS is the sustained rate of EC2 request attempts (retries included)
	// the client-side token bucket allows. Default 10.
	QPS float64
	// Burst is the token bucket's size. Default 20.
	Burst int
	// MaxAttempts bounds the attempts of one EC2 call, the first included.
	// Default 5. It takes the place of AWS_MAX_ATTEMPTS and AWS_RETRY_MODE,
	// which this client ignores: its retry policy is its own.
	MaxAttempts int
	// BaseBackoff is the backoff ceiling before the first retry; it doubles
	// for each further retry, up to MaxBackoff, and the actual delay is
	// drawn at random from its upper half. Defaults 200ms and 10s.
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
	// CallTimeout bounds each call of an EC2 method as a whole: every page
	// of a paginated call (ENIs, InstanceENIs, Subnets), every attempt,
	// backoff and rate-limiter wait included. Default 30s. It applies on top
	// of the caller's own deadline, whichever comes first.
	CallTimeout time.Duration
	// IMDSTimeout bounds each call of a metadata method as a whole (ENIs
	// reads about a dozen values per ENI; they share it), retries
	// included. Default 10s.
	IMDSTimeout time.Duration
	// PageSize is MaxResults of paginated Describe calls that are not
	// restricted to ids (EC2 accepts 5 to 1000). Default 1000.
	PageSize int
	// Registerer receives the API metrics; nil registers nothing. Metrics
	// already registered (by an earlier client) are shared, not duplicated.
	Registerer prometheus.Registerer
}

func (o Options) withDefaults() Options {
	if o.QPS <= 0 {
		o.QPS = DefaultQPS
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.BaseBackoff <= 0 {
		o.BaseBackoff = DefaultBaseBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.MaxBackoff < o.BaseBackoff {
		o.MaxBackoff = o.BaseBackoff
	}
	if o.CallTimeout <= 0 {
		o.CallTimeout = DefaultCallTimeout
	}
	if o.IMDSTimeout <= 0 {
		o.IMDSTimeout = DefaultIMDSTimeout
	}
	if o.PageSize <= 0 {
		o.PageSize = DefaultPageSize
	}
	o.PageSize = min(max(o.PageSize, 5), 1000)
	return o
}

// loadConfig loads the SDK's standard configuration with the explicit
// overrides of o applied on top. It does not resolve a missing region.
func loadConfig(ctx context.Context, o Options) (awssdk.Config, error) {
	var lo []func(*config.LoadOptions) error
	if o.Region != "" {
		lo = append(lo, config.WithRegion(o.Region))
	}
	if o.IMDSEndpoint != "" {
		// Also reaches the IMDS role credential provider.
		lo = append(lo, config.WithEC2IMDSEndpoint(o.IMDSEndpoint))
	}
	if o.HTTPClient != nil {
		lo = append(lo, config.WithHTTPClient(o.HTTPClient))
	}
	if o.Credentials != nil {
		lo = append(lo, config.WithCredentialsProvider(o.Credentials))
	}
	cfg, err := config.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return awssdk.Config{}, fmt.Errorf("load aws config: %w", err)
	}
	return cfg, nil
}

// New builds both clients from one configuration. When no region is
// configured, it is read from instance metadata.
func New(ctx context.Context, o Options) (*EC2, *IMDS, error) {
	o = o.withDefaults()
	cfg, err := loadConfig(ctx, o)
	if err != nil {
		return nil, nil, err
	}
	md, err := newIMDS(cfg, o)
	if err != nil {
		return nil, nil, err
	}
	if cfg.Region == "" {
		if cfg.Region, err = md.Region(ctx); err != nil {
			return nil, nil, fmt.Errorf("no region configured and none from metadata: %w", err)
		}
	}
	api, err := newEC2(cfg, o)
	if err != nil {
		return nil, nil, err
	}
	return api, md, nil
}

// NewEC2 builds the EC2 client alone (see New).
func NewEC2(ctx context.Context, o Options) (*EC2, error) {
	api, _, err := New(ctx, o)
	return api, err
}

// NewIMDS builds the instance metadata client alone.
func NewIMDS(ctx context.Context, o Options) (*IMDS, error) {
	o = o.withDefaults()
	cfg, err := loadConfig(ctx, o)
	if err != nil {
		return nil, err
	}
	return newIMDS(cfg, o)
}
