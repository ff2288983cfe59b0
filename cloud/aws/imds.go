package aws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// IMDS is cloud.Metadata over the instance metadata service, with IMDSv2
// session tokens (the SDK's client fetches and refreshes them).
type IMDS struct {
	client  *imds.Client
	timeout time.Duration
	m       *imdsMetrics
}

var _ cloud.Metadata = (*IMDS)(nil)

// maxMetadataValue bounds what one metadata read may return.
const maxMetadataValue = 64 << 10

func newIMDS(cfg awssdk.Config, o Options) (*IMDS, error) {
	m, err := newIMDSMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	client := imds.NewFromConfig(cfg, func(io *imds.Options) {
		// IMDS is local: retry 5xx and transport errors briefly, with no
		// retry quota, and never a 404 (it means "not there").
		io.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = 3
			so.Backoff = newBackoff(50*time.Millisecond, time.Second)
			so.RateLimiter = ratelimit.None
		})
		if o.IMDSEndpoint != "" {
			io.Endpoint = o.IMDSEndpoint
		}
	})
	return &IMDS{client: client, timeout: o.IMDSTimeout, m: m}, nil
}

// bound puts the metadata timeout on ctx: one deadline for a whole method
// call, every read and retry included.
func (d *IMDS) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d.timeout)
}

// get reads one metadata path (relative to /latest/meta-data/) within the
// caller's deadline. A 404 is an error that is cloud.ErrNotFound.
func (d *IMDS) get(ctx context.Context, path string) (string, error) {
	start := time.Now()
	val, err := d.read(ctx, path)
	label := imdsPathLabel(path)
	observe(d.m.duration, label, time.Since(start))
	d.m.requests.WithLabelValues(label, imdsCode(err)).Inc()
	if status, ok := httpStatus(err); ok && status == http.StatusNotFound {
		return "", fmt.Errorf("metadata %s: %w", path, cloud.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("metadata %s: %w", path, err)
	}
	return val, nil
}

func (d *IMDS) read(ctx context.Context, path string) (string, error) {
	out, err := d.client.GetMetadata(ctx, &imds.GetMetadataInput{Path: path})
	if err != nil {
		return "", err
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, maxMetadataValue+1))
	if err != nil {
		return "", fmt.Errorf("read body: %w", err)
	}
	if len(b) > maxMetadataValue {
		return "", fmt.Errorf("value longer than %d bytes", maxMetadataValue)
	}
	return string(b), nil
}

// getOptional is get with a 404 read as the empty value.
func (d *IMDS) getOptional(ctx context.Context, path string) (string, error) {
	v, err := d.get(ctx, path)
	if errors.Is(err, cloud.ErrNotFound) {
		return "", nil
	}
	return v, err
}

// Region returns the instance's region (placement/region).
func (d *IMDS) Region(ctx context.Context) (string, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	v, err := d.get(ctx, "placement/region")
	if err != nil {
		return "", err
	}
	return single("placement/region", v)
}

// Instance implements cloud.Metadata.
func (d *IMDS) Instance(ctx context.Context) (cloud.Instance, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	r := reader{d: d, ctx: ctx}
	inst := cloud.Instance{
		ID:     r.str("instance-id"),
		Type:   r.str("instance-type"),
		Region: r.str("placement/region"),
		AZ:     r.str("placement/availability-zone"),
	}
	mac := strings.ToLower(r.str("mac"))
	inst.PrimaryMAC = mac
	inst.PrimaryIP = r.addr("local-ipv4")
	if r.err == nil && !validMAC(mac) {
		r.err = malformed("mac", mac)
	}
	base := macPath(mac)
	inst.PrimaryENI = r.str(base + "interface-id")
	inst.SubnetID = r.str(base + "subnet-id")
	inst.SubnetCIDR = r.prefix(base + "subnet-ipv4-cidr-block")
	inst.VPCID = r.str(base + "vpc-id")
	inst.VPCCIDRs = r.prefixes(base + "vpc-ipv4-cidr-blocks")
	inst.SecurityGroups = r.optList(base + "security-group-ids")
	if r.err != nil {
		return cloud.Instance{}, fmt.Errorf("instance metadata: %w", r.err)
	}
	return inst, nil
}

// ENIs implements cloud.Metadata. An ENI listed but gone by the time its
// details are read (detached meanwhile) is left out.
func (d *IMDS) ENIs(ctx context.Context) ([]cloud.ENIMetadata, error) {
	ctx, cancel := d.bound(ctx)
	defer cancel()
	v, err := d.get(ctx, "network/interfaces/macs/")
	if err != nil {
		return nil, fmt.Errorf("list eni macs: %w", err)
	}
	var enis []cloud.ENIMetadata
	for _, line := range lines(v) {
		mac := strings.ToLower(strings.TrimSuffix(line, "/"))
		if !validMAC(mac) {
			return nil, fmt.Errorf("list eni macs: %w", malformed("network/interfaces/macs/", line))
		}
		e, err := d.readENI(ctx, mac)
		if errors.Is(err, cloud.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		enis = append(enis, e)
	}
	slices.SortStableFunc(enis, func(a, b cloud.ENIMetadata) int {
		return cmp.Or(cmp.Compare(a.NetworkCard, b.NetworkCard), cmp.Compare(a.DeviceIndex, b.DeviceIndex),
			cmp.Compare(a.MAC, b.MAC))
	})
	return enis, nil
}

// ENI implements cloud.Metadata.
func (d *IMDS) ENI(ctx context.Context, mac string) (cloud.ENIMetadata, error) {
	mac = strings.ToLower(mac)
	if !validMAC(mac) {
		return cloud.ENIMetadata{}, errInvalid("eni metadata: malformed mac %q", mac)
	}
	ctx, cancel := d.bound(ctx)
	defer cancel()
	return d.readENI(ctx, mac)
}

// readENI reads one ENI's metadata (mac valid, lower case) within the
// caller's deadline.
func (d *IMDS) readENI(ctx context.Context, mac string) (cloud.ENIMetadata, error) {
	base := macPath(mac)
	r := reader{d: d, ctx: ctx}
	e := cloud.ENIMetadata{MAC: mac}
	// device-number first: a 404 there means metadata does not show the ENI.
	e.DeviceIndex = r.int(base + "device-number")
	e.ID = r.str(base + "interface-id")
	e.NetworkCard = r.optInt(base + "network-card") // absent on some types: card 0
	e.IPv4s = r.addrs(base + "local-ipv4s")
	e.Prefixes = r.optPrefixes(base + "ipv4-prefix") // 404: no prefixes
	e.SubnetID = r.str(base + "subnet-id")
	e.SubnetCIDR = r.prefix(base + "subnet-ipv4-cidr-block")
	e.VPCID = r.str(base + "vpc-id")
	e.VPCCIDRs = r.prefixes(base + "vpc-ipv4-cidr-blocks")
	e.SecurityGroups = r.optList(base + "security-group-ids")
	if r.err != nil {
		return cloud.ENIMetadata{}, fmt.Errorf("eni metadata %s: %w", mac, r.err)
	}
	return e, nil
}

func macPath(mac string) string { return "network/interfaces/macs/" + mac + "/" }
