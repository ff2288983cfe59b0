package config

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// Variable is one environment variable ipamd reads.
type Variable struct {
	Name string `json:"name"`
	// Default is the value ipamd uses when the variable is unset or empty,
	// as written in the documentation ("" for none).
	Default string `json:"default"`
	Meaning string `json:"meaning"`
	// AWS is true for the AWS VPC CNI's variables (same name, meaning and
	// format), false for vpc-cni's own.
	AWS bool `json:"aws"`
}

// Variables lists every variable ipamd reads, in documentation order.
func Variables() []Variable {
	out := make([]Variable, len(specs))
	for i, s := range specs {
		out[i] = s.Variable
	}
	return out
}

// Effective is the configuration as variables: the value of each that
// parses back to c. Introspection shows it.
func (c Config) Effective() map[string]string {
	out := make(map[string]string, len(specs))
	for _, s := range specs {
		out[s.Name] = s.get(c)
	}
	return out
}

// spec is a Variable with how it is parsed into a Config and read back.
type spec struct {
	Variable
	set func(p *parser, v string) error // v is non-empty
	get func(c Config) string
}

func aws(name, def, meaning string) Variable {
	return Variable{Name: name, Default: def, Meaning: meaning, AWS: true}
}

func ours(name, def, meaning string) Variable {
	return Variable{Name: name, Default: def, Meaning: meaning}
}

const (
	wantCount = "a whole number ≥ 0"
	wantBool  = "true or false (as strconv.ParseBool: 1, t, T, TRUE, true, True, 0, f, F, FALSE, false, False)"
)

var specs = []spec{
	// Warm pool.
	{aws("WARM_ENI_TARGET", "1", "free ENIs (with all their addresses) to keep attached; ignored when WARM_IP_TARGET or MINIMUM_IP_TARGET is set"),
		intSet(func(c *Config) *int { return &c.WarmENITarget }, 0, wantCount), intGet(func(c Config) int { return c.WarmENITarget })},
	{aws("WARM_IP_TARGET", "0", "free addresses to keep available; 0 = unset. Takes precedence over WARM_ENI_TARGET and WARM_PREFIX_TARGET"),
		intSet(func(c *Config) *int { return &c.WarmIPTarget }, 0, wantCount), intGet(func(c Config) int { return c.WarmIPTarget })},
	{aws("MINIMUM_IP_TARGET", "0", "addresses to hold in total, assigned or not (pre-scaling); 0 = unset"),
		intSet(func(c *Config) *int { return &c.MinimumIPTarget }, 0, wantCount), intGet(func(c Config) int { return c.MinimumIPTarget })},
	{aws("WARM_PREFIX_TARGET", "1 with prefix delegation, else 0", "free /28 prefixes to keep in prefix delegation mode"),
		intSet(func(c *Config) *int { return &c.WarmPrefixTarget }, 0, wantCount), intGet(func(c Config) int { return c.WarmPrefixTarget })},
	{aws("ENABLE_PREFIX_DELEGATION", "false", "assign /28 prefixes to ENIs instead of single secondary addresses"),
		boolSet(func(c *Config) *bool { return &c.PrefixDelegation }), boolGet(func(c Config) bool { return c.PrefixDelegation })},
	{aws("MAX_ENI", "-1", "the most ENIs to use; 0 or less means the instance type's limit, which also caps a larger value"),
		setMaxENI, intGet(func(c Config) int { return c.MaxENI })},
	{aws("IP_COOLDOWN_PERIOD", "30", "seconds a released address waits before it is handed out again"),
		setCooldown, func(c Config) string { return strconv.FormatInt(int64(c.IPCooldown/time.Second), 10) }},

	// Host networking.
	{aws("AWS_VPC_K8S_CNI_EXTERNALSNAT", "false", "no SNAT on the node: something beyond it (a NAT gateway) translates traffic leaving the VPC"),
		boolSet(func(c *Config) *bool { return &c.ExternalSNAT }), boolGet(func(c Config) bool { return c.ExternalSNAT })},
	{aws("AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", "", "comma-separated IPv4 CIDRs that pod traffic reaches without SNAT, besides the VPC's"),
		setExcludeCIDRs, getExcludeCIDRs},
	{aws("AWS_VPC_K8S_CNI_RANDOMIZESNAT", "prng", "SNAT source ports: prng (fully random), hashrandom, or none (sequential)"),
		setRandomizeSNAT, func(c Config) string { return string(c.RandomizeSNAT) }},
	{aws("AWS_VPC_ENI_MTU", "9001", "MTU of the ENIs, 576 to 9001"),
		mtuSet(func(c *Config) *int { return &c.ENIMTU }), intGet(func(c Config) int { return c.ENIMTU })},
	{aws("POD_MTU", "AWS_VPC_ENI_MTU", "MTU of the pods' interfaces, 576 to 9001"),
		mtuSet(func(c *Config) *int { return &c.PodMTU }), intGet(func(c Config) int { return c.PodMTU })},
	{aws("AWS_VPC_K8S_CNI_VETHPREFIX", "eni", "name prefix of the host side of pod veths: 1 to 4 bytes valid in an interface name, not eth, lo or vlan"),
		setVethPrefix, func(c Config) string { return c.VethPrefix }},

	// ENIs and the cluster.
	{aws("ADDITIONAL_ENI_TAGS", "{}", `JSON object of tags for every ENI ipamd creates, e.g. {"team":"payments"}; keys reserved for vpc-cni or the AWS VPC CNI are dropped with a warning`),
		setTags, getTags},
	{aws("CLUSTER_NAME", "", "cluster name, tagged on the ENIs ipamd creates; scopes the leaked-ENI cleanup"),
		setClusterName, func(c Config) string { return c.ClusterName }},
	{aws("DISABLE_LEAKED_ENI_CLEANUP", "false", "do not delete ENIs that vpc-cni created and left detached (checked hourly)"),
		boolSet(func(c *Config) *bool { return &c.DisableLeakedENICleanup }), boolGet(func(c Config) bool { return c.DisableLeakedENICleanup })},
	{aws("MY_NODE_NAME", "", "this node's Kubernetes name (from the downward API spec.nodeName), tagged on the ENIs ipamd creates"),
		setNodeName, func(c Config) string { return c.NodeName }},

	// Endpoints and logging.
	{ours("METRICS_BIND_ADDRESS", ":61678", "host:port of the Prometheus metrics endpoint (/metrics)"),
		addrSet(func(c *Config) *string { return &c.MetricsAddr }), func(c Config) string { return c.MetricsAddr }},
	{aws("DISABLE_METRICS", "false", "serve no metrics endpoint"),
		func(p *parser, v string) error { return parseBoolInto(&p.disableMetrics, v) },
		func(c Config) string { return strconv.FormatBool(c.MetricsAddr == "") }},
	{aws("INTROSPECTION_BIND_ADDRESS", "127.0.0.1:61679", "host:port of the introspection endpoint (JSON)"),
		addrSet(func(c *Config) *string { return &c.IntrospectionAddr }), func(c Config) string { return c.IntrospectionAddr }},
	{aws("DISABLE_INTROSPECTION", "false", "serve no introspection endpoint"),
		func(p *parser, v string) error { return parseBoolInto(&p.disableIntrospection, v) },
		func(c Config) string { return strconv.FormatBool(c.IntrospectionAddr == "") }},
	{aws("AWS_VPC_K8S_CNI_LOGLEVEL", "info", "ipamd's log level: debug, info, warn or error (any case; FATAL means error)"),
		setLogLevel, func(c Config) string { return c.LogLevel }},

	// Ours.
	{ours("VPC_CNI_SOCKET", DefaultSocketPath, "absolute path of ipamd's gRPC unix socket, which the plugin dials"),
		pathSet(func(c *Config) *string { return &c.SocketPath }, maxSocketPath), func(c Config) string { return c.SocketPath }},
	{ours("VPC_CNI_STATE_DIR", DefaultStateDir, "absolute path of the directory of ipamd's checkpoint (ipam.json); keep it on tmpfs"),
		pathSet(func(c *Config) *string { return &c.StateDir }, 0), func(c Config) string { return c.StateDir }},
	{ours("VPC_CNI_EC2_QPS", "10", "EC2 API calls per second ipamd allows itself (> 0, fractions allowed)"),
		setQPS, func(c Config) string { return strconv.FormatFloat(c.EC2QPS, 'g', -1, 64) }},
	{ours("VPC_CNI_EC2_BURST", "20", "EC2 API calls ipamd may make in a burst above VPC_CNI_EC2_QPS (≥ 1)"),
		intSet(func(c *Config) *int { return &c.EC2Burst }, 1, "a whole number ≥ 1"), intGet(func(c Config) int { return c.EC2Burst })},
	{ours("VPC_CNI_ADD_WAIT", "10s", "how long an ADD that finds no free address waits for the pool to grow (a Go duration such as 10s, or whole seconds; below 2m)"),
		setAddWait, func(c Config) string { return c.AddWait.String() }},
}

func intGet(f func(Config) int) func(Config) string {
	return func(c Config) string { return strconv.Itoa(f(c)) }
}

func boolGet(f func(Config) bool) func(Config) string {
	return func(c Config) string { return strconv.FormatBool(f(c)) }
}

func getExcludeCIDRs(c Config) string {
	parts := make([]string, len(c.ExcludeSNATCIDRs))
	for i, p := range c.ExcludeSNATCIDRs {
		parts[i] = p.String()
	}
	return strings.Join(parts, ",")
}

func getTags(c Config) string {
	if len(c.AdditionalENITags) == 0 {
		return "{}"
	}
	b, err := json.Marshal(c.AdditionalENITags) // keys sorted
	if err != nil {
		return "{}"
	}
	return string(b)
}
