package aws

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/time/rate"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// EC2 is cloud.ENIAPI over the EC2 Query API.
type EC2 struct {
	client  *ec2.Client
	opts    Options
	m       *ec2Metrics
	limiter *rate.Limiter // the token bucket in front of every attempt
}

var _ cloud.ENIAPI = (*EC2)(nil)

func newEC2(cfg awssdk.Config, o Options) (*EC2, error) {
	m, err := newEC2Metrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	limiter := rate.NewLimiter(rate.Limit(o.QPS), o.Burst)
	am := &attemptMiddleware{limiter: limiter, m: m}
	client := ec2.NewFromConfig(cfg, func(eo *ec2.Options) {
		eo.Retryer = newRetryer(o.MaxAttempts, newBackoff(o.BaseBackoff, o.MaxBackoff))()
		eo.RetryMaxAttempts = 0 // keep our retryer as built
		eo.APIOptions = append(eo.APIOptions, addAttemptMiddleware(am))
		if o.EC2Endpoint != "" {
			eo.BaseEndpoint = awssdk.String(o.EC2Endpoint)
		}
	})
	return &EC2{client: client, opts: o, m: m, limiter: limiter}, nil
}

// bound puts the call timeout on ctx: one deadline for a whole method
// call, every page, attempt, backoff and rate-limiter wait included.
func (c *EC2) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, c.opts.CallTimeout)
}

// call runs a method that makes a single EC2 request, under the call
// timeout (see request).
func (c *EC2) call(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	ctx, cancel := c.bound(ctx)
	defer cancel()
	return c.request(ctx, op, fn)
}

// request runs one EC2 request (one page of a paginated call), all its
// attempts together, within the caller's deadline; records its outcome and
// latency; and turns an EC2 error into a *cloud.APIError. The error of an
// action that changes something also carries cloud.ErrOutcomeUnknown when
// any attempt, or the final error, may have taken effect (see outcome).
func (c *EC2) request(ctx context.Context, op string, fn func(ctx context.Context) error) error {
	ctx, oc := withOutcome(ctx)
	start := time.Now()
	err := fn(ctx)
	observe(c.m.duration, op, time.Since(start))
	c.m.requests.WithLabelValues(op, errorCode(err)).Inc()
	if err == nil {
		return nil
	}
	out := apiError(op, err)
	if mutating(op) && (oc.unknown.Load() || ambiguousFinal(err)) {
		return fmt.Errorf("%w (%w)", out, cloud.ErrOutcomeUnknown)
	}
	return out
}

// InstanceType implements cloud.ENIAPI.
func (c *EC2) InstanceType(ctx context.Context, name string) (cloud.InstanceTypeLimits, error) {
	if name == "" {
		return cloud.InstanceTypeLimits{}, errInvalid("describe instance type: empty name")
	}
	const op = "DescribeInstanceTypes"
	var out *ec2.DescribeInstanceTypesOutput
	err := c.call(ctx, op, func(ctx context.Context) (err error) {
		out, err = c.client.DescribeInstanceTypes(ctx, &ec2.DescribeInstanceTypesInput{
			InstanceTypes: []types.InstanceType{types.InstanceType(name)},
		})
		return err
	})
	if err != nil { // an unknown type is InvalidInstanceType: ErrNotFound
		return cloud.InstanceTypeLimits{}, fmt.Errorf("instance type %q: %w", name, err)
	}
	for _, it := range out.InstanceTypes {
		if string(it.InstanceType) == name {
			return instanceTypeLimits(it), nil
		}
	}
	return cloud.InstanceTypeLimits{}, fmt.Errorf("instance type %q: %w", name, cloud.ErrNotFound)
}

// Subnets implements cloud.ENIAPI. The subnets come back in EC2's order.
func (c *EC2) Subnets(ctx context.Context, ids ...string) ([]cloud.Subnet, error) {
	if len(ids) == 0 || slices.Contains(ids, "") {
		return nil, errInvalid("describe subnets %q: need non-empty subnet ids", ids)
	}
	const op = "DescribeSubnets"
	ctx, cancel := c.bound(ctx)
	defer cancel()
	// EC2 refuses MaxResults together with ids: no page size here.
	p := ec2.NewDescribeSubnetsPaginator(c.client, &ec2.DescribeSubnetsInput{SubnetIds: ids})
	var subnets []cloud.Subnet
	for p.HasMorePages() {
		var out *ec2.DescribeSubnetsOutput
		err := c.request(ctx, op, func(ctx context.Context) (err error) {
			out, err = p.NextPage(ctx)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("describe subnets %v: %w", ids, err)
		}
		for _, s := range out.Subnets {
			sn, err := subnet(s)
			if err != nil {
				return nil, fmt.Errorf("describe subnets: %w", err)
			}
			subnets = append(subnets, sn)
		}
	}
	return subnets, nil
}

// InstanceENIs implements cloud.ENIAPI, ordered by network card, device
// index and id.
func (c *EC2) InstanceENIs(ctx context.Context, instanceID string) ([]cloud.ENI, error) {
	if instanceID == "" {
		return nil, errInvalid("list instance enis: empty instance id")
	}
	ctx, cancel := c.bound(ctx)
	defer cancel()
	enis, err := c.describeENIs(ctx, cloud.ENIFilter{InstanceID: instanceID})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(enis, compareAttached)
	return enis, nil
}

// compareAttached orders ENIs by network card, then device index (device
// indexes repeat across the cards of multi-card types), then id. An ENI
// without an attachment sorts first.
func compareAttached(a, b cloud.ENI) int {
	card := func(e cloud.ENI) int {
		if e.Attachment == nil {
			return -1
		}
		return e.Attachment.NetworkCard
	}
	return cmp.Or(
		cmp.Compare(card(a), card(b)),
		cmp.Compare(a.DeviceIndex(), b.DeviceIndex()),
		cmp.Compare(a.ID, b.ID),
	)
}

// ENIs implements cloud.ENIAPI, following every page.
func (c *EC2) ENIs(ctx context.Context, f cloud.ENIFilter) ([]cloud.ENI, error) {
	if slices.Contains(f.IDs, "") {
		return nil, errInvalid("describe enis: empty eni id in %q", f.IDs)
	}
	ctx, cancel := c.bound(ctx)
	defer cancel()
	return c.describeENIs(ctx, f)
}

// describeENIs follows every page of DescribeNetworkInterfaces within the
// caller's deadline.
func (c *EC2) describeENIs(ctx context.Context, f cloud.ENIFilter) ([]cloud.ENI, error) {
	const op = "DescribeNetworkInterfaces"
	in := &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: f.IDs, Filters: eniFilters(f)}
	var po func(*ec2.DescribeNetworkInterfacesPaginatorOptions)
	if len(f.IDs) == 0 {
		// EC2 refuses MaxResults together with ids.
		po = func(o *ec2.DescribeNetworkInterfacesPaginatorOptions) { o.Limit = int32(c.opts.PageSize) }
	} else {
		po = func(*ec2.DescribeNetworkInterfacesPaginatorOptions) {}
	}
	p := ec2.NewDescribeNetworkInterfacesPaginator(c.client, in, po)
	var enis []cloud.ENI
	for p.HasMorePages() {
		var out *ec2.DescribeNetworkInterfacesOutput
		err := c.request(ctx, op, func(ctx context.Context) (err error) {
			out, err = p.NextPage(ctx)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("describe enis: %w", err)
		}
		for _, ni := range out.NetworkInterfaces {
			e, err := eni(ni)
			if err != nil {
				return nil, fmt.Errorf("describe enis: %w", err)
			}
			enis = append(enis, e)
		}
	}
	return enis, nil
}

// eniFilters maps an ENIFilter onto EC2's DescribeNetworkInterfaces
// filters (ids travel separately). Tag filters are sorted by key so the
// request is deterministic.
func eniFilters(f cloud.ENIFilter) []types.Filter {
	var out []types.Filter
	add := func(name string, values ...string) {
		out = append(out, types.Filter{Name: awssdk.String(name), Values: values})
	}
	if f.InstanceID != "" {
		add("attachment.instance-id", f.InstanceID)
	}
	if f.SubnetID != "" {
		add("subnet-id", f.SubnetID)
	}
	if f.VPCID != "" {
		add("vpc-id", f.VPCID)
	}
	if f.Status != "" {
		add("status", f.Status)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Tags)) {
		add("tag:"+k, f.Tags[k])
	}
	// One filter per key: filters are ANDed, the values of one are ORed,
	// and an ENI must carry every key.
	for _, k := range f.TagKeys {
		add("tag-key", k)
	}
	return out
}
