package plugin_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
	"github.com/vpc-cni/vpc-cni/cni/ipamc"
	"github.com/vpc-cni/vpc-cni/cni/ipamc/fake"
	"github.com/vpc-cni/vpc-cni/cni/plugin"
	"github.com/vpc-cni/vpc-cni/internal/testns"
)

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: it creates network namespaces (run make test as root, as CI does)")
	}
}

// newNS creates a network namespace removed when the test ends.
func newNS(t *testing.T) ns.NetNS {
	t.Helper()
	return testns.New(t)
}

// env is one test's node: a host namespace with the node's address on a
// dummy link, a fake ipamd and the plugin wired to both.
type env struct {
	t      *testing.T
	host   ns.NetNS
	ipamd  *fake.Server
	plugin *plugin.Plugin
	out    *bytes.Buffer
}

func newEnv(t *testing.T, opts fake.Options) *env {
	t.Helper()
	needRoot(t)
	e := &env{t: t, host: newNS(t), ipamd: fake.Start(t, opts), out: &bytes.Buffer{}}
	err := e.host.Do(func(ns.NetNS) error {
		lo, err := netlink.LinkByName("lo")
		if err != nil {
			return err
		}
		if err := netlink.LinkSetUp(lo); err != nil {
			return err
		}
		// The node's address on a link of its own (a veth pair: this
		// kernel may lack the dummy driver).
		d := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "node0"}, PeerName: "node0-peer"}
		if err := netlink.LinkAdd(d); err != nil {
			return err
		}
		addr, _ := netlink.ParseAddr("198.18.0.10/24")
		if err := netlink.AddrAdd(d, addr); err != nil {
			return err
		}
		return netlink.LinkSetUp(d)
	})
	if err != nil {
		t.Fatalf("set up the host netns: %v", err)
	}
	e.plugin = e.newPlugin(e.out)
	return e
}

// newPlugin is the plugin over the fake ipamd and the host netns,
// writing its results to out.
func (e *env) newPlugin(out io.Writer) *plugin.Plugin {
	return plugin.New(plugin.Deps{
		Dial: func(socket string) (ipamc.Client, error) { return ipamc.Dial(socket) },
		Dataplane: func() (dataplane.Dataplane, io.Closer, error) {
			l, err := dataplane.New(dataplane.Options{HostNS: e.host.Path()})
			return l, l, err
		},
		OpenLog: func(string, string, int) (*slog.Logger, io.Closer, error) {
			return slog.New(slog.NewJSONHandler(e.t.Output(), nil)), nil, nil
		},
		Stdout: out,
	})
}

func (e *env) pluginWithOutput() (*plugin.Plugin, *bytes.Buffer) {
	out := &bytes.Buffer{}
	return e.newPlugin(out), out
}

func parseResult(b []byte) (*current.Result, error) {
	var r current.Result
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("result %q: %w", b, err)
	}
	return &r, nil
}

// conf is the plugin's stdin: cniVersion 1.1.0, our socket, and extra
// keys (prevResult, ...).
func (e *env) conf(extra map[string]any) []byte {
	c := map[string]any{"cniVersion": "1.1.0", "name": "vpc-cni", "type": "vpc-cni",
		"ipamdSocket": e.ipamd.Socket()}
	for k, v := range extra {
		c[k] = v
	}
	b, err := json.Marshal(c)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

func args(id string, podNS ns.NetNS, stdin []byte) *skel.CmdArgs {
	path := ""
	if podNS != nil {
		path = podNS.Path()
	}
	return &skel.CmdArgs{ContainerID: id, Netns: path, IfName: "eth0", StdinData: stdin,
		Args: fmt.Sprintf("IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=pod-%s;K8S_POD_UID=uid-%s", id, id)}
}

// add runs ADD and returns its result.
func (e *env) add(id string, podNS ns.NetNS) *current.Result {
	e.t.Helper()
	e.out.Reset()
	if err := e.plugin.Add(args(id, podNS, e.conf(nil))); err != nil {
		e.t.Fatalf("ADD %s: %v", id, err)
	}
	var r current.Result
	if err := json.Unmarshal(e.out.Bytes(), &r); err != nil {
		e.t.Fatalf("ADD %s result %q: %v", id, e.out.String(), err)
	}
	return &r
}

// prev is a conf carrying r as prevResult.
func (e *env) prev(r *current.Result) []byte {
	raw, err := json.Marshal(r)
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		e.t.Fatal(err)
	}
	return e.conf(map[string]any{"prevResult": m})
}

// hostState lists, in the host netns, the links whose name starts with
// the veth prefix, the /32 routes of the main table and the rules at our
// priorities.
type hostState struct {
	veths  []string
	routes []string
	rules  []string
}

func (s hostState) empty() bool { return len(s.veths)+len(s.routes)+len(s.rules) == 0 }

func (e *env) hostState() hostState {
	e.t.Helper()
	var s hostState
	err := e.host.Do(func(ns.NetNS) error {
		links, err := netlink.LinkList()
		if err != nil {
			return err
		}
		for _, l := range links {
			if l.Type() == "veth" && strings.HasPrefix(l.Attrs().Name, "eni") {
				s.veths = append(s.veths, l.Attrs().Name)
			}
		}
		routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for _, r := range routes {
			if r.Dst != nil && r.Dst.IP.To4() != nil && bytes.Equal(r.Dst.Mask, net.CIDRMask(32, 32)) {
				s.routes = append(s.routes, r.Dst.String())
			}
		}
		rules, err := netlink.RuleList(netlink.FAMILY_V4)
		if err != nil {
			return err
		}
		for _, r := range rules {
			if r.Priority == dataplane.PriorityToPod || r.Priority == dataplane.PriorityFromPod {
				s.rules = append(s.rules, fmt.Sprintf("%d %v %v %d", r.Priority, r.Src, r.Dst, r.Table))
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatalf("list the host netns: %v", err)
	}
	return s
}
