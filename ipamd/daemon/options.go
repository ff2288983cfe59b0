package daemon

import (
	"io"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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

// The functions of this file build each component's options from the
// configuration. They are pure, so that a test can show that every
// variable reaches the component that honours it.

// TagNodeName is the tag ipamd puts, with MY_NODE_NAME as its value, on the
// ENIs it creates (when MY_NODE_NAME is set).
const TagNodeName = config.TagKeyPrefix + "node-name"

// CloudOptions are the EC2 and instance metadata clients' options:
// VPC_CNI_EC2_QPS and VPC_CNI_EC2_BURST, with their API metrics on reg.
func CloudOptions(c config.Config, reg prometheus.Registerer) cloudaws.Options {
	return cloudaws.Options{QPS: c.EC2QPS, Burst: c.EC2Burst, Registerer: reg}
}

// NewLogger is the daemon's logger: JSON lines on w at
// AWS_VPC_K8S_CNI_LOGLEVEL.
func NewLogger(c config.Config, w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: c.SlogLevel()}))
}

// storeOptions: the checkpoint in VPC_CNI_STATE_DIR, IP_COOLDOWN_PERIOD;
// a checkpoint whose primary ENI is not the instance's is another's.
func storeOptions(c config.Config, inst cloud.Instance, now func() time.Time) datastore.Options {
	return datastore.Options{Path: c.CheckpointPath(), Cooldown: c.IPCooldown, Now: now, PrimaryENI: inst.PrimaryENI}
}

// maxPodsOptions: ENABLE_PREFIX_DELEGATION, MAX_ENI.
func maxPodsOptions(c config.Config) maxpods.Options {
	return maxpods.Options{PrefixDelegation: c.PrefixDelegation, MaxENI: c.MaxENI}
}

// poolConfig: the warm-pool targets and prefix delegation.
func poolConfig(c config.Config, t Tuning) pool.Config {
	return pool.Config{
		WarmENITarget: c.WarmENITarget, WarmIPTarget: c.WarmIPTarget, MinimumIPTarget: c.MinimumIPTarget,
		WarmPrefixTarget: c.WarmPrefixTarget, PrefixDelegation: c.PrefixDelegation,
		ReleaseDelay: t.ReleaseDelay,
	}
}

// eniTags are the tags the manager puts on the ENIs it creates besides
// its own: ADDITIONAL_ENI_TAGS (which cannot use our prefix) and the node's
// name (MY_NODE_NAME).
func eniTags(c config.Config) map[string]string {
	tags := maps.Clone(c.AdditionalENITags)
	if tags == nil {
		tags = map[string]string{}
	}
	if c.NodeName != "" {
		tags[TagNodeName] = c.NodeName
	}
	return tags
}

// managerOptions: the pool, the ENIs' tags and MTU, the leaked-ENI
// cleanup; onCIDRs is called when the VPC's CIDR blocks change. The
// manager finishes its work in flight within the daemon's graceful stop
// (it stops alongside the servers, each bounded by StopTimeout).
func managerOptions(c config.Config, t Tuning, inst cloud.Instance, limits pool.Limits, now func() time.Time,
	onCIDRs func([]netip.Prefix),
) manager.Options {
	return manager.Options{
		Instance: inst, Limits: limits, Pool: poolConfig(c, t),
		ClusterName: c.ClusterName, Tags: eniTags(c), ENIMTU: c.ENIMTU,
		LeakedENICleanup: !c.DisableLeakedENICleanup,
		Interval:         t.Interval, IMDSWait: t.IMDSWait, SyncInterval: t.SyncInterval,
		StopTimeout: t.StopTimeout, Now: now, OnVPCCIDRs: onCIDRs,
	}
}

// snatConfig: the host's SNAT for the VPC's CIDRs now.
func snatConfig(c config.Config, inst cloud.Instance, vpcCIDRs []netip.Prefix) hostnet.SNAT {
	return hostnet.SNAT{
		PrimaryMAC: inst.PrimaryMAC, PrimaryIP: inst.PrimaryIP, VPCCIDRs: slices.Clone(vpcCIDRs),
		Exclude: slices.Clone(c.ExcludeSNATCIDRs), External: c.ExternalSNAT, Random: c.RandomizeSNAT,
		VethPrefix: c.VethPrefix,
	}
}

// nodeInfo is what every ADD result carries: the VPC's CIDRs now, POD_MTU
// and the SNAT mode.
func nodeInfo(c config.Config, vpcCIDRs []netip.Prefix) ipam.NodeInfo {
	return ipam.NodeInfo{VPCCIDRs: slices.Clone(vpcCIDRs), MTU: c.PodMTU, ExternalSNAT: c.ExternalSNAT}
}

// serviceOptions: the node facts and VPC_CNI_ADD_WAIT.
func serviceOptions(c config.Config, vpcCIDRs []netip.Prefix, obs ipam.Observer) ipam.Options {
	return ipam.Options{Node: nodeInfo(c, vpcCIDRs), AddWait: c.AddWait, Observer: obs}
}

// serverOptions: VPC_CNI_SOCKET.
func serverOptions(c config.Config, t Tuning) server.Options {
	return server.Options{SocketPath: c.SocketPath, StopTimeout: t.StopTimeout}
}

// binding is an HTTP endpoint to serve; addr "" when disabled.
type binding struct {
	addr, what string
}

// httpBindings are the metrics and introspection endpoints
// (METRICS_BIND_ADDRESS, DISABLE_METRICS, INTROSPECTION_BIND_ADDRESS,
// DISABLE_INTROSPECTION).
func httpBindings(c config.Config) (metrics, introspection binding) {
	return binding{c.MetricsAddr, "metrics (METRICS_BIND_ADDRESS)"},
		binding{c.IntrospectionAddr, "introspection (INTROSPECTION_BIND_ADDRESS)"}
}

// hostENI is a datastore ENI as the host sets it up, at AWS_VPC_ENI_MTU.
func hostENI(c config.Config, e datastore.ENI) hostnet.ENI {
	return hostnet.ENI{
		MAC: e.MAC, DeviceIndex: e.DeviceIndex, RouteTable: e.RouteTable(),
		PrimaryIP: e.PrimaryIP, SubnetCIDR: e.SubnetCIDR, MTU: c.ENIMTU,
	}
}

// ConfigView is what introspection shows at /v1/config: this node, and the
// effective configuration as variables.
type ConfigView struct {
	Node      NodeView          `json:"node"`
	Variables map[string]string `json:"variables"`
	// Warnings are the configuration's, as logged at startup.
	Warnings []string `json:"warnings,omitempty"`
}

// NodeView is the node ipamd runs on.
type NodeView struct {
	Name         string         `json:"name,omitempty"` // MY_NODE_NAME
	InstanceID   string         `json:"instanceId"`
	InstanceType string         `json:"instanceType"`
	AZ           string         `json:"availabilityZone"`
	PrimaryENI   string         `json:"primaryEni"`
	PrimaryIP    netip.Addr     `json:"primaryIp"`
	VPCCIDRs     []netip.Prefix `json:"vpcCidrs"`
}

// configView is the introspection view of the configuration, with the
// VPC's CIDRs now.
func configView(c config.Config, inst cloud.Instance, vpcCIDRs []netip.Prefix) ConfigView {
	return ConfigView{
		Node: NodeView{
			Name: c.NodeName, InstanceID: inst.ID, InstanceType: inst.Type, AZ: inst.AZ,
			PrimaryENI: inst.PrimaryENI, PrimaryIP: inst.PrimaryIP, VPCCIDRs: slices.Clone(vpcCIDRs),
		},
		Variables: c.Effective(),
		Warnings:  slices.Clone(c.Warnings),
	}
}
