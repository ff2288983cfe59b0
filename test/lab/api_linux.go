package lab

import (
	"context"
	"errors"
	"io"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/cni/ipamc"
)

var errNotYet = errors.New("lab: not implemented yet")

// Up brings up the lab cfg describes, writing one progress line per step
// to progress (may be nil). It runs Down of the same prefix first, so a
// second Up replaces the first. Binaries come from cfg.BinDir (ec2sim,
// ipamd, vpc-cni, lab, labecho); a missing one is an error saying to run
// make build. On an error, what Up made is left for Down (the caller runs
// Down, as after a crash). The lab's processes outlive the caller; Down
// stops them.
func Up(ctx context.Context, cfg Config, progress io.Writer) (*Lab, error) { return nil, errNotYet }

// Down stops every process of the lab with this prefix (by its pid files,
// and every process in a P-* namespace), deletes every P-* namespace and
// removes stateDir (empty: /run/<prefix>). Idempotent; works when the
// state directory is gone. Touches nothing not named P-*.
func Down(ctx context.Context, prefix, stateDir string) error { return errNotYet }

// AddPod creates one more pod on the node (1..N) as containerd would (a
// namespace, libcni ADD of the node's conflist with K8S_POD_* CNI_ARGS)
// and starts its echo server; it returns once the echo answers. An ADD
// that fails (no address, say) is returned with the plugin's error and
// leaves no pod behind.
func (l *Lab) AddPod(ctx context.Context, nodeIndex int) (*Pod, error) { return nil, errNotYet }

// DelPod stops the pod's echo server, runs libcni DEL and deletes its
// namespace.
func (l *Lab) DelPod(ctx context.Context, p *Pod) error { return errNotYet }

// RestartIpamd stops the node's ipamd (kill: SIGKILL, no clean stop; else
// SIGTERM and wait), starts it again and waits until it is ready.
func (l *Lab) RestartIpamd(ctx context.Context, nodeIndex int, kill bool) error { return errNotYet }

// SimState is ec2sim's ground truth (GET /sim/state from the fabric).
func (l *Lab) SimState(ctx context.Context) (sim.State, error) { return sim.State{}, errNotYet }

// Introspect GETs path (introspect.PathENIs, PathPool, ...) from the
// node's ipamd introspection (127.0.0.1:61679 in the node's namespace)
// and decodes the JSON answer into v (introspect.ENIsView, PoolView, ...).
func (l *Lab) Introspect(ctx context.Context, nodeIndex int, path string, v any) error {
	return errNotYet
}

// IpamdStatus is the node's ipamd readiness over its socket.
func (l *Lab) IpamdStatus(ctx context.Context, nodeIndex int) (ipamc.Status, error) {
	return ipamc.Status{}, errNotYet
}
