package daemon

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud"
	cloudaws "github.com/vpc-cni/vpc-cni/cloud/aws"
	"github.com/vpc-cni/vpc-cni/ipamd/config"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	"github.com/vpc-cni/vpc-cni/ipamd/manager"
	"github.com/vpc-cni/vpc-cni/ipamd/maxpods"
	"github.com/vpc-cni/vpc-cni/ipamd/pool"
	"github.com/vpc-cni/vpc-cni/ipamd/server"
)

// built is every component's options, built from one configuration as the
// daemon builds them.
type built struct {
	store         datastore.Options
	maxPods       maxpods.Options
	manager       manager.Options
	snat          hostnet.SNAT
	service       ipam.Options
	server        server.Options
	metrics       binding
	introspection binding
	cloud         cloudaws.Options
	log           *slog.Logger
	hostENI       hostnet.ENI
	view          ConfigView
}

var (
	testInst = cloud.Instance{
		ID: "i-0123456789abcdef0", Type: "m5.large", AZ: "eu-west-1a", PrimaryENI: "eni-p", PrimaryMAC: "02:00:00:00:00:01",
		PrimaryIP: netip.MustParseAddr("198.18.0.10"), SubnetID: "subnet-1", SubnetCIDR: netip.MustParsePrefix("198.18.0.0/20"),
		VPCCIDRs: []netip.Prefix{netip.MustParsePrefix("198.18.0.0/16")},
	}
	testENI = datastore.ENI{ID: "eni-s", MAC: "02:00:00:00:00:02", DeviceIndex: 1, SubnetID: "subnet-1",
		SubnetCIDR: testInst.SubnetCIDR, PrimaryIP: netip.MustParseAddr("198.18.0.11")}
)

func build(c config.Config) built {
	t := Tuning{}.withDefaults()
	limits := pool.Limits{MaxENIs: 3, MaxPods: 29}
	b := built{
		store:   storeOptions(c, testInst, time.Now),
		maxPods: maxPodsOptions(c),
		manager: managerOptions(c, t, testInst, limits, time.Now, nil),
		snat:    snatConfig(c, testInst, testInst.VPCCIDRs),
		service: serviceOptions(c, testInst.VPCCIDRs, nil),
		server:  serverOptions(c, t),
		cloud:   CloudOptions(c, nil),
		log:     NewLogger(c, io.Discard),
		hostENI: hostENI(c, testENI),
		view:    configView(c, testInst, testInst.VPCCIDRs),
	}
	b.metrics, b.introspection = httpBindings(c)
	return b
}

// reaches is one case per variable: set to a value other than its
// default, the variable reaches the options of the component that honours
// it.
var reaches = map[string]struct {
	value string
	check func(b built) bool
}{
	"WARM_ENI_TARGET":   {"3", func(b built) bool { return b.manager.Pool.WarmENITarget == 3 }},
	"WARM_IP_TARGET":    {"5", func(b built) bool { return b.manager.Pool.WarmIPTarget == 5 }},
	"MINIMUM_IP_TARGET": {"10", func(b built) bool { return b.manager.Pool.MinimumIPTarget == 10 }},
	"WARM_PREFIX_TARGET": {"2", func(b built) bool {
		return b.manager.Pool.WarmPrefixTarget == 2 && !b.manager.Pool.PrefixDelegation
	}},
	"ENABLE_PREFIX_DELEGATION": {"true", func(b built) bool {
		return b.manager.Pool.PrefixDelegation && b.manager.Pool.WarmPrefixTarget == 1 && b.maxPods.PrefixDelegation
	}},
	"MAX_ENI":            {"2", func(b built) bool { return b.maxPods.MaxENI == 2 }},
	"IP_COOLDOWN_PERIOD": {"45", func(b built) bool { return b.store.Cooldown == 45*time.Second }},
	"AWS_VPC_K8S_CNI_EXTERNALSNAT": {"true", func(b built) bool {
		return b.snat.External && b.service.Node.ExternalSNAT
	}},
	"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS": {"203.0.113.0/24", func(b built) bool {
		return reflect.DeepEqual(b.snat.Exclude, []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")})
	}},
	"AWS_VPC_K8S_CNI_RANDOMIZESNAT": {"none", func(b built) bool { return b.snat.Random == hostnet.SNATRandomNone }},
	"AWS_VPC_ENI_MTU": {"1500", func(b built) bool {
		// The ENIs the manager sets up, those the daemon sets up again at
		// startup, and the pods' MTU, which follows.
		return b.manager.ENIMTU == 1500 && b.hostENI.MTU == 1500 && b.service.Node.MTU == 1500
	}},
	"POD_MTU": {"1400", func(b built) bool {
		return b.service.Node.MTU == 1400 && b.manager.ENIMTU == config.DefaultENIMTU
	}},
	"AWS_VPC_K8S_CNI_VETHPREFIX": {"pod", func(b built) bool { return b.snat.VethPrefix == "pod" }},
	"ADDITIONAL_ENI_TAGS": {`{"team":"payments"}`, func(b built) bool {
		return reflect.DeepEqual(b.manager.Tags, map[string]string{"team": "payments"})
	}},
	"CLUSTER_NAME":               {"prod", func(b built) bool { return b.manager.ClusterName == "prod" }},
	"DISABLE_LEAKED_ENI_CLEANUP": {"true", func(b built) bool { return !b.manager.LeakedENICleanup }},
	"MY_NODE_NAME": {"node-1", func(b built) bool {
		return b.manager.Tags[TagNodeName] == "node-1" && b.view.Node.Name == "node-1"
	}},
	"METRICS_BIND_ADDRESS": {"127.0.0.1:9100", func(b built) bool { return b.metrics.addr == "127.0.0.1:9100" }},
	"DISABLE_METRICS": {"true", func(b built) bool {
		return b.metrics.addr == "" && b.introspection.addr == config.DefaultIntrospectionAddr
	}},
	"INTROSPECTION_BIND_ADDRESS": {"127.0.0.1:9101", func(b built) bool { return b.introspection.addr == "127.0.0.1:9101" }},
	"DISABLE_INTROSPECTION": {"true", func(b built) bool {
		return b.introspection.addr == "" && b.metrics.addr == config.DefaultMetricsAddr
	}},
	"AWS_VPC_K8S_CNI_LOGLEVEL": {"debug", func(b built) bool {
		return b.log.Enabled(context.Background(), slog.LevelDebug)
	}},
	"VPC_CNI_SOCKET":    {"/tmp/vpc-cni/ipamd.sock", func(b built) bool { return b.server.SocketPath == "/tmp/vpc-cni/ipamd.sock" }},
	"VPC_CNI_STATE_DIR": {"/tmp/vpc-cni", func(b built) bool { return b.store.Path == "/tmp/vpc-cni/ipam.json" }},
	"VPC_CNI_EC2_QPS":   {"2.5", func(b built) bool { return b.cloud.QPS == 2.5 }},
	"VPC_CNI_EC2_BURST": {"7", func(b built) bool { return b.cloud.Burst == 7 }},
	"VPC_CNI_ADD_WAIT":  {"3s", func(b built) bool { return b.service.AddWait == 3*time.Second }},
}

// TestEveryVariableReachesItsConsumer: each variable of config.Variables,
// set, reaches the options of the component that honours it, and its case
// does not hold for the defaults. A variable without a case fails.
func TestEveryVariableReachesItsConsumer(t *testing.T) {
	defaults := build(config.Defaults())
	for _, v := range config.Variables() {
		t.Run(v.Name, func(t *testing.T) {
			tc, ok := reaches[v.Name]
			if !ok {
				t.Fatalf("%s has no case: show which component's options it reaches", v.Name)
			}
			c, err := config.FromEnv(func(name string) (string, bool) {
				return tc.value, name == v.Name
			})
			if err != nil {
				t.Fatalf("%s=%s: %v", v.Name, tc.value, err)
			}
			if tc.check(defaults) {
				t.Errorf("the case holds for the defaults already: it proves nothing")
			}
			if !tc.check(build(c)) {
				t.Errorf("%s=%s does not reach its consumer: %+v", v.Name, tc.value, build(c))
			}
		})
	}
	for name := range reaches {
		if !isVariable(name) {
			t.Errorf("case %s is not a variable", name)
		}
	}
}

func isVariable(name string) bool {
	for _, v := range config.Variables() {
		if v.Name == name {
			return true
		}
	}
	return false
}

// TestENITagsLeaveConfigAlone: the node's tag is added to a copy.
func TestENITagsLeaveConfigAlone(t *testing.T) {
	c := config.Defaults()
	c.AdditionalENITags = map[string]string{"team": "payments"}
	c.NodeName = "node-1"
	got := eniTags(c)
	if want := map[string]string{"team": "payments", TagNodeName: "node-1"}; !reflect.DeepEqual(got, want) {
		t.Errorf("eniTags = %v, want %v", got, want)
	}
	if len(c.AdditionalENITags) != 1 {
		t.Errorf("the configuration's tags changed: %v", c.AdditionalENITags)
	}
}

// TestManagerStopsWithinTheDaemon: the manager's graceful stop is the
// daemon's, shortened or not.
func TestManagerStopsWithinTheDaemon(t *testing.T) {
	for _, d := range []time.Duration{0, 700 * time.Millisecond} {
		tune := Tuning{StopTimeout: d}.withDefaults()
		got := managerOptions(config.Defaults(), tune, testInst, pool.Limits{}, time.Now, nil).StopTimeout
		if got != tune.StopTimeout || serverOptions(config.Defaults(), tune).StopTimeout != got {
			t.Errorf("StopTimeout %s: the manager's is %s, the server's %s", d, got, serverOptions(config.Defaults(), tune).StopTimeout)
		}
	}
}
