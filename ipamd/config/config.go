// Package config is ipamd's configuration: every setting is an environment
// variable, parsed and validated here, once, into one Config passed down.
// Names and meanings are the AWS VPC CNI's wherever the feature exists, so a
// user's tuning carries over unchanged; a value that does not parse or is
// out of range is an error naming the variable and what it accepts.
package config

import (
	"errors"
	"net/netip"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
)

// CONTRACT STUB: the Config fields are the contract with the daemon; the
// parser is filled in by the config work.

// Config is ipamd's whole configuration.
type Config struct {
	// Warm pool (AWS VPC CNI names and meanings).
	WarmENITarget    int           // WARM_ENI_TARGET, default 1
	WarmIPTarget     int           // WARM_IP_TARGET, default 0 (unset)
	MinimumIPTarget  int           // MINIMUM_IP_TARGET, default 0 (unset)
	WarmPrefixTarget int           // WARM_PREFIX_TARGET, default 1 with prefix delegation
	PrefixDelegation bool          // ENABLE_PREFIX_DELEGATION, default false
	MaxENI           int           // MAX_ENI, default -1 (the instance type's limit)
	IPCooldown       time.Duration // IP_COOLDOWN_PERIOD (seconds), default 30s

	// Host networking.
	ExternalSNAT     bool               // AWS_VPC_K8S_CNI_EXTERNALSNAT
	ExcludeSNATCIDRs []netip.Prefix     // AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS (comma separated)
	RandomizeSNAT    hostnet.SNATRandom // AWS_VPC_K8S_CNI_RANDOMIZESNAT: prng (default), hashrandom, none
	ENIMTU           int                // AWS_VPC_ENI_MTU, default 9001
	PodMTU           int                // POD_MTU, default AWS_VPC_ENI_MTU
	VethPrefix       string             // AWS_VPC_K8S_CNI_VETHPREFIX, default "eni"

	// ENIs and the cluster.
	AdditionalENITags       map[string]string // ADDITIONAL_ENI_TAGS (JSON object)
	ClusterName             string            // CLUSTER_NAME
	DisableLeakedENICleanup bool              // DISABLE_LEAKED_ENI_CLEANUP
	NodeName                string            // MY_NODE_NAME

	// Ours.
	SocketPath        string        // VPC_CNI_SOCKET, default /run/vpc-cni/ipamd.sock
	StateDir          string        // VPC_CNI_STATE_DIR, default /run/vpc-cni (checkpoint ipam.json)
	MetricsAddr       string        // METRICS_BIND_ADDRESS, default :61678 ("" with DISABLE_METRICS=true)
	IntrospectionAddr string        // INTROSPECTION_BIND_ADDRESS, default 127.0.0.1:61679 ("" with DISABLE_INTROSPECTION=true)
	EC2QPS            float64       // VPC_CNI_EC2_QPS, default 10
	EC2Burst          int           // VPC_CNI_EC2_BURST, default 20
	AddWait           time.Duration // VPC_CNI_ADD_WAIT: how long an ADD waits for the pool to grow, default 10s
	LogLevel          string        // AWS_VPC_K8S_CNI_LOGLEVEL: debug, info (default), warn, error
}

// CheckpointPath is the datastore's checkpoint file in StateDir.
func (c Config) CheckpointPath() string { return c.StateDir + "/ipam.json" }

// FromEnv parses the configuration from environment lookups (os.LookupEnv
// in main, a map in tests).
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	return Config{}, errors.New("not implemented")
}
