package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/cni/conflist"
	"github.com/vpc-cni/vpc-cni/cni/ipamc"
	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
)

// ipamd's endpoints inside each node's namespace.
const (
	metricsAddr       = "127.0.0.1:61678"
	introspectionAddr = "127.0.0.1:61679"
)

// ipamdEnv is node n's ipamd environment (lab-design.md): the cloud's
// endpoints, the node's own paths and names, then Config.IpamdEnv.
func (c Config) ipamdEnv(n Node) []string {
	env := []string{
		"AWS_REGION=" + labRegion,
		"AWS_ENDPOINT_URL_EC2=" + ec2URL,
		"AWS_EC2_METADATA_SERVICE_ENDPOINT=" + imdsURL,
		"AWS_ACCESS_KEY_ID=lab",
		"AWS_SECRET_ACCESS_KEY=lab",
		"VPC_CNI_STATE_DIR=" + filepath.Join(n.Dir, "state"),
		"VPC_CNI_SOCKET=" + n.Socket,
		"MY_NODE_NAME=" + n.Name,
		"CLUSTER_NAME=" + c.Prefix,
		"METRICS_BIND_ADDRESS=" + metricsAddr,
		"INTROSPECTION_BIND_ADDRESS=" + introspectionAddr,
	}
	for _, k := range slices.Sorted(maps.Keys(c.IpamdEnv)) {
		if !slices.Contains(labOwned, k) {
			env = append(env, k+"="+c.IpamdEnv[k])
		}
	}
	return env
}

// conflistOptions are node n's plugin settings: its ipamd's socket and
// veth prefix, ipamd's MTU, a log in the node's directory.
func (l *Lab) conflistOptions(n Node) conflist.Options {
	return conflist.Options{
		IpamdSocket: n.Socket,
		VethPrefix:  l.cfg.IpamdEnv["AWS_VPC_K8S_CNI_VETHPREFIX"],
		LogFile:     filepath.Join(n.Dir, "plugin.log"),
		LogLevel:    "debug",
	}
}

func (l *Lab) startIpamd(n Node) error {
	_, err := l.cfg.start(process{
		name: procIpamd(n.Index), netns: n.NetNS, env: l.cfg.ipamdEnv(n),
		argv: []string{filepath.Join(l.cfg.BinDir, "ipamd")},
	})
	return err
}

// waitIpamd waits until the node's ipamd says it is ready (an ADD can
// succeed), failing at once, with the end of its log, if it exits.
func (l *Lab) waitIpamd(ctx context.Context, n Node) error {
	name := procIpamd(n.Index)
	return waitFor(ctx, ipamdWait, n.Name+"'s ipamd to be ready", func() (bool, error) {
		if _, ok := l.cfg.readPid(name); !ok {
			return false, l.cfg.exited(name)
		}
		st, err := l.ipamdStatus(ctx, n)
		if err != nil {
			return false, err
		}
		if !st.Ready {
			return false, fmt.Errorf("not ready: %s", st.Reason)
		}
		return true, nil
	})
}

func (l *Lab) ipamdStatus(ctx context.Context, n Node) (ipamc.Status, error) {
	c, err := ipamc.Dial(n.Socket)
	if err != nil {
		return ipamc.Status{}, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return c.Status(ctx)
}

// IpamdStatus is the node's ipamd readiness, asked over its socket.
func (l *Lab) IpamdStatus(ctx context.Context, nodeIndex int) (ipamc.Status, error) {
	n, err := l.Node(nodeIndex)
	if err != nil {
		return ipamc.Status{}, err
	}
	return l.ipamdStatus(ctx, n)
}

// RestartIpamd stops the node's ipamd (kill: SIGKILL, no clean stop;
// else SIGTERM, then SIGKILL after a few seconds), starts it again with
// the same environment and waits until it is ready.
func (l *Lab) RestartIpamd(ctx context.Context, nodeIndex int, kill bool) error {
	n, err := l.Node(nodeIndex)
	if err != nil {
		return err
	}
	if pid, ok := l.cfg.readPid(procIpamd(n.Index)); ok {
		if err := stop(ctx, pid, kill); err != nil {
			return fmt.Errorf("restart %s's ipamd: %w", n.Name, err)
		}
	}
	if err := l.startIpamd(n); err != nil {
		return fmt.Errorf("restart %s's ipamd: %w", n.Name, err)
	}
	if err := l.waitIpamd(ctx, n); err != nil {
		return fmt.Errorf("restart %s's ipamd: %w", n.Name, err)
	}
	return nil
}

// SimState is ec2sim's ground truth (GET /sim/state from the fabric).
func (l *Lab) SimState(ctx context.Context) (sim.State, error) {
	var st sim.State
	if err := getJSON(ctx, netnsPath(netenv.FabricNS(l.cfg.Prefix)), stateURL, &st); err != nil {
		return sim.State{}, fmt.Errorf("ec2sim state: %w", err)
	}
	return st, nil
}

// Introspect GETs path (introspect.PathENIs, PathPool, PathLimits, ...)
// from the node's ipamd introspection (127.0.0.1:61679 in the node's
// namespace) and decodes the JSON answer into v (introspect.ENIsView,
// PoolView, LimitsView, ...).
func (l *Lab) Introspect(ctx context.Context, nodeIndex int, path string, v any) error {
	n, err := l.Node(nodeIndex)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if err := getJSON(ctx, n.NetNSPath(), "http://"+introspectionAddr+path, v); err != nil {
		return fmt.Errorf("%s's introspection: %w", n.Name, err)
	}
	return nil
}

// fabricdArgv is the command line of `lab fabricd` for these nodes.
func fabricdArgv(c Config, specs []netenv.NodeSpec) ([]string, error) {
	b, err := json.Marshal(specs)
	if err != nil {
		return nil, fmt.Errorf("encode the nodes for fabricd: %w", err)
	}
	return []string{
		filepath.Join(c.BinDir, "lab"), "fabricd", "--prefix", c.Prefix,
		"--state-url", stateURL, "--nodes", string(b),
	}, nil
}
