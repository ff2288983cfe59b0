package cni_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
)

// The conflist's name and file, as the installer writes them.
const (
	netName      = "vpc-cni"
	conflistFile = "10-vpc-cni.conflist"
	podIfName    = "eth0"
)

// testNet is the pod network as a runtime sees it: our conflist in a
// directory of its own, and libcni with its own result cache, run inside
// the host namespace.
type testNet struct {
	t       *testing.T
	host    *testNS
	version string
	dir     string // NETCONFPATH
	logFile string
	mtu     int // ipamd's pod MTU
	list    *libcni.NetworkConfigList
	cni     *libcni.CNIConfig
}

// newNet writes the repository's sample conflist at version with its
// ipamd socket and plugin log in the test's directories, and loads it as
// containerd does. mtu is the MTU ipamd gives pods.
func newNet(t *testing.T, host *testNS, version, socket string, mtu int) *testNet {
	t.Helper()
	n := &testNet{t: t, host: host, version: version, dir: t.TempDir(), mtu: mtu}
	n.logFile = filepath.Join(t.TempDir(), "plugin.log")
	path := filepath.Join(n.dir, conflistFile)
	writeConflist(t, path, version, map[string]any{"ipamdSocket": socket, "pluginLogFile": n.logFile,
		"pluginLogLevel": "debug"})
	var err error
	if n.list, err = libcni.ConfListFromFile(path); err != nil {
		t.Fatalf("load %s: %v", path, err)
	}
	n.cni = libcni.NewCNIConfigWithCacheDir([]string{binDir}, t.TempDir(), nil)
	t.Cleanup(func() {
		if t.Failed() {
			if b, err := os.ReadFile(n.logFile); err == nil {
				t.Logf("plugin log %s:\n%s", n.logFile, b)
			}
		}
	})
	return n
}

// writeConflist writes the sample conflist (cni/10-vpc-cni.conflist) at
// version with the plugin's options overridden by set.
func writeConflist(t *testing.T, path, version string, set map[string]any) {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "cni", conflistFile))
	if err != nil {
		t.Fatalf("the sample conflist: %v", err)
	}
	var list map[string]any
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("the sample conflist: %v", err)
	}
	plugins, _ := list["plugins"].([]any)
	if len(plugins) != 1 {
		t.Fatalf("the sample conflist has %d plugins, want 1", len(plugins))
	}
	conf, _ := plugins[0].(map[string]any)
	if conf == nil || list["name"] != netName || conf["type"] != pluginName {
		t.Fatalf("the sample conflist is not the %s network of one %s plugin: %s", netName, pluginName, b)
	}
	list["cniVersion"] = version
	for k, v := range set {
		conf[k] = v
	}
	if b, err = json.MarshalIndent(list, "", "  "); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// testPod is a pod sandbox: its namespace and how the runtime names it.
type testPod struct {
	ns                   *testNS
	namespace, name, uid string
	rt                   *libcni.RuntimeConf
	hostIf               string
}

// newPod makes a pod sandbox with a containerd-like id and CNI_ARGS.
func newPod(t *testing.T, namespace, name string) *testPod {
	t.Helper()
	p := &testPod{ns: newNS(t), namespace: namespace, name: name, uid: randHex(t, 8)}
	id := randHex(t, 32)
	p.rt = &libcni.RuntimeConf{
		ContainerID: id, NetNS: p.ns.Path(), IfName: podIfName,
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", namespace},
			{"K8S_POD_NAME", name},
			{"K8S_POD_INFRA_CONTAINER_ID", id},
			{"K8S_POD_UID", p.uid},
		},
	}
	p.hostIf = dataplane.HostIfName(vethPrefix, namespace, name, id, podIfName)
	return p
}

func randHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), waitFor)
	t.Cleanup(cancel)
	return c
}

// add runs ADD of the pod through libcni inside the host namespace.
func (n *testNet) add(p *testPod) (types.Result, error) {
	var res types.Result
	err := n.host.do(func() (err error) {
		res, err = n.cni.AddNetworkList(ctx(n.t), n.list, p.rt)
		return err
	})
	return res, err
}

// mustAdd runs ADD, checks its result and the wiring on both sides, and
// returns the pod's address.
func (n *testNet) mustAdd(p *testPod, table int) netip.Addr {
	t := n.t
	t.Helper()
	res, err := n.add(p)
	if err != nil {
		t.Fatalf("ADD %s/%s: %v", p.namespace, p.name, err)
	}
	ip := wantResult(t, res, n.version, p)
	veth := wantHostWired(t, n.host, p.hostIf, ip, table)
	wantPodWired(t, p.ns, podIfName, ip, veth)
	if veth.MTU != n.mtu {
		t.Errorf("veth MTU %d, want ipamd's %d", veth.MTU, n.mtu)
	}
	return ip
}

func (n *testNet) check(p *testPod) error {
	return n.host.do(func() error { return n.cni.CheckNetworkList(ctx(n.t), n.list, p.rt) })
}

func (n *testNet) del(p *testPod) error {
	return n.host.do(func() error { return n.cni.DelNetworkList(ctx(n.t), n.list, p.rt) })
}

// gc runs GC with the valid attachments through cni (which may have a
// result cache other than n's).
func (n *testNet) gc(cni *libcni.CNIConfig, valid ...*testPod) error {
	args := &libcni.GCArgs{}
	for _, p := range valid {
		args.ValidAttachments = append(args.ValidAttachments,
			types.GCAttachment{ContainerID: p.rt.ContainerID, IfName: p.rt.IfName})
	}
	return n.host.do(func() error { return cni.GCNetworkList(ctx(n.t), n.list, args) })
}

func (n *testNet) status() error {
	return n.host.do(func() error { return n.cni.GetStatusNetworkList(ctx(n.t), n.list) })
}

// wantResult checks an ADD result: the requested version, the host veth
// and the pod interface in its sandbox, one /32 of 198.18.0.0/15 on the
// pod interface (by index) via 169.254.1.1, and the default route.
func wantResult(t *testing.T, res types.Result, version string, p *testPod) netip.Addr {
	t.Helper()
	if res.Version() != version {
		t.Errorf("result version %s, want %s", res.Version(), version)
	}
	cur, err := current.NewResultFromResult(res)
	if err != nil {
		t.Fatalf("convert the result: %v", err)
	}
	var hostIdx, podIdx = -1, -1
	for i, itf := range cur.Interfaces {
		switch {
		case itf.Name == p.hostIf && itf.Sandbox == "":
			hostIdx = i
		case itf.Name == podIfName && itf.Sandbox == p.ns.Path():
			podIdx = i
		}
	}
	if hostIdx < 0 || podIdx < 0 {
		t.Fatalf("result interfaces %v, want %s (host) and %s in sandbox %s", cur.Interfaces, p.hostIf,
			podIfName, p.ns.Path())
	}
	if len(cur.IPs) != 1 {
		t.Fatalf("result IPs %v, want one", cur.IPs)
	}
	ipc := cur.IPs[0]
	ip, ok := netip.AddrFromSlice(ipc.Address.IP.To4())
	if ones, bits := ipc.Address.Mask.Size(); !ok || ones != 32 || bits != 32 ||
		!netip.MustParsePrefix("198.18.0.0/15").Contains(ip) {
		t.Fatalf("result address %s, want a /32 of 198.18.0.0/15", ipc.Address.String())
	}
	if ipc.Interface == nil || *ipc.Interface != podIdx {
		t.Errorf("result IP's interface %v, want %d (%s)", ipc.Interface, podIdx, podIfName)
	}
	gw := net.ParseIP(dataplane.GatewayIP)
	if !gw.Equal(ipc.Gateway) {
		t.Errorf("result IP's gateway %s, want %s", ipc.Gateway, gw)
	}
	def := false
	for _, r := range cur.Routes {
		if ones, _ := r.Dst.Mask.Size(); ones == 0 && r.Dst.IP.Equal(net.IPv4zero) && gw.Equal(r.GW) {
			def = true
		}
	}
	if !def {
		t.Errorf("result routes %v, want default via %s", cur.Routes, gw)
	}
	return ip
}

// cniError is the CNI error in err, failing the test if there is none.
func cniError(t *testing.T, what string, err error) *types.Error {
	t.Helper()
	var e *types.Error
	if !errors.As(err, &e) {
		t.Fatalf("%s: error %v (%T), want a CNI error", what, err, err)
	}
	return e
}
