// Package lab is the lab's orchestration: it brings up a multi-node VPC on
// one machine (ec2sim in a fabric namespace, a namespace and an ipamd per
// node, pods wired by bin/vpc-cni through libcni exactly as containerd
// would), runs the standard connectivity checks, reports, and tears it all
// down by name, also after a crash. Every name derives from the lab's
// prefix P: namespaces P-*, the state directory /run/P. See
// test/lab/netenv for the namespaces and the fabric, test/lab/echo for the
// probes and test/lab/report for the report.
package lab

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"

	"github.com/vpc-cni/vpc-cni/cloud"
	ipamdconfig "github.com/vpc-cni/vpc-cni/ipamd/config"
)

// Defaults of Config, and the environment variables ConfigFromEnv reads.
const (
	DefaultNodes        = 2
	DefaultInstanceType = "m5.large"
	DefaultPodsPerNode  = 4
	DefaultPrefix       = "vpclab"
	DefaultBinDir       = "./bin"
	MaxNodes            = 8

	EnvNodes        = "LAB_NODES"
	EnvInstanceType = "LAB_INSTANCE_TYPE"
	EnvPods         = "LAB_PODS"
	EnvPrefix       = "LAB_PREFIX"
	EnvStateDir     = "LAB_STATE_DIR"
	EnvBin          = "LAB_BIN"
	EnvK8S          = "LAB_K8S"
)

// MaxPodsPerNode bounds Config.PodsPerNode (the largest instance types
// take 250 pods).
const MaxPodsPerNode = 250

// Config is what a lab is made of.
type Config struct {
	// Nodes is the number of nodes, 1..MaxNodes.
	Nodes int `json:"nodes"`
	// InstanceType of every node: a type of cloud's built-in table.
	InstanceType string `json:"instanceType"`
	// PodsPerNode is the number of pods Up creates on each node (0..).
	PodsPerNode int `json:"podsPerNode"`
	// Prefix names everything of the lab: namespaces P-*, the state
	// directory /run/P. Letters, digits, at most 8 characters, so that
	// every link and namespace name fits.
	Prefix string `json:"prefix"`
	// StateDir holds the lab's files (world.json, lab.json, pids/, logs/,
	// node<i>/); default /run/<Prefix>.
	StateDir string `json:"stateDir"`
	// BinDir holds ec2sim, ipamd, vpc-cni, lab and labecho (make build).
	BinDir string `json:"binDir"`
	// IpamdEnv are ipamd variables (names from ipamd/config.Variables())
	// passed to every node's ipamd, on top of what the lab sets itself.
	IpamdEnv map[string]string `json:"ipamdEnv,omitempty"`
	// K8S brings up a real cluster (make lab K8S=1): a control plane in
	// the fabric, containerd and kubelet on every node, ipamd installed by
	// the chart, the pods a Deployment's.
	K8S bool `json:"k8s,omitempty"`
}

// labOwned are the ipamd variables the lab sets for each node itself; the
// caller's values of them are not passed through.
var labOwned = []string{
	"VPC_CNI_STATE_DIR", "VPC_CNI_SOCKET", "MY_NODE_NAME", "CLUSTER_NAME",
	"METRICS_BIND_ADDRESS", "INTROSPECTION_BIND_ADDRESS", "DISABLE_INTROSPECTION",
}

var prefixRE = regexp.MustCompile(`^[a-z][a-z0-9]{0,7}$`)

// ErrConfig is what every Config error wraps.
var ErrConfig = errors.New("invalid lab configuration")

// DefaultConfig is the lab of `sudo make lab`: 2 m5.large nodes with 4
// pods each, prefix vpclab, state in /run/vpclab, binaries in ./bin.
func DefaultConfig() Config {
	return Config{
		Nodes: DefaultNodes, InstanceType: DefaultInstanceType, PodsPerNode: DefaultPodsPerNode,
		Prefix: DefaultPrefix, StateDir: DefaultStateDir(DefaultPrefix), BinDir: DefaultBinDir,
	}
}

// DefaultStateDir is the state directory of a lab with the given prefix.
func DefaultStateDir(prefix string) string { return filepath.Join("/run", prefix) }

// ConfigFromEnv reads a Config from the environment: LAB_NODES (default
// 2, 1..8), LAB_INSTANCE_TYPE (default m5.large), LAB_PODS (default 4),
// LAB_PREFIX (default vpclab), LAB_STATE_DIR (default /run/<prefix>),
// LAB_BIN (default ./bin), and every ipamd variable (ipamd/config) that
// is set and not one the lab sets itself. A value that does not parse is
// an error naming the variable.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := DefaultConfig()
	var errs []error
	intVar := func(name string, dst *int, lo, hi int) {
		v := getenv(name)
		if v == "" {
			return
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			errs = append(errs, fmt.Errorf("%w: %s=%q: want a whole number from %d to %d", ErrConfig, name, v, lo, hi))
			return
		}
		*dst = n
	}
	intVar(EnvNodes, &c.Nodes, 1, MaxNodes)
	intVar(EnvPods, &c.PodsPerNode, 0, MaxPodsPerNode)
	if v := getenv(EnvInstanceType); v != "" {
		c.InstanceType = v
	}
	if v := getenv(EnvPrefix); v != "" {
		c.Prefix = v
	}
	c.StateDir = DefaultStateDir(c.Prefix)
	if v := getenv(EnvStateDir); v != "" {
		c.StateDir = v
	}
	if v := getenv(EnvBin); v != "" {
		c.BinDir = v
	}
	switch v := getenv(EnvK8S); v {
	case "", "0", "false":
	case "1", "true":
		c.K8S = true
	default:
		errs = append(errs, fmt.Errorf("%w: %s=%q: want 1 (a real cluster) or 0", ErrConfig, EnvK8S, v))
	}
	c.IpamdEnv = ipamdEnv(getenv)
	errs = append(errs, c.validate(EnvInstanceType, EnvPrefix, EnvStateDir)...)
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return c, nil
}

// ipamdEnv picks the ipamd variables that are set, leaving out those the
// lab sets itself.
func ipamdEnv(getenv func(string) string) map[string]string {
	env := map[string]string{}
	for _, v := range ipamdconfig.Variables() {
		if slices.Contains(labOwned, v.Name) {
			continue
		}
		if val := getenv(v.Name); val != "" {
			env[v.Name] = val
		}
	}
	return env
}

// Validate checks c; each error names the field.
func (c Config) Validate() error {
	return errors.Join(c.validate("InstanceType", "Prefix", "StateDir")...)
}

// validate checks c, naming the instance type, prefix and state directory
// by the given names (environment variables or fields).
func (c Config) validate(typeName, prefixName, dirName string) []error {
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{ErrConfig}, a...)...))
	}
	if c.Nodes < 1 || c.Nodes > MaxNodes {
		bad("%s=%d: want 1 to %d nodes", EnvNodes, c.Nodes, MaxNodes)
	}
	if c.PodsPerNode < 0 || c.PodsPerNode > MaxPodsPerNode {
		bad("%s=%d: want 0 to %d pods per node", EnvPods, c.PodsPerNode, MaxPodsPerNode)
	}
	if _, ok := cloud.BuiltinInstanceType(c.InstanceType); !ok {
		bad("%s=%q: not a known instance type (known: %v)", typeName, c.InstanceType, cloud.BuiltinInstanceTypeNames())
	}
	if !prefixRE.MatchString(c.Prefix) {
		bad("%s=%q: want a lower-case letter then up to 7 lower-case letters or digits", prefixName, c.Prefix)
	}
	if !filepath.IsAbs(c.StateDir) || filepath.Clean(c.StateDir) == "/" {
		bad("%s=%q: want an absolute directory other than /", dirName, c.StateDir)
	}
	if c.BinDir == "" {
		bad("%s: empty: want the directory of `make build`'s binaries", EnvBin)
	}
	if _, err := c.ipamdConfig(); err != nil {
		errs = append(errs, fmt.Errorf("%w: ipamd variable: %w", ErrConfig, err))
	}
	return errs
}

// ipamdConfig is the ipamd configuration IpamdEnv makes (the lab's own
// variables at their defaults): the SNAT settings the checks expect come
// from it.
func (c Config) ipamdConfig() (ipamdconfig.Config, error) {
	env := maps.Clone(c.IpamdEnv)
	return ipamdconfig.FromEnv(func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
}
