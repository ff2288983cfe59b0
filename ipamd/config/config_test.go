package config

import (
	"errors"
	"log/slog"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
)

// env is a lookup over a map, as main's os.LookupEnv.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func mustParse(t *testing.T, m map[string]string) Config {
	t.Helper()
	c, err := FromEnv(env(m))
	if err != nil {
		t.Fatalf("FromEnv(%v): %v", m, err)
	}
	return c
}

func TestDefaults(t *testing.T) {
	want := Config{
		WarmENITarget:     1,
		MaxENI:            -1,
		IPCooldown:        30 * time.Second,
		RandomizeSNAT:     hostnet.SNATRandomPRNG,
		ENIMTU:            9001,
		PodMTU:            9001,
		VethPrefix:        "eni",
		AdditionalENITags: map[string]string{},
		SocketPath:        "/run/vpc-cni/ipamd.sock",
		StateDir:          "/run/vpc-cni",
		MetricsAddr:       ":61678",
		IntrospectionAddr: "127.0.0.1:61679",
		EC2QPS:            10,
		EC2Burst:          20,
		AddWait:           10 * time.Second,
		LogLevel:          "info",
	}
	got := mustParse(t, nil)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("defaults:\n got %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(Defaults(), want) {
		t.Errorf("Defaults() = %+v", Defaults())
	}
	if p := got.CheckpointPath(); p != "/run/vpc-cni/ipam.json" {
		t.Errorf("CheckpointPath = %q", p)
	}
}

// TestEmptyIsUnset: a variable set to "" (as Helm charts render) takes its
// default.
func TestEmptyIsUnset(t *testing.T) {
	m := map[string]string{}
	for _, v := range Variables() {
		m[v.Name] = ""
	}
	if got := mustParse(t, m); !reflect.DeepEqual(got, Defaults()) {
		t.Errorf("all empty:\n got %+v\nwant %+v", got, Defaults())
	}
}

// TestValid: accepted values, including the formats the AWS VPC CNI takes.
func TestValid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		env   map[string]string
		check func(Config) bool
	}{
		{"warm eni 0", map[string]string{"WARM_ENI_TARGET": "0"}, func(c Config) bool { return c.WarmENITarget == 0 }},
		{"warm ip with spaces", map[string]string{"WARM_IP_TARGET": " 5 "}, func(c Config) bool { return c.WarmIPTarget == 5 }},
		{"minimum ip", map[string]string{"MINIMUM_IP_TARGET": "10"}, func(c Config) bool { return c.MinimumIPTarget == 10 }},
		{"prefix target without PD kept", map[string]string{"WARM_PREFIX_TARGET": "1"}, func(c Config) bool { return c.WarmPrefixTarget == 1 && !c.PrefixDelegation }},
		{"PD defaults prefix target 1", map[string]string{"ENABLE_PREFIX_DELEGATION": "true"}, func(c Config) bool { return c.PrefixDelegation && c.WarmPrefixTarget == 1 }},
		{"PD with prefix target 3", map[string]string{"ENABLE_PREFIX_DELEGATION": "1", "WARM_PREFIX_TARGET": "3"}, func(c Config) bool { return c.WarmPrefixTarget == 3 }},
		{"PD prefix 0 with warm ip", map[string]string{"ENABLE_PREFIX_DELEGATION": "true", "WARM_PREFIX_TARGET": "0", "WARM_IP_TARGET": "5"}, func(c Config) bool { return c.WarmPrefixTarget == 0 && c.WarmIPTarget == 5 }},
		{"PD prefix 0 with minimum ip", map[string]string{"ENABLE_PREFIX_DELEGATION": "true", "WARM_PREFIX_TARGET": "0", "MINIMUM_IP_TARGET": "16"}, func(c Config) bool { return c.WarmPrefixTarget == 0 }},
		{"bool T", map[string]string{"ENABLE_PREFIX_DELEGATION": "T"}, func(c Config) bool { return c.PrefixDelegation }},
		{"bool FALSE", map[string]string{"AWS_VPC_K8S_CNI_EXTERNALSNAT": "FALSE"}, func(c Config) bool { return !c.ExternalSNAT }},
		{"max eni 2", map[string]string{"MAX_ENI": "2"}, func(c Config) bool { return c.MaxENI == 2 }},
		{"max eni 0 is no cap", map[string]string{"MAX_ENI": "0"}, func(c Config) bool { return c.MaxENI == -1 }},
		{"max eni -5 is no cap", map[string]string{"MAX_ENI": "-5"}, func(c Config) bool { return c.MaxENI == -1 }},
		{"cooldown 0", map[string]string{"IP_COOLDOWN_PERIOD": "0"}, func(c Config) bool { return c.IPCooldown == 0 }},
		{"cooldown 120", map[string]string{"IP_COOLDOWN_PERIOD": "120"}, func(c Config) bool { return c.IPCooldown == 2*time.Minute }},
		{"exclude cidrs", map[string]string{"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS": " 198.18.0.0/16 ,,203.0.113.7/24,198.18.0.0/16,"},
			func(c Config) bool {
				return reflect.DeepEqual(c.ExcludeSNATCIDRs, []netip.Prefix{
					netip.MustParsePrefix("198.18.0.0/16"), netip.MustParsePrefix("203.0.113.0/24")})
			}},
		{"randomize hashrandom", map[string]string{"AWS_VPC_K8S_CNI_RANDOMIZESNAT": "hashrandom"}, func(c Config) bool { return c.RandomizeSNAT == hostnet.SNATRandomHash }},
		{"randomize NONE", map[string]string{"AWS_VPC_K8S_CNI_RANDOMIZESNAT": "NONE"}, func(c Config) bool { return c.RandomizeSNAT == hostnet.SNATRandomNone }},
		{"eni mtu sets pod mtu", map[string]string{"AWS_VPC_ENI_MTU": "1500"}, func(c Config) bool { return c.ENIMTU == 1500 && c.PodMTU == 1500 }},
		{"pod mtu own", map[string]string{"AWS_VPC_ENI_MTU": "9001", "POD_MTU": "1500"}, func(c Config) bool { return c.ENIMTU == 9001 && c.PodMTU == 1500 }},
		{"mtu bounds", map[string]string{"AWS_VPC_ENI_MTU": "576", "POD_MTU": "9001"}, func(c Config) bool { return c.ENIMTU == 576 && c.PodMTU == 9001 }},
		{"veth 4 chars", map[string]string{"AWS_VPC_K8S_CNI_VETHPREFIX": "ab12"}, func(c Config) bool { return c.VethPrefix == "ab12" }},
		{"veth 1 char", map[string]string{"AWS_VPC_K8S_CNI_VETHPREFIX": "x"}, func(c Config) bool { return c.VethPrefix == "x" }},
		// What the AWS VPC CNI takes and an interface name can hold.
		{"veth upper case", map[string]string{"AWS_VPC_K8S_CNI_VETHPREFIX": "Eni"}, func(c Config) bool { return c.VethPrefix == "Eni" }},
		{"veth dash", map[string]string{"AWS_VPC_K8S_CNI_VETHPREFIX": "e-n"}, func(c Config) bool { return c.VethPrefix == "e-n" }},
		{"veth punctuation", map[string]string{"AWS_VPC_K8S_CNI_VETHPREFIX": "v_.@"}, func(c Config) bool { return c.VethPrefix == "v_.@" }},
		{"veth 4 bytes of utf-8", map[string]string{"AWS_VPC_K8S_CNI_VETHPREFIX": "éé"}, func(c Config) bool { return c.VethPrefix == "éé" }},
		{"veth ethx", map[string]string{"AWS_VPC_K8S_CNI_VETHPREFIX": "ethx"}, func(c Config) bool { return c.VethPrefix == "ethx" }},
		{"tags: the AWS VPC CNI's and ours dropped with a warning",
			map[string]string{"ADDITIONAL_ENI_TAGS": `{"team":"payments","node.k8s.amazonaws.com/no_manage":"true","vpc-cni.io/created-by":"me"}`},
			func(c Config) bool {
				return reflect.DeepEqual(c.AdditionalENITags, map[string]string{"team": "payments"}) &&
					reflect.DeepEqual(c.Warnings, []string{
						`ADDITIONAL_ENI_TAGS: tag key "node.k8s.amazonaws.com/no_manage" is dropped: it contains k8s.amazonaws.com, which the AWS VPC CNI reserves for its own tags`,
						`ADDITIONAL_ENI_TAGS: tag key "vpc-cni.io/created-by" is dropped: it starts with vpc-cni.io/, which is reserved for vpc-cni's own tags`,
					})
			}},
		{"tags: only dropped keys", map[string]string{"ADDITIONAL_ENI_TAGS": `{"k8s.amazonaws.com/x":"1"}`},
			func(c Config) bool {
				return c.AdditionalENITags != nil && len(c.AdditionalENITags) == 0 && len(c.Warnings) == 1
			}},
		{"tags", map[string]string{"ADDITIONAL_ENI_TAGS": `{"team":"payments", "env":""}`},
			func(c Config) bool {
				return reflect.DeepEqual(c.AdditionalENITags, map[string]string{"team": "payments", "env": ""})
			}},
		{"tags empty object", map[string]string{"ADDITIONAL_ENI_TAGS": `{}`}, func(c Config) bool { return c.AdditionalENITags != nil && len(c.AdditionalENITags) == 0 }},
		{"cluster name", map[string]string{"CLUSTER_NAME": "prod-eu_1"}, func(c Config) bool { return c.ClusterName == "prod-eu_1" }},
		{"node name", map[string]string{"MY_NODE_NAME": "ip-198-18-0-10.eu-west-1.compute.internal"}, func(c Config) bool { return c.NodeName == "ip-198-18-0-10.eu-west-1.compute.internal" }},
		{"metrics port only", map[string]string{"METRICS_BIND_ADDRESS": ":9100"}, func(c Config) bool { return c.MetricsAddr == ":9100" }},
		{"introspection localhost", map[string]string{"INTROSPECTION_BIND_ADDRESS": "localhost:0"}, func(c Config) bool { return c.IntrospectionAddr == "localhost:0" }},
		{"introspection ipv6", map[string]string{"INTROSPECTION_BIND_ADDRESS": "[::1]:61679"}, func(c Config) bool { return c.IntrospectionAddr == "[::1]:61679" }},
		{"disable metrics wins", map[string]string{"METRICS_BIND_ADDRESS": ":9100", "DISABLE_METRICS": "true"}, func(c Config) bool { return c.MetricsAddr == "" }},
		{"disable introspection", map[string]string{"DISABLE_INTROSPECTION": "true"}, func(c Config) bool { return c.IntrospectionAddr == "" && c.MetricsAddr == DefaultMetricsAddr }},
		{"log DEBUG", map[string]string{"AWS_VPC_K8S_CNI_LOGLEVEL": "DEBUG"}, func(c Config) bool { return c.LogLevel == "debug" && c.SlogLevel() == slog.LevelDebug }},
		{"log warning", map[string]string{"AWS_VPC_K8S_CNI_LOGLEVEL": "Warning"}, func(c Config) bool { return c.LogLevel == "warn" && c.SlogLevel() == slog.LevelWarn }},
		{"log FATAL is error", map[string]string{"AWS_VPC_K8S_CNI_LOGLEVEL": "FATAL"}, func(c Config) bool { return c.LogLevel == "error" && c.SlogLevel() == slog.LevelError }},
		{"socket cleaned", map[string]string{"VPC_CNI_SOCKET": "/tmp//x/../ipamd.sock"}, func(c Config) bool { return c.SocketPath == "/tmp/ipamd.sock" }},
		{"state dir trailing slash", map[string]string{"VPC_CNI_STATE_DIR": "/var/run/vpc-cni/"}, func(c Config) bool { return c.CheckpointPath() == "/var/run/vpc-cni/ipam.json" }},
		{"qps fraction", map[string]string{"VPC_CNI_EC2_QPS": "2.5"}, func(c Config) bool { return c.EC2QPS == 2.5 }},
		{"burst 1", map[string]string{"VPC_CNI_EC2_BURST": "1"}, func(c Config) bool { return c.EC2Burst == 1 }},
		{"add wait duration", map[string]string{"VPC_CNI_ADD_WAIT": "1500ms"}, func(c Config) bool { return c.AddWait == 1500*time.Millisecond }},
		{"add wait seconds", map[string]string{"VPC_CNI_ADD_WAIT": "30"}, func(c Config) bool { return c.AddWait == 30*time.Second }},
		{"add wait just below limit", map[string]string{"VPC_CNI_ADD_WAIT": "1m59s"}, func(c Config) bool { return c.AddWait == 119*time.Second }},
		{"unsupported feature off is fine", map[string]string{"ENABLE_IPv6": "false", "ENABLE_IPv4": "true", "AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "false", "ENABLE_POD_ENI": "false"},
			func(c Config) bool { return len(c.Warnings) == 0 }},
		{"pod eni warns", map[string]string{"ENABLE_POD_ENI": "true"},
			func(c Config) bool {
				return len(c.Warnings) == 1 && strings.HasPrefix(c.Warnings[0], "ENABLE_POD_ENI=true is ignored")
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if c := mustParse(t, tc.env); !tc.check(c) {
				t.Errorf("%v: unexpected config %+v", tc.env, c)
			}
		})
	}
}

// TestInvalid: each refused value, with the whole message checked.
func TestInvalid(t *testing.T) {
	const (
		count = "want a whole number ≥ 0"
		mtu   = "want a whole number from 576 to 9001"
		cidrs = "want comma-separated IPv4 CIDRs, e.g. 198.18.0.0/16,203.0.113.0/24"
		veth  = "want 1 to 4 characters (bytes) valid in an interface name: no '/', ':', '%', whitespace or control characters; not eth, lo or vlan; e.g. eni"
		char  = "has a character an interface name cannot have; " + veth
		addr  = "want host:port or :port, e.g. 127.0.0.1:61679"
		wait  = "want a duration > 0 and below 2m (the kubelet's runtime request timeout), e.g. 10s or 1500ms; a whole number is seconds"
		tags  = `want a JSON object of string keys and string values, e.g. {"team":"payments"}`
		key   = "want tag keys of 1 to 128 characters, not starting with aws:"
		node  = "want a Kubernetes node name: at most 253 of a-z, 0-9, '-' and '.', starting and ending with a letter or digit"
	)
	long := strings.Repeat("a", 129)
	for _, tc := range []struct {
		name, value, want string
	}{
		{"WARM_ENI_TARGET", "-1", `WARM_ENI_TARGET="-1": ` + count},
		{"WARM_ENI_TARGET", "1.5", `WARM_ENI_TARGET="1.5": ` + count},
		{"WARM_IP_TARGET", "abc", `WARM_IP_TARGET="abc": ` + count},
		{"WARM_IP_TARGET", "99999999999999999999", `WARM_IP_TARGET="99999999999999999999": ` + count},
		{"MINIMUM_IP_TARGET", "-3", `MINIMUM_IP_TARGET="-3": ` + count},
		{"WARM_PREFIX_TARGET", "one", `WARM_PREFIX_TARGET="one": ` + count},
		{"ENABLE_PREFIX_DELEGATION", "yes", `ENABLE_PREFIX_DELEGATION="yes": want ` + wantBool},
		{"MAX_ENI", "many", `MAX_ENI="many": want a whole number: the most ENIs to use, or -1 for the instance type's limit`},
		{"IP_COOLDOWN_PERIOD", "30s", `IP_COOLDOWN_PERIOD="30s": want a whole number of seconds ≥ 0, e.g. 30`},
		{"IP_COOLDOWN_PERIOD", "-1", `IP_COOLDOWN_PERIOD="-1": want a whole number of seconds ≥ 0, e.g. 30`},
		{"IP_COOLDOWN_PERIOD", "9223372036854775807", `IP_COOLDOWN_PERIOD="9223372036854775807": want a whole number of seconds ≥ 0, e.g. 30`},
		{"AWS_VPC_K8S_CNI_EXTERNALSNAT", "on", `AWS_VPC_K8S_CNI_EXTERNALSNAT="on": want ` + wantBool},
		{"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", "10.0.0.0/33", `AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS="10.0.0.0/33": "10.0.0.0/33" is not an IPv4 CIDR; ` + cidrs},
		{"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", "2001:db8::/32", `AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS="2001:db8::/32": "2001:db8::/32" is not an IPv4 CIDR; ` + cidrs},
		{"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", "198.18.0.1", `AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS="198.18.0.1": "198.18.0.1" is not an IPv4 CIDR; ` + cidrs},
		{"AWS_VPC_K8S_CNI_RANDOMIZESNAT", "random", `AWS_VPC_K8S_CNI_RANDOMIZESNAT="random": want prng, hashrandom or none`},
		{"AWS_VPC_ENI_MTU", "575", `AWS_VPC_ENI_MTU="575": ` + mtu},
		{"AWS_VPC_ENI_MTU", "9002", `AWS_VPC_ENI_MTU="9002": ` + mtu},
		{"POD_MTU", "jumbo", `POD_MTU="jumbo": ` + mtu},
		{"AWS_VPC_K8S_CNI_VETHPREFIX", "veths", `AWS_VPC_K8S_CNI_VETHPREFIX="veths": ` + veth},
		{"AWS_VPC_K8S_CNI_VETHPREFIX", "ééé", `AWS_VPC_K8S_CNI_VETHPREFIX="ééé": ` + veth},
		{"AWS_VPC_K8S_CNI_VETHPREFIX", "\xff", `AWS_VPC_K8S_CNI_VETHPREFIX="\xff": ` + veth},
		{"AWS_VPC_K8S_CNI_VETHPREFIX", "a/b", `AWS_VPC_K8S_CNI_VETHPREFIX="a/b": ` + char},
		{"AWS_VPC_K8S_CNI_VETHPREFIX", "a:b", `AWS_VPC_K8S_CNI_VETHPREFIX="a:b": ` + char},
		{"AWS_VPC_K8S_CNI_VETHPREFIX", "a%d", `AWS_VPC_K8S_CNI_VETHPREFIX="a%d": ` + char},
		{"AWS_VPC_K8S_CNI_VETHPREFIX", "a b", `AWS_VPC_K8S_CNI_VETHPREFIX="a b": ` + char},
		{"AWS_VPC_K8S_CNI_VETHPREFIX", "a\tb", `AWS_VPC_K8S_CNI_VETHPREFIX="a\tb": ` + char},
		{"AWS_VPC_K8S_CNI_VETHPREFIX", "a\x01", `AWS_VPC_K8S_CNI_VETHPREFIX="a\x01": ` + char},
		{"AWS_VPC_K8S_CNI_VETHPREFIX", "eth", `AWS_VPC_K8S_CNI_VETHPREFIX="eth": reserved for other interfaces; ` + veth},
		{"AWS_VPC_K8S_CNI_VETHPREFIX", "vlan", `AWS_VPC_K8S_CNI_VETHPREFIX="vlan": reserved for other interfaces; ` + veth},
		{"AWS_VPC_K8S_CNI_VETHPREFIX", "lo", `AWS_VPC_K8S_CNI_VETHPREFIX="lo": reserved for other interfaces; ` + veth},
		{"ADDITIONAL_ENI_TAGS", `{"team":1}`, `ADDITIONAL_ENI_TAGS="{\"team\":1}": ` + tags},
		{"ADDITIONAL_ENI_TAGS", `["a"]`, `ADDITIONAL_ENI_TAGS="[\"a\"]": ` + tags},
		{"ADDITIONAL_ENI_TAGS", `null`, `ADDITIONAL_ENI_TAGS="null": ` + tags},
		{"ADDITIONAL_ENI_TAGS", `{"a":"b"`, `ADDITIONAL_ENI_TAGS="{\"a\":\"b\"": ` + tags},
		{"ADDITIONAL_ENI_TAGS", `{"a":"b"} x`, `ADDITIONAL_ENI_TAGS="{\"a\":\"b\"} x": ` + tags},
		{"ADDITIONAL_ENI_TAGS", `{"AWS:x":"y"}`,
			`ADDITIONAL_ENI_TAGS="{\"AWS:x\":\"y\"}": tag key "AWS:x" starts with aws:, which AWS reserves (EC2 refuses it); ` + key},
		{"ADDITIONAL_ENI_TAGS", `{"":"y"}`, `ADDITIONAL_ENI_TAGS="{\"\":\"y\"}": tag key "" has 0 characters; ` + key},
		{"ADDITIONAL_ENI_TAGS", `{"` + long + `":"y"}`, `ADDITIONAL_ENI_TAGS="{\"` + long + `\":\"y\"}": tag key "` + long + `" has 129 characters; ` + key},
		{"ADDITIONAL_ENI_TAGS", `{"k":"` + strings.Repeat("v", 257) + `"}`,
			`ADDITIONAL_ENI_TAGS="{\"k\":\"` + strings.Repeat("v", 257) + `\"}": the value of tag "k" has 257 characters; want tag values of at most 256 characters`},
		{"CLUSTER_NAME", strings.Repeat("c", 257), `CLUSTER_NAME="` + strings.Repeat("c", 257) + `": want at most 256 characters (it is an ENI tag value)`},
		{"DISABLE_LEAKED_ENI_CLEANUP", "disable", `DISABLE_LEAKED_ENI_CLEANUP="disable": want ` + wantBool},
		{"MY_NODE_NAME", "Node_1", `MY_NODE_NAME="Node_1": ` + node},
		{"MY_NODE_NAME", "-node", `MY_NODE_NAME="-node": ` + node},
		{"METRICS_BIND_ADDRESS", "61678", `METRICS_BIND_ADDRESS="61678": ` + addr},
		{"METRICS_BIND_ADDRESS", ":http", `METRICS_BIND_ADDRESS=":http": port "http" is not a number from 0 to 65535; ` + addr},
		{"METRICS_BIND_ADDRESS", ":70000", `METRICS_BIND_ADDRESS=":70000": port "70000" is not a number from 0 to 65535; ` + addr},
		{"INTROSPECTION_BIND_ADDRESS", "unix:/run/introspect.sock", `INTROSPECTION_BIND_ADDRESS="unix:/run/introspect.sock": unix sockets are not supported here; ` + addr},
		{"INTROSPECTION_BIND_ADDRESS", "bad host!:1", `INTROSPECTION_BIND_ADDRESS="bad host!:1": "bad host!" is neither an IP address nor a host name; ` + addr},
		{"DISABLE_METRICS", "maybe", `DISABLE_METRICS="maybe": want ` + wantBool},
		{"DISABLE_INTROSPECTION", "2", `DISABLE_INTROSPECTION="2": want ` + wantBool},
		{"AWS_VPC_K8S_CNI_LOGLEVEL", "trace", `AWS_VPC_K8S_CNI_LOGLEVEL="trace": want debug, info, warn or error (any case)`},
		{"VPC_CNI_SOCKET", "run/ipamd.sock", `VPC_CNI_SOCKET="run/ipamd.sock": want an absolute path of at most 107 bytes`},
		{"VPC_CNI_SOCKET", "/" + strings.Repeat("s", 107), `VPC_CNI_SOCKET="/` + strings.Repeat("s", 107) + `": too long for a unix socket; want an absolute path of at most 107 bytes`},
		{"VPC_CNI_STATE_DIR", "state", `VPC_CNI_STATE_DIR="state": want an absolute path`},
		{"VPC_CNI_EC2_QPS", "0", `VPC_CNI_EC2_QPS="0": want a number > 0, e.g. 10 or 2.5`},
		{"VPC_CNI_EC2_QPS", "NaN", `VPC_CNI_EC2_QPS="NaN": want a number > 0, e.g. 10 or 2.5`},
		{"VPC_CNI_EC2_QPS", "+Inf", `VPC_CNI_EC2_QPS="+Inf": want a number > 0, e.g. 10 or 2.5`},
		{"VPC_CNI_EC2_BURST", "0", `VPC_CNI_EC2_BURST="0": want a whole number ≥ 1`},
		{"VPC_CNI_ADD_WAIT", "0", `VPC_CNI_ADD_WAIT="0": ` + wait},
		{"VPC_CNI_ADD_WAIT", "-1s", `VPC_CNI_ADD_WAIT="-1s": ` + wait},
		{"VPC_CNI_ADD_WAIT", "2m", `VPC_CNI_ADD_WAIT="2m": ` + wait},
		{"VPC_CNI_ADD_WAIT", "120", `VPC_CNI_ADD_WAIT="120": ` + wait},
		{"VPC_CNI_ADD_WAIT", "soon", `VPC_CNI_ADD_WAIT="soon": ` + wait},
		{"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG", "true", `AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG="true": custom networking (pod subnets and security groups from ENIConfig) is not supported: pods would get addresses from the node's subnet; want unset or false`},
		{"ENABLE_IPv6", "TRUE", `ENABLE_IPv6="TRUE": vpc-cni gives pods IPv4 addresses only; want unset or false`},
		{"ENABLE_IPv4", "false", `ENABLE_IPv4="false": vpc-cni gives pods IPv4 addresses only; want unset or true`},
	} {
		t.Run(tc.name+"="+tc.value, func(t *testing.T) {
			_, err := FromEnv(env(map[string]string{tc.name: tc.value}))
			if err == nil {
				t.Fatalf("%s=%q accepted", tc.name, tc.value)
			}
			if err.Error() != tc.want {
				t.Errorf("error:\n got %s\nwant %s", err, tc.want)
			}
			var ve *VarError
			if !errors.As(err, &ve) || ve.Name != tc.name || ve.Value != tc.value {
				t.Errorf("errors.As: %#v", ve)
			}
		})
	}
}

// TestPrefixDelegationWithoutTarget: refused as the AWS VPC CNI refuses it.
func TestPrefixDelegationWithoutTarget(t *testing.T) {
	_, err := FromEnv(env(map[string]string{"ENABLE_PREFIX_DELEGATION": "true", "WARM_PREFIX_TARGET": "00"}))
	want := `WARM_PREFIX_TARGET="00": with ENABLE_PREFIX_DELEGATION=true and neither WARM_IP_TARGET nor MINIMUM_IP_TARGET set, ` +
		`the pool would keep nothing free; want a whole number ≥ 1, or set WARM_IP_TARGET or MINIMUM_IP_TARGET`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// TestOneErrorPerMistake: a refused WARM_PREFIX_TARGET is not reported
// again as the prefix delegation check.
func TestOneErrorPerMistake(t *testing.T) {
	_, err := FromEnv(env(map[string]string{"ENABLE_PREFIX_DELEGATION": "true", "WARM_PREFIX_TARGET": "one"}))
	if want := `WARM_PREFIX_TARGET="one": want a whole number ≥ 0`; err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}

// TestAllErrorsReported: every problem is reported, not only the first,
// one line each, in the documentation's order.
func TestAllErrorsReported(t *testing.T) {
	_, err := FromEnv(env(map[string]string{
		"VPC_CNI_ADD_WAIT":                   "forever",
		"WARM_IP_TARGET":                     "abc",
		"AWS_VPC_ENI_MTU":                    "100000",
		"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS": "x,198.18.0.0/15,y",
		"ADDITIONAL_ENI_TAGS":                `{"aws:a":"1","b":"2","":"3","k8s.amazonaws.com":"4"}`,
		"WARM_ENI_TARGET":                    "2",
	}))
	if err == nil {
		t.Fatal("accepted")
	}
	var names []string
	for line := range strings.SplitSeq(err.Error(), "\n") {
		name, _, _ := strings.Cut(line, "=")
		names = append(names, name)
	}
	want := []string{"WARM_IP_TARGET", "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS",
		"AWS_VPC_ENI_MTU", "ADDITIONAL_ENI_TAGS", "ADDITIONAL_ENI_TAGS", "VPC_CNI_ADD_WAIT"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("errors for %v, want %v:\n%v", names, want, err)
	}
	if n := len(err.(interface{ Unwrap() []error }).Unwrap()); n != len(want) {
		t.Errorf("%d joined errors, want %d", n, len(want))
	}
}

func TestTooManyTags(t *testing.T) {
	tags := map[string]string{}
	for i := range MaxAdditionalENITags {
		tags[strings.Repeat("k", i+1)] = "v"
	}
	b := tagsJSON(t, tags)
	if _, err := FromEnv(env(map[string]string{"ADDITIONAL_ENI_TAGS": b})); err != nil {
		t.Fatalf("%d tags: %v", len(tags), err)
	}
	tags["one-more"] = "v"
	b = tagsJSON(t, tags)
	_, err := FromEnv(env(map[string]string{"ADDITIONAL_ENI_TAGS": b}))
	if err == nil || !strings.HasSuffix(err.Error(), `: 45 tags; want at most 44 (EC2 takes 50 tags on an ENI and ipamd sets 6)`) {
		t.Errorf("45 tags: %v", err)
	}
}

func tagsJSON(t *testing.T, tags map[string]string) string {
	t.Helper()
	return getTags(Config{AdditionalENITags: tags})
}
