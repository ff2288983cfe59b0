package lab

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"time"

	"github.com/containernetworking/cni/libcni"
	current "github.com/containernetworking/cni/pkg/types/100"
	"github.com/containernetworking/plugins/pkg/ns"

	"github.com/vpc-cni/vpc-cni/cni/conflist"
	"github.com/vpc-cni/vpc-cni/test/lab/echo"
	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
)

const (
	podNamespace = "default"
	podIfName    = "eth0"
	// cniTimeout bounds one ADD or DEL: more than the plugin's own bound
	// on each call to ipamd (ipamdTimeout, 15s by default).
	cniTimeout = 60 * time.Second
	// podEchoWait bounds the wait for a pod's echo server to answer.
	podEchoWait = 20 * time.Second
)

// AddPod creates one more pod on the node (1..N) as containerd would: a
// namespace P-n<i>-p<j>, then libcni ADD of the node's conflist from the
// node's namespace with the K8S_POD_* CNI_ARGS; then it starts the pod's
// echo server and returns once it answers. An ADD that fails (no address,
// say) returns the plugin's error and leaves no pod behind.
func (l *Lab) AddPod(ctx context.Context, nodeIndex int) (*Pod, error) {
	n, err := l.Node(nodeIndex)
	if err != nil {
		return nil, err
	}
	p := l.newPod(n)
	if err := l.addPod(ctx, n, p); err != nil {
		return nil, fmt.Errorf("add %s on %s: %w", p.Name, n.Name, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	i, _ := slices.BinarySearchFunc(l.pods, p, comparePods)
	l.pods = slices.Insert(l.pods, i, p)
	if err := l.save(); err != nil {
		return p, err
	}
	return p, nil
}

func comparePods(a, b *Pod) int {
	if a.Node != b.Node {
		return a.Node - b.Node
	}
	return a.Index - b.Index
}

// newPod names the node's next pod.
func (l *Lab) newPod(n Node) *Pod {
	l.mu.Lock()
	j := max(l.nextPod[n.Index], 1)
	l.nextPod[n.Index] = j + 1
	l.mu.Unlock()
	return &Pod{
		Name: podName(n.Index, j), Node: n.Index, Index: j, NetNS: netenv.PodNS(l.cfg.Prefix, n.Index, j),
		ContainerID: randomHex(32), UID: uuid(),
	}
}

// addPod makes the namespace, runs ADD and starts the echo; on an error
// it undoes what it did.
func (l *Lab) addPod(ctx context.Context, n Node, p *Pod) (err error) {
	path, err := netenv.CreateNS(p.NetNS)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = netenv.DeleteNS(p.NetNS)
		}
	}()
	if err := loopbackUp(path); err != nil {
		return fmt.Errorf("loopback up: %w", err)
	}
	res, err := l.cniAdd(ctx, n, p)
	if err != nil {
		return err
	}
	if p.IP, p.HostIf, err = parseResult(res); err != nil {
		_ = l.cniDel(ctx, n, p)
		return err
	}
	if err := l.startPodEcho(ctx, p); err != nil {
		l.stopPodEcho(ctx, p)
		_ = l.cniDel(ctx, n, p)
		return err
	}
	return nil
}

// startPodEcho starts the pod's echo server on its address and waits
// until it answers from inside the pod.
func (l *Lab) startPodEcho(ctx context.Context, p *Pod) error {
	_, err := l.cfg.start(process{name: procPodEcho(p.Node, p.Index), netns: p.NetNS, argv: []string{
		filepath.Join(l.cfg.BinDir, "labecho"), "--listen", fmt.Sprintf("%s:%d", p.IP, echoPort), "--name", p.Name,
	}})
	if err != nil {
		return err
	}
	target := netip.AddrPortFrom(p.IP, echoPort)
	return waitFor(ctx, podEchoWait, p.Name+"'s echo server", func() (bool, error) {
		if _, ok := l.cfg.readPid(procPodEcho(p.Node, p.Index)); !ok {
			return false, l.cfg.exited(procPodEcho(p.Node, p.Index))
		}
		pctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		_, err := echo.Probe(pctx, p.NetNSPath(), target, "tcp")
		return err == nil, err
	})
}

func (l *Lab) stopPodEcho(ctx context.Context, p *Pod) {
	if pid, ok := l.cfg.readPid(procPodEcho(p.Node, p.Index)); ok {
		_ = stop(ctx, pid, false)
	}
}

// DelPod stops the pod's echo server, runs libcni DEL (from the node's
// namespace, as ADD) and deletes the pod's namespace.
func (l *Lab) DelPod(ctx context.Context, p *Pod) error {
	n, err := l.Node(p.Node)
	if err != nil {
		return err
	}
	l.stopPodEcho(ctx, p)
	if err := l.cniDel(ctx, n, p); err != nil {
		return fmt.Errorf("delete %s on %s: %w", p.Name, n.Name, err)
	}
	if err := netenv.DeleteNS(p.NetNS); err != nil {
		return fmt.Errorf("delete %s on %s: %w", p.Name, n.Name, err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pods = slices.DeleteFunc(l.pods, func(q *Pod) bool { return q.Node == p.Node && q.Index == p.Index })
	return l.save()
}

// cni is libcni for node n: the plugin from BinDir, the node's cache
// directory and its conflist.
func (l *Lab) cni(n Node) (*libcni.CNIConfig, *libcni.NetworkConfigList, error) {
	c := libcni.NewCNIConfigWithCacheDir([]string{l.cfg.BinDir}, filepath.Join(n.Dir, "cache"), nil)
	list, err := libcni.ConfListFromFile(filepath.Join(n.Dir, "net.d", conflist.FileName))
	if err != nil {
		return nil, nil, fmt.Errorf("load %s's conflist: %w", n.Name, err)
	}
	return c, list, nil
}

// runtimeConf is what containerd passes for the pod's sandbox.
func runtimeConf(p *Pod) *libcni.RuntimeConf {
	return &libcni.RuntimeConf{
		ContainerID: p.ContainerID, NetNS: p.NetNSPath(), IfName: podIfName,
		Args: [][2]string{
			{"K8S_POD_NAMESPACE", podNamespace}, {"K8S_POD_NAME", p.Name},
			{"K8S_POD_UID", p.UID}, {"K8S_POD_INFRA_CONTAINER_ID", p.ContainerID},
		},
	}
}

// cniAdd runs ADD from a locked thread in the node's namespace: the
// plugin process starts there, as it would on the node.
func (l *Lab) cniAdd(ctx context.Context, n Node, p *Pod) (*current.Result, error) {
	c, list, err := l.cni(n)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cniTimeout)
	defer cancel()
	var res *current.Result
	err = ns.WithNetNSPath(n.NetNSPath(), func(ns.NetNS) error {
		r, err := c.AddNetworkList(ctx, list, runtimeConf(p))
		if err != nil {
			return err
		}
		res, err = current.NewResultFromResult(r)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("CNI ADD: %w", err)
	}
	return res, nil
}

// cniDel runs DEL as cniAdd runs ADD.
func (l *Lab) cniDel(ctx context.Context, n Node, p *Pod) error {
	c, list, err := l.cni(n)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cniTimeout)
	defer cancel()
	err = ns.WithNetNSPath(n.NetNSPath(), func(ns.NetNS) error {
		return c.DelNetworkList(ctx, list, runtimeConf(p))
	})
	if err != nil {
		return fmt.Errorf("CNI DEL: %w", err)
	}
	return nil
}

// parseResult reads the pod's address and its host-side veth from ADD's
// result.
func parseResult(r *current.Result) (netip.Addr, string, error) {
	var ip netip.Addr
	for _, c := range r.IPs {
		if a, ok := netip.AddrFromSlice(c.Address.IP.To4()); ok {
			ip = a
			break
		}
	}
	if !ip.IsValid() {
		return netip.Addr{}, "", fmt.Errorf("CNI ADD result has no IPv4 address: %v", r)
	}
	var host string
	for _, i := range r.Interfaces {
		if i != nil && i.Sandbox == "" && i.Name != "" {
			host = i.Name
			break
		}
	}
	return ip, host, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// uuid is a random (version 4) UUID, as a pod's UID.
func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
