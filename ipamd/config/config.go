// Package config is ipamd's configuration: every setting is an environment
// variable, parsed and validated here, once, into one Config passed down.
// Names and meanings are the AWS VPC CNI's wherever the feature exists, so a
// user's tuning carries over unchanged; a value that does not parse or is
// out of range is an error naming the variable and what it accepts.
//
// Variables lists every variable with its default and meaning; the table in
// docs/ipamd-config.md is checked against it.
package config

import (
	"errors"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strings"
	"time"

	"github.com/vpc-cni/vpc-cni/ipamd/hostnet"
)

// Defaults and limits that are part of the interface.
const (
	DefaultWarmENITarget     = 1
	DefaultMaxENI            = -1 // the instance type's limit
	DefaultIPCooldown        = 30 * time.Second
	DefaultENIMTU            = 9001
	MinMTU                   = 576
	MaxMTU                   = 9001
	DefaultVethPrefix        = "eni"
	DefaultSocketPath        = "/run/vpc-cni/ipamd.sock"
	DefaultStateDir          = "/run/vpc-cni"
	DefaultMetricsAddr       = ":61678"
	DefaultIntrospectionAddr = "127.0.0.1:61679"
	DefaultEC2QPS            = 10.0
	DefaultEC2Burst          = 20
	DefaultAddWait           = 10 * time.Second
	DefaultLogLevel          = "info"

	// KubeletRuntimeTimeout is the kubelet's default runtime request
	// timeout (--runtime-request-timeout), which bounds a pod sandbox's
	// creation and so the CNI ADD in it: AddWait must stay below it.
	KubeletRuntimeTimeout = 2 * time.Minute

	// Prefix is the prefix of vpc-cni's own variables. An unknown variable
	// with it is an error: a typo must not fall back to a default.
	Prefix = "VPC_CNI_"

	// TagKeyPrefix is the prefix of the tags ipamd sets on its ENIs;
	// ADDITIONAL_ENI_TAGS may not use it.
	TagKeyPrefix = "vpc-cni.io/"
)

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

	// Warnings are things the daemon should log at startup: AWS VPC CNI
	// variables that are set but whose feature vpc-cni does not have.
	Warnings []string
}

// CheckpointPath is the datastore's checkpoint file in StateDir.
func (c Config) CheckpointPath() string { return filepath.Join(c.StateDir, "ipam.json") }

// SlogLevel is LogLevel as a log/slog level.
func (c Config) SlogLevel() slog.Level {
	switch c.LogLevel {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// Defaults is the configuration of an empty environment.
func Defaults() Config {
	c, _ := FromEnv(func(string) (string, bool) { return "", false })
	return c
}

// base is the configuration before any variable is applied and before the
// defaults that depend on other variables.
func base() Config {
	return Config{
		WarmENITarget:     DefaultWarmENITarget,
		MaxENI:            DefaultMaxENI,
		IPCooldown:        DefaultIPCooldown,
		RandomizeSNAT:     hostnet.SNATRandomPRNG,
		ENIMTU:            DefaultENIMTU,
		VethPrefix:        DefaultVethPrefix,
		AdditionalENITags: map[string]string{},
		SocketPath:        DefaultSocketPath,
		StateDir:          DefaultStateDir,
		MetricsAddr:       DefaultMetricsAddr,
		IntrospectionAddr: DefaultIntrospectionAddr,
		EC2QPS:            DefaultEC2QPS,
		EC2Burst:          DefaultEC2Burst,
		AddWait:           DefaultAddWait,
		LogLevel:          DefaultLogLevel,
	}
}

// FromEnv parses the configuration from environment lookups (a map in
// tests). An unset or empty variable takes its default. Every problem is
// reported, joined, each as a *VarError naming the variable, the value and
// what it accepts. FromEnv cannot see variables it does not ask for, so it
// does not catch misspelt VPC_CNI_ variables: main uses FromEnviron.
func FromEnv(lookup func(string) (string, bool)) (Config, error) {
	p := &parser{c: base(), given: map[string]string{}, failed: map[string]bool{}}
	for _, s := range specs {
		v, ok := lookup(s.Name)
		if !ok || v == "" {
			continue
		}
		p.given[s.Name] = v
		if err := s.set(p, v); err != nil {
			p.fail(s.Name, v, err)
		}
	}
	p.derive()
	p.unsupported(lookup)
	return p.c, errors.Join(p.errs...)
}

// FromEnviron parses the configuration from a process environment in
// os.Environ's form ("NAME=value"), as FromEnv does, and also rejects
// variables with our prefix (VPC_CNI_) that are not ours, naming the
// nearest known one. As in os.Getenv, the first of duplicate names wins.
func FromEnviron(environ []string) (Config, error) {
	env := make(map[string]string, len(environ))
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if _, dup := env[name]; !dup {
			env[name] = value
		}
	}
	errs := unknownOurs(env)
	c, err := FromEnv(func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
	return c, errors.Join(append(errs, err)...)
}
