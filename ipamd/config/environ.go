package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// derive applies the defaults that depend on other variables and the
// checks that involve more than one.
func (p *parser) derive() {
	c := &p.c
	if _, ok := p.given["WARM_PREFIX_TARGET"]; !ok {
		c.WarmPrefixTarget = 0
		if c.PrefixDelegation {
			c.WarmPrefixTarget = 1
		}
	}
	if _, ok := p.given["POD_MTU"]; !ok {
		c.PodMTU = c.ENIMTU
	}
	if p.disableMetrics {
		c.MetricsAddr = ""
	}
	if p.disableIntrospection {
		c.IntrospectionAddr = ""
	}
	p.checkPrefixTargets()
}

// checkPrefixTargets refuses, as the AWS VPC CNI does, prefix delegation
// with no target that keeps anything free. A refused value of one of the
// variables involved is reported on its own instead.
func (p *parser) checkPrefixTargets() {
	c := &p.c
	for _, name := range []string{"ENABLE_PREFIX_DELEGATION", "WARM_PREFIX_TARGET", "WARM_IP_TARGET", "MINIMUM_IP_TARGET"} {
		if p.failed[name] {
			return
		}
	}
	if c.PrefixDelegation && c.WarmPrefixTarget == 0 && c.WarmIPTarget == 0 && c.MinimumIPTarget == 0 {
		p.errs = append(p.errs, &VarError{
			Name: "WARM_PREFIX_TARGET", Value: p.given["WARM_PREFIX_TARGET"],
			Problem: "with ENABLE_PREFIX_DELEGATION=true and neither WARM_IP_TARGET nor MINIMUM_IP_TARGET set, the pool would keep nothing free",
			Want:    "a whole number ≥ 1, or set WARM_IP_TARGET or MINIMUM_IP_TARGET",
		})
	}
}

// Unsupported is an AWS VPC CNI variable whose feature vpc-cni does not
// have. Set to a value that asks for the feature, it is an error when pods
// would otherwise get addresses the user did not ask for, else a warning.
type Unsupported struct {
	Name    string `json:"name"`
	Refused string `json:"refused"` // the value that asks for the feature
	Error   bool   `json:"error"`
	Why     string `json:"why"`
}

// UnsupportedVariables lists the AWS VPC CNI variables that ipamd checks
// but does not honour.
func UnsupportedVariables() []Unsupported { return slices.Clone(unsupported) }

var unsupported = []Unsupported{
	{"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "true", true,
		"custom networking (pod subnets and security groups from ENIConfig) is not supported: pods would get addresses from the node's subnet"},
	{"ENABLE_IPv6", "true", true, "vpc-cni gives pods IPv4 addresses only"},
	{"ENABLE_IPv4", "false", true, "vpc-cni gives pods IPv4 addresses only"},
	{"ENABLE_POD_ENI", "true", false,
		"security groups for pods (branch ENIs) is not supported: pods use the node's security groups"},
}

func (p *parser) unsupported(lookup func(string) (string, bool)) {
	for _, u := range unsupported {
		v, ok := lookup(u.Name)
		if !ok {
			continue
		}
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil || strconv.FormatBool(b) != u.Refused {
			continue
		}
		if u.Error {
			p.errs = append(p.errs, &VarError{Name: u.Name, Value: v, Problem: u.Why,
				Want: "unset or " + strconv.FormatBool(!b)})
			continue
		}
		p.c.Warnings = append(p.c.Warnings, fmt.Sprintf("%s=%s is ignored: %s", u.Name, v, u.Why))
	}
}

// knownOurs are VPC_CNI_ variables that are not ours to read but are fine
// to find: VPC_CNI_VERSION is in the AWS VPC CNI's daemonset.
var knownOurs = []string{"VPC_CNI_VERSION"}

// serviceLinkRE matches the variables Kubernetes sets in a pod for each
// service in its namespace (enableServiceLinks): a service named vpc-cni
// gives VPC_CNI_SERVICE_HOST, VPC_CNI_PORT_61678_TCP_ADDR and so on.
var serviceLinkRE = regexp.MustCompile(
	`^[A-Z0-9_]+_(SERVICE_HOST|SERVICE_PORT(_[A-Z0-9_]+)?|PORT(_[0-9]+_(TCP|UDP|SCTP)(_PROTO|_PORT|_ADDR)?)?)$`)

// unknownOurs returns an error for each variable with our prefix that is
// neither ours, nor known, nor a Kubernetes service link.
func unknownOurs(env map[string]string) []error {
	var names, ourNames []string
	for _, s := range specs {
		if strings.HasPrefix(s.Name, Prefix) {
			ourNames = append(ourNames, s.Name)
		}
	}
	for name := range env {
		if strings.HasPrefix(name, Prefix) && !slices.Contains(ourNames, name) &&
			!slices.Contains(knownOurs, name) && !serviceLinkRE.MatchString(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	var errs []error
	for _, name := range names {
		prob := "not a vpc-cni variable"
		if near := nearest(name, ourNames); near != "" {
			prob += " (did you mean " + near + "?)"
		}
		errs = append(errs, &VarError{Name: name, Value: env[name], Problem: prob,
			Want: "one of " + strings.Join(ourNames, ", ")})
	}
	return errs
}

// nearest is the candidate closest to name by edit distance, if close
// enough to be a likely typo.
func nearest(name string, candidates []string) string {
	best, bestD := "", 4
	if len(name) > 64 {
		return ""
	}
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b (bytes).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
