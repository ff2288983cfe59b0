package config

import (
	"maps"
	"net/netip"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
)

// honoured is one case per variable: set to a value other than its
// default, the variable changes exactly the Config it should.
var honoured = []struct {
	name, value string
	apply       func(*Config) // what the value changes, applied to Defaults()
}{
	{"WARM_ENI_TARGET", "3", func(c *Config) { c.WarmENITarget = 3 }},
	{"WARM_IP_TARGET", "5", func(c *Config) { c.WarmIPTarget = 5 }},
	{"MINIMUM_IP_TARGET", "10", func(c *Config) { c.MinimumIPTarget = 10 }},
	{"WARM_PREFIX_TARGET", "2", func(c *Config) { c.WarmPrefixTarget = 2 }},
	{"ENABLE_PREFIX_DELEGATION", "true", func(c *Config) { c.PrefixDelegation = true; c.WarmPrefixTarget = 1 }},
	{"MAX_ENI", "2", func(c *Config) { c.MaxENI = 2 }},
	{"IP_COOLDOWN_PERIOD", "45", func(c *Config) { c.IPCooldown = 45 * time.Second }},
	{"AWS_VPC_K8S_CNI_EXTERNALSNAT", "true", func(c *Config) { c.ExternalSNAT = true }},
	{"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", "203.0.113.0/24", func(c *Config) {
		c.ExcludeSNATCIDRs = []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}
	}},
	{"AWS_VPC_K8S_CNI_RANDOMIZESNAT", "none", func(c *Config) { c.RandomizeSNAT = hostnet.SNATRandomNone }},
	{"AWS_VPC_ENI_MTU", "1500", func(c *Config) { c.ENIMTU = 1500; c.PodMTU = 1500 }},
	{"POD_MTU", "1400", func(c *Config) { c.PodMTU = 1400 }},
	{"AWS_VPC_K8S_CNI_VETHPREFIX", "pod", func(c *Config) { c.VethPrefix = "pod" }},
	{"ADDITIONAL_ENI_TAGS", `{"team":"payments"}`, func(c *Config) { c.AdditionalENITags = map[string]string{"team": "payments"} }},
	{"CLUSTER_NAME", "prod", func(c *Config) { c.ClusterName = "prod" }},
	{"DISABLE_LEAKED_ENI_CLEANUP", "true", func(c *Config) { c.DisableLeakedENICleanup = true }},
	{"MY_NODE_NAME", "node-1", func(c *Config) { c.NodeName = "node-1" }},
	{"METRICS_BIND_ADDRESS", "127.0.0.1:9100", func(c *Config) { c.MetricsAddr = "127.0.0.1:9100" }},
	{"DISABLE_METRICS", "true", func(c *Config) { c.MetricsAddr = "" }},
	{"INTROSPECTION_BIND_ADDRESS", "127.0.0.1:9101", func(c *Config) { c.IntrospectionAddr = "127.0.0.1:9101" }},
	{"DISABLE_INTROSPECTION", "true", func(c *Config) { c.IntrospectionAddr = "" }},
	{"AWS_VPC_K8S_CNI_LOGLEVEL", "debug", func(c *Config) { c.LogLevel = "debug" }},
	{"VPC_CNI_SOCKET", "/tmp/vpc-cni/ipamd.sock", func(c *Config) { c.SocketPath = "/tmp/vpc-cni/ipamd.sock" }},
	{"VPC_CNI_STATE_DIR", "/tmp/vpc-cni", func(c *Config) { c.StateDir = "/tmp/vpc-cni" }},
	{"VPC_CNI_EC2_QPS", "2.5", func(c *Config) { c.EC2QPS = 2.5 }},
	{"VPC_CNI_EC2_BURST", "7", func(c *Config) { c.EC2Burst = 7 }},
	{"VPC_CNI_ADD_WAIT", "3s", func(c *Config) { c.AddWait = 3 * time.Second }},
}

func TestEachVariableHonoured(t *testing.T) {
	covered := map[string]bool{}
	for _, tc := range honoured {
		covered[tc.name] = true
		t.Run(tc.name, func(t *testing.T) {
			got := mustParse(t, map[string]string{tc.name: tc.value})
			want := Defaults()
			tc.apply(&want)
			if reflect.DeepEqual(want, Defaults()) {
				t.Fatalf("case does not change anything")
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s=%s:\n got %+v\nwant %+v", tc.name, tc.value, got, want)
			}
		})
	}
	for _, v := range Variables() {
		if !covered[v.Name] {
			t.Errorf("%s has no case in honoured", v.Name)
		}
	}
}

// TestReadsExactlyTheVariables: FromEnv asks for the documented variables
// and the checked unsupported ones, and for nothing else.
func TestReadsExactlyTheVariables(t *testing.T) {
	asked := map[string]bool{}
	if _, err := FromEnv(func(name string) (string, bool) { asked[name] = true; return "", false }); err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	for _, v := range Variables() {
		want[v.Name] = true
	}
	for _, u := range UnsupportedVariables() {
		want[u.Name] = true
	}
	if !maps.Equal(asked, want) {
		t.Errorf("asked for %v\nwant %v", slices.Sorted(maps.Keys(asked)), slices.Sorted(maps.Keys(want)))
	}
}

// TestDocumentedDefaultIsDefault: a variable set to its documented default
// changes nothing. Two defaults are words, not values; their meaning is
// checked here instead.
func TestDocumentedDefaultIsDefault(t *testing.T) {
	for _, v := range Variables() {
		switch v.Name {
		case "WARM_PREFIX_TARGET":
			if Defaults().WarmPrefixTarget != 0 ||
				mustParse(t, map[string]string{"ENABLE_PREFIX_DELEGATION": "true"}).WarmPrefixTarget != 1 {
				t.Errorf("%s: not %q", v.Name, v.Default)
			}
			continue
		case "POD_MTU":
			if c := mustParse(t, map[string]string{"AWS_VPC_ENI_MTU": "1500"}); c.PodMTU != 1500 {
				t.Errorf("%s: not %q", v.Name, v.Default)
			}
			continue
		}
		got := mustParse(t, map[string]string{v.Name: v.Default})
		if !reflect.DeepEqual(got, Defaults()) {
			t.Errorf("%s=%q is not the default:\n got %+v\nwant %+v", v.Name, v.Default, got, Defaults())
		}
	}
}

// TestEffectiveRoundTrip: Effective gives, for every variable, a value that
// parses back to the same Config.
func TestEffectiveRoundTrip(t *testing.T) {
	for _, m := range []map[string]string{
		nil,
		{"ENABLE_PREFIX_DELEGATION": "true"},
		{"DISABLE_METRICS": "1", "DISABLE_INTROSPECTION": "t", "MAX_ENI": "0"},
		{"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS": "198.18.0.0/16,203.0.113.0/24", "ADDITIONAL_ENI_TAGS": `{"b":"2","a":"1"}`,
			"VPC_CNI_ADD_WAIT": "1500ms", "VPC_CNI_EC2_QPS": "0.1", "AWS_VPC_K8S_CNI_LOGLEVEL": "FATAL", "POD_MTU": "1500"},
	} {
		c := mustParse(t, m)
		eff := c.Effective()
		if len(eff) != len(Variables()) {
			t.Errorf("Effective has %d variables, want %d", len(eff), len(Variables()))
		}
		if back := mustParse(t, eff); !reflect.DeepEqual(back, c) {
			t.Errorf("%v: Effective %v parses to\n %+v\nwant %+v", m, eff, back, c)
		}
	}
}

func TestVariablesShape(t *testing.T) {
	seen := map[string]bool{}
	for _, v := range Variables() {
		if seen[v.Name] {
			t.Errorf("%s listed twice", v.Name)
		}
		seen[v.Name] = true
		if v.Meaning == "" {
			t.Errorf("%s has no meaning", v.Name)
		}
		if isOurs := len(v.Name) > len(Prefix) && v.Name[:len(Prefix)] == Prefix; isOurs && v.AWS {
			t.Errorf("%s has our prefix but is marked AWS", v.Name)
		}
	}
}
