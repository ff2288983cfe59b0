package plugin_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"google.golang.org/grpc/codes"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
	dpfake "github.com/vpc-cni/vpc-cni/cni/dataplane/fake"
	"github.com/vpc-cni/vpc-cni/cni/ipamc"
	"github.com/vpc-cni/vpc-cni/cni/ipamc/fake"
	"github.com/vpc-cni/vpc-cni/cni/plugin"
)

// The verbs' decisions over the two fakes, without root.

type fakes struct {
	t     *testing.T
	ipamd *fake.Server
	dp    *dpfake.Dataplane
	out   bytes.Buffer
	p     *plugin.Plugin
}

func newFakes(t *testing.T) *fakes {
	f := &fakes{t: t, ipamd: fake.Start(t, fake.Options{}), dp: dpfake.New()}
	f.p = plugin.New(plugin.Deps{
		Dial:      func(socket string) (ipamc.Client, error) { return ipamc.Dial(socket) },
		Dataplane: func() (dataplane.Dataplane, io.Closer, error) { return f.dp, nil, nil },
		OpenLog: func(string, string, int) (*slog.Logger, io.Closer, error) {
			return slog.New(slog.NewJSONHandler(t.Output(), nil)), nil, nil
		},
		Stdout: &f.out,
	})
	return f
}

func (f *fakes) stdin(extra map[string]any) []byte {
	c := map[string]any{"cniVersion": "1.1.0", "name": "vpc-cni", "type": "vpc-cni", "ipamdSocket": f.ipamd.Socket()}
	for k, v := range extra {
		c[k] = v
	}
	b, err := json.Marshal(c)
	if err != nil {
		f.t.Fatal(err)
	}
	return b
}

func fargs(id string, stdin []byte) *skel.CmdArgs {
	return &skel.CmdArgs{ContainerID: id, Netns: "/var/run/netns/" + id, IfName: "eth0", StdinData: stdin,
		Args: "K8S_POD_NAMESPACE=default;K8S_POD_NAME=" + id}
}

func (f *fakes) add(id string) *current.Result {
	f.t.Helper()
	f.out.Reset()
	if err := f.p.Add(fargs(id, f.stdin(nil))); err != nil {
		f.t.Fatalf("ADD %s: %v", id, err)
	}
	r, err := parseResult(f.out.Bytes())
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

func (f *fakes) prev(r *current.Result) []byte {
	var m map[string]any
	b, _ := json.Marshal(r)
	_ = json.Unmarshal(b, &m)
	return f.stdin(map[string]any{"prevResult": m})
}

// TestAddKeepsAddressWhenUndoFails: a Setup that could not undo its work
// leaves the address at ipamd for the DEL to find; a Setup that undid
// everything gives it back.
func TestAddKeepsAddressWhenUndoFails(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		held int
	}{
		{"undone", errors.New("netlink: file exists"), 0},
		{"undo failed", fmt.Errorf("add host route: boom (undo: %w)", dataplane.ErrIncomplete), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakes(t)
			f.dp.Fail(dpfake.OpSetup, tc.err)
			if err := f.p.Add(fargs("a", f.stdin(nil))); err == nil {
				t.Fatal("ADD succeeded with a failing Setup")
			}
			if got := len(f.ipamd.Allocations()); got != tc.held {
				t.Errorf("ipamd holds %d addresses, want %d", got, tc.held)
			}
		})
	}
}

// TestDelOrder: DEL removes the wiring before it releases the address,
// and a failed teardown keeps the address held (the runtime retries).
func TestDelOrder(t *testing.T) {
	f := newFakes(t)
	r := f.add("a")
	f.dp.Fail(dpfake.OpTeardown, errors.New("netlink: device busy"))
	if err := f.p.Del(fargs("a", f.prev(r))); err == nil {
		t.Fatal("DEL succeeded with a failing teardown")
	}
	if len(f.ipamd.Allocations()) != 1 {
		t.Errorf("the address was released before the wiring was removed")
	}
	f.dp.Fail(dpfake.OpTeardown, nil)
	if err := f.p.Del(fargs("a", f.prev(r))); err != nil {
		t.Fatal(err)
	}
	if len(f.ipamd.Allocations()) != 0 || len(f.dp.Pods()) != 0 {
		t.Errorf("after DEL: ipamd %v, dataplane %v", f.ipamd.Allocations(), f.dp.Pods())
	}
}

// TestDelIpamdUnreachableOrFailing: nothing on the socket is tolerated,
// ipamd answering with a failure is not.
func TestDelIpamdUnreachableOrFailing(t *testing.T) {
	f := newFakes(t)
	r := f.add("a")
	f.ipamd.SetFault(fake.RPCDelNetwork, codes.DeadlineExceeded, "slow")
	if err := f.p.Del(fargs("a", f.prev(r))); code(err) != types.ErrTryAgainLater {
		t.Errorf("DEL with ipamd timing out = %v, want code 11", err)
	}
	f.ipamd.Stop()
	if err := f.p.Del(fargs("a", f.prev(r))); err != nil {
		t.Errorf("DEL with ipamd gone = %v, want success", err)
	}
	if len(f.dp.HostAddrs()) != 0 {
		t.Errorf("host sides left: %v", f.dp.HostAddrs())
	}
}

// TestDelLooksUpTheAddress: without prevResult, the address ipamd holds is
// the one torn down.
func TestDelLooksUpTheAddress(t *testing.T) {
	f := newFakes(t)
	f.add("a")
	if err := f.p.Del(fargs("a", f.stdin(nil))); err != nil {
		t.Fatal(err)
	}
	if len(f.dp.HostAddrs()) != 0 {
		t.Errorf("host sides left: %v", f.dp.HostAddrs())
	}
}

// TestCheckMismatches: CHECK fails when ipamd holds nothing or another
// address, and when the wiring differs.
func TestCheckMismatches(t *testing.T) {
	f := newFakes(t)
	r := f.add("a")
	if err := f.p.Check(fargs("a", f.prev(r))); err != nil {
		t.Fatalf("CHECK: %v", err)
	}
	other := *r
	other.IPs = []*current.IPConfig{{Interface: r.IPs[0].Interface, Address: r.IPs[0].Address, Gateway: r.IPs[0].Gateway}}
	other.IPs[0].Address.IP = []byte{198, 18, 9, 9}
	if err := f.p.Check(fargs("a", f.prev(&other))); err == nil || !strings.Contains(err.Error(), "198.18.9.9") {
		t.Errorf("CHECK with another address = %v, want a mismatch naming it", err)
	}
	if err := f.p.Check(fargs("a", f.stdin(nil))); code(err) != types.ErrInvalidNetworkConfig {
		t.Errorf("CHECK without prevResult = %v, want code 7", err)
	}
	f.dp.Fail(dpfake.OpCheck, fmt.Errorf("%w: pod route default via 169.254.1.1 dev eth0 is missing", dataplane.ErrMismatch))
	if err := f.p.Check(fargs("a", f.prev(r))); err == nil || !strings.Contains(err.Error(), "default via") {
		t.Errorf("CHECK with a broken route = %v, want it named", err)
	}
	f.dp.Fail(dpfake.OpCheck, nil)
	if _, _, err := mustDial(t, f).Del(t.Context(), ipamc.Attachment{ContainerID: "a", IfName: "eth0"}); err != nil {
		t.Fatal(err)
	}
	if err := f.p.Check(fargs("a", f.prev(r))); err == nil || !strings.Contains(err.Error(), "holds no address") {
		t.Errorf("CHECK after ipamd released it = %v", err)
	}
}

func mustDial(t *testing.T, f *fakes) ipamc.Client {
	c, err := ipamc.Dial(f.ipamd.Socket())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestBadNetNS: a namespace the dataplane refuses is code 8, before any
// allocation.
func TestBadNetNS(t *testing.T) {
	f := newFakes(t)
	f.dp.SetHostNetNS("/var/run/netns/a")
	if err := f.p.Add(fargs("a", f.stdin(nil))); code(err) != types.ErrInvalidNetNS {
		t.Errorf("ADD into the host netns = %v, want code 8", err)
	}
	if n := f.ipamd.Calls(fake.RPCAddNetwork); n != 0 {
		t.Errorf("AddNetwork calls = %d, want 0", n)
	}
}
