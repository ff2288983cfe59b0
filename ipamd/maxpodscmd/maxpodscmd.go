// Package maxpodscmd is `ipamd max-pods`, the max-pods calculator for node
// bootstrap scripts: it prints the value for kubelet's --max-pods of an
// instance type under vpc-cni's settings. The figure comes from
// ipamd/maxpods; the instance type's limits from DescribeInstanceTypes
// when the EC2 API answers, else from the built-in table.
package maxpodscmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/vpc-cni/vpc-cni/cloud"
	"github.com/vpc-cni/vpc-cni/ipamd/maxpods"
)

// Exit codes.
const (
	ExitOK     = 0
	ExitFailed = 1 // the figure cannot be computed (unknown type, ...)
	ExitUsage  = 2 // a bad command line
)

// Lookup asks the EC2 API for an instance type's limits.
type Lookup func(ctx context.Context, instanceType string) (cloud.InstanceTypeLimits, error)

// Usage is the command's help.
const Usage = `usage: ipamd max-pods --instance-type TYPE [--prefix-delegation] [--max-eni N]
                      [--custom-networking] [--cap auto|none|N] [--verbose]

Prints the value for kubelet's --max-pods on a node of TYPE:
  ENIs × (IPv4 addresses per ENI − 1) + 2
  ENIs × ((IPv4 addresses per ENI − 1) × 16) + 2   with --prefix-delegation (Nitro types only)
--max-eni caps the ENIs counted (MAX_ENI; -1: the instance limit), --custom-networking leaves
out the primary ENI, --cap auto (the default) caps at 110 up to 30 vCPUs and at 250 above,
--cap none prints the raw figure. Limits come from DescribeInstanceTypes when the EC2 API
answers (a region set in AWS_REGION or --region), else from the built-in table.
`

// Run is the command: args after "max-pods"; ec2 may be nil (no API).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer, ec2 Lookup) int {
	o, err := parse(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stderr, Usage)
		return ExitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "ipamd max-pods: %v\n%s", err, Usage)
		return ExitUsage
	}
	limits, source, err := limitsOf(ctx, o.instanceType, ec2)
	if err != nil {
		fmt.Fprintf(stderr, "ipamd max-pods: %v\n", err)
		return ExitFailed
	}
	r, err := maxpods.Compute(limits, o.opts)
	if errors.Is(err, maxpods.ErrPrefixDelegation) {
		fmt.Fprintf(stderr, "ipamd max-pods: %v; drop --prefix-delegation\n", err)
		return ExitFailed
	}
	if err != nil {
		fmt.Fprintf(stderr, "ipamd max-pods: %v\n", err)
		return ExitFailed
	}
	if o.verbose {
		fmt.Fprintf(stderr, "%s (limits from %s): %d ENIs × %d pod addresses + %d = %d, cap %s → %d\n",
			limits.Type, source, r.ENIs, r.AddressesPerENI, maxpods.HostNetworkPods, r.Raw, capWords(r), r.MaxPods)
	}
	fmt.Fprintln(stdout, r.MaxPods)
	return ExitOK
}

type options struct {
	instanceType string
	opts         maxpods.Options
	verbose      bool
	region       string
}

// Region is the --region flag of args, if any (main builds the EC2 client
// from it before Run).
func Region(args []string) string {
	o, err := parse(args, io.Discard)
	if err != nil {
		return ""
	}
	return o.region
}

func parse(args []string, stderr io.Writer) (options, error) {
	var o options
	fs := flag.NewFlagSet("max-pods", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.instanceType, "instance-type", "", "the instance type")
	fs.BoolVar(&o.opts.PrefixDelegation, "prefix-delegation", false, "ENABLE_PREFIX_DELEGATION")
	fs.IntVar(&o.opts.MaxENI, "max-eni", -1, "MAX_ENI")
	fs.BoolVar(&o.opts.CustomNetworking, "custom-networking", false, "no pod addresses on the primary ENI")
	capFlag := fs.String("cap", "auto", "auto, none or a number")
	fs.BoolVar(&o.verbose, "verbose", false, "explain the figure on stderr")
	fs.StringVar(&o.region, "region", "", "the EC2 region to ask")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	o.instanceType = strings.TrimSpace(o.instanceType)
	if o.instanceType == "" {
		return o, errors.New("--instance-type is required")
	}
	c, err := maxpods.ParseCap(*capFlag)
	if err != nil {
		return o, fmt.Errorf("--cap: %w", err)
	}
	o.opts.Cap = c
	return o, nil
}

// limitsOf asks EC2, then the built-in table. EC2 saying the type does
// not exist is final; EC2 not answering falls back to the table.
func limitsOf(ctx context.Context, name string, ec2 Lookup) (cloud.InstanceTypeLimits, string, error) {
	if ec2 != nil {
		l, err := ec2(ctx, name)
		switch {
		case err == nil:
			return l, "DescribeInstanceTypes", nil
		case errors.Is(err, cloud.ErrNotFound):
			return cloud.InstanceTypeLimits{}, "", fmt.Errorf("unknown instance type %q: EC2 does not know it", name)
		}
	}
	if l, ok := cloud.BuiltinInstanceType(name); ok {
		return l, "the built-in table", nil
	}
	return cloud.InstanceTypeLimits{}, "", fmt.Errorf("unknown instance type %q: not in the built-in table (%d types; "+
		"set AWS_REGION so that DescribeInstanceTypes is asked)", name, len(cloud.BuiltinInstanceTypeNames()))
}

func capWords(r maxpods.Result) string {
	if r.Cap == 0 {
		return "none"
	}
	return fmt.Sprint(r.Cap)
}
