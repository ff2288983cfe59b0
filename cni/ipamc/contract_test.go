package ipamc_test

import (
	"errors"
	"net/netip"
	"reflect"
	"strings"
	"testing"

	"github.com/vpc-cni/vpc-cni/cni/ipamc"
)

// The contract tests drive the client against ipamd's real gRPC server and
// IPAM service and against the fake, with the same expectations, so that
// the fake the plugin's tests use cannot drift from ipamd.

func forEachBackend(t *testing.T, ready bool, f func(t *testing.T, c *ipamc.GRPC, b backend)) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			b := bk.start(t, ready)
			f(t, dial(t, b.socket), b)
		})
	}
}

func alloc(ip, eni string, device, table int) ipamc.Allocation {
	a := netip.MustParseAddr(ip)
	return ipamc.Allocation{IP: a, ENI: eni, DeviceIndex: device, RouteTable: table, Block: netip.PrefixFrom(a, 32)}
}

var (
	primary1   = alloc("198.18.1.10", "eni-0", 0, ipamc.MainTable)
	primary2   = alloc("198.18.1.11", "eni-0", 0, ipamc.MainTable)
	secondary1 = alloc("198.18.2.10", "eni-1", 1, 2)
)

// heldBy is a as ipamd answers it once container id holds it: with the
// host veth its AddNetwork named (addReq).
func heldBy(a ipamc.Allocation, id string) ipamc.Allocation {
	a.HostIfName = addReq(id, "").HostIfName
	return a
}

func TestContractAdd(t *testing.T) {
	forEachBackend(t, true, func(t *testing.T, c *ipamc.GRPC, _ backend) {
		ctx := ctxT(t)
		res, err := c.Add(ctx, addReq("c1", "eth0"))
		if err != nil {
			t.Fatalf("Add: %v", err)
		}
		want := ipamc.AddResult{Allocation: heldBy(primary1, "c1"), VPCCIDRs: []netip.Prefix{vpcCIDR}, MTU: 9001}
		if !reflect.DeepEqual(res, want) {
			t.Errorf("Add = %+v, want %+v", res, want)
		}
		again, err := c.Add(ctx, addReq("c1", "eth0"))
		if err != nil || !reflect.DeepEqual(again, res) {
			t.Errorf("repeated Add = %+v, %v; want the same answer", again, err)
		}
		for _, tc := range []struct {
			req  ipamc.AddRequest
			want ipamc.Allocation
		}{
			{addReq("c1", "net1"), heldBy(primary2, "c1")},
			{addReq("c2", "eth0"), heldBy(secondary1, "c2")}, // the primary ENI is full
		} {
			got, err := c.Add(ctx, tc.req)
			if err != nil || got.Allocation != tc.want {
				t.Errorf("Add(%v) = %+v, %v; want %+v", tc.req.Attachment, got.Allocation, err, tc.want)
			}
		}
	})
}

func TestContractDelCheck(t *testing.T) {
	forEachBackend(t, true, func(t *testing.T, c *ipamc.GRPC, _ backend) {
		ctx := ctxT(t)
		if _, err := c.Add(ctx, addReq("c1", "eth0")); err != nil {
			t.Fatal(err)
		}
		want := heldBy(primary1, "c1")
		a, found, err := c.Check(ctx, att("c1", "eth0"))
		if err != nil || !found || a != want {
			t.Errorf("Check = %+v, %v, %v; want %+v found", a, found, err, want)
		}
		a, found, err = c.Del(ctx, att("c1", "eth0"))
		if err != nil || !found || a != want {
			t.Errorf("Del = %+v, %v, %v; want %+v found", a, found, err, want)
		}
		for _, call := range []struct {
			name string
			f    func() (ipamc.Allocation, bool, error)
		}{
			{"Del again", func() (ipamc.Allocation, bool, error) { return c.Del(ctx, att("c1", "eth0")) }},
			{"Check after Del", func() (ipamc.Allocation, bool, error) { return c.Check(ctx, att("c1", "eth0")) }},
			{"Del unknown", func() (ipamc.Allocation, bool, error) { return c.Del(ctx, att("nobody", "eth0")) }},
			{"Check unknown", func() (ipamc.Allocation, bool, error) { return c.Check(ctx, att("nobody", "eth0")) }},
		} {
			a, found, err := call.f()
			if err != nil || found || a != (ipamc.Allocation{}) {
				t.Errorf("%s = %+v, %v, %v; want not found, no error", call.name, a, found, err)
			}
		}
	})
}

func TestContractGC(t *testing.T) {
	forEachBackend(t, true, func(t *testing.T, c *ipamc.GRPC, _ backend) {
		ctx := ctxT(t)
		for _, a := range []ipamc.Attachment{att("c1", "eth0"), att("c2", "eth0"), att("c3", "eth0")} {
			if _, err := c.Add(ctx, ipamc.AddRequest{Attachment: a, NetNS: "/var/run/netns/" + a.ContainerID}); err != nil {
				t.Fatal(err)
			}
		}
		released, err := c.GC(ctx, []ipamc.Attachment{att("c2", "eth0"), att("gone", "eth0")})
		if err != nil {
			t.Fatalf("GC: %v", err)
		}
		want := []ipamc.Released{
			{Attachment: att("c1", "eth0"), Allocation: primary1},
			{Attachment: att("c3", "eth0"), Allocation: secondary1},
		}
		if !reflect.DeepEqual(released, want) {
			t.Errorf("GC released %+v, want %+v", released, want)
		}
		if _, found, err := c.Check(ctx, att("c1", "eth0")); err != nil || found {
			t.Errorf("Check of a collected attachment: found %v, %v", found, err)
		}
		if a, found, err := c.Check(ctx, att("c2", "eth0")); err != nil || !found || a != primary2 {
			t.Errorf("Check of a valid attachment = %+v, %v, %v", a, found, err)
		}
		again, err := c.GC(ctx, []ipamc.Attachment{att("c2", "eth0")})
		if err != nil || len(again) != 0 {
			t.Errorf("second GC = %+v, %v; want nothing released", again, err)
		}
	})
}

func TestContractStatus(t *testing.T) {
	forEachBackend(t, true, func(t *testing.T, c *ipamc.GRPC, _ backend) {
		st, err := c.Status(ctxT(t))
		if want := (ipamc.Status{Ready: true, Available: 2 * perENI}); err != nil || st != want {
			t.Errorf("Status = %+v, %v; want %+v", st, err, want)
		}
	})
}

func TestContractExhausted(t *testing.T) {
	forEachBackend(t, true, func(t *testing.T, c *ipamc.GRPC, b backend) {
		ctx := ctxT(t)
		for _, id := range []string{"c1", "c2", "c3", "c4"} {
			if _, err := c.Add(ctx, addReq(id, "eth0")); err != nil {
				t.Fatal(err)
			}
		}
		steps := []struct {
			cause     string
			permanent bool
		}{
			{"", false}, // growing
			{"EC2 is throttling the node's calls", false},
			{"the node has reached MAX_ENI (2 ENIs)", true},
		}
		for _, s := range steps {
			b.block(s.cause, s.permanent)
			_, err := c.Add(ctx, addReq("c5", "eth0"))
			var ex *ipamc.ExhaustedError
			if !errors.As(err, &ex) || ex.Permanent != s.permanent || !strings.Contains(ex.Cause, s.cause) ||
				strings.HasPrefix(ex.Cause, "no address available") {
				t.Errorf("Add with the pool blocked by %q = %#v (%v); want ExhaustedError{Permanent: %v} naming it",
					s.cause, ex, err, s.permanent)
			}
			st, err := c.Status(ctx)
			want := ipamc.Status{Ready: s.cause == "", Reason: s.cause}
			if err != nil || st != want {
				t.Errorf("Status with the pool blocked by %q = %+v, %v; want %+v", s.cause, st, err, want)
			}
		}
		// The held addresses are intact.
		if a, found, err := c.Check(ctx, att("c1", "eth0")); err != nil || !found || a != heldBy(primary1, "c1") {
			t.Errorf("Check = %+v, %v, %v", a, found, err)
		}
	})
}

func TestContractRejected(t *testing.T) {
	long := strings.Repeat("x", 16)
	forEachBackend(t, true, func(t *testing.T, c *ipamc.GRPC, _ backend) {
		ctx := ctxT(t)
		bad := func(mod func(*ipamc.AddRequest)) ipamc.AddRequest {
			r := addReq("c1", "eth0")
			mod(&r)
			return r
		}
		calls := []struct {
			name, field string
			call        func() error
		}{
			{"Add without container id", "container_id", func() error {
				_, err := c.Add(ctx, bad(func(r *ipamc.AddRequest) { r.ContainerID = "" }))
				return err
			}},
			{"Add with a bad container id", "container_id", func() error {
				_, err := c.Add(ctx, bad(func(r *ipamc.AddRequest) { r.ContainerID = "-c1" }))
				return err
			}},
			{"Add with a long ifname", "ifname", func() error {
				_, err := c.Add(ctx, bad(func(r *ipamc.AddRequest) { r.IfName = long }))
				return err
			}},
			{"Add with a relative netns", "netns", func() error {
				_, err := c.Add(ctx, bad(func(r *ipamc.AddRequest) { r.NetNS = "netns/c1" }))
				return err
			}},
			{"Add with a spaced pod name", "pod_name", func() error {
				_, err := c.Add(ctx, bad(func(r *ipamc.AddRequest) { r.PodName = "web 1" }))
				return err
			}},
			{"Add with a bad host ifname", "host_ifname", func() error {
				_, err := c.Add(ctx, bad(func(r *ipamc.AddRequest) { r.HostIfName = "eni:1" }))
				return err
			}},
			{"Del with a bad ifname", "ifname", func() error {
				_, _, err := c.Del(ctx, att("c1", "eth/0"))
				return err
			}},
			{"Check without container id", "container_id", func() error {
				_, _, err := c.Check(ctx, att("", "eth0"))
				return err
			}},
			{"GC with a bad attachment", "valid_attachments[1].ifname", func() error {
				_, err := c.GC(ctx, []ipamc.Attachment{att("c1", "eth0"), att("c2", "")})
				return err
			}},
		}
		for _, call := range calls {
			err := call.call()
			if !errors.Is(err, ipamc.ErrRejected) || !strings.Contains(err.Error(), call.field) {
				t.Errorf("%s: %v; want ErrRejected naming %s", call.name, err, call.field)
			}
		}
		if st, err := c.Status(ctx); err != nil || st.Available != 2*perENI {
			t.Errorf("Status after rejected calls = %+v, %v; want nothing allocated", st, err)
		}
	})
}

func TestContractNotReady(t *testing.T) {
	forEachBackend(t, false, func(t *testing.T, c *ipamc.GRPC, _ backend) {
		ctx := ctxT(t)
		// ipamd is there: a DEL must not pass as if it were not.
		_, err := c.Add(ctx, addReq("c1", "eth0"))
		if !errors.Is(err, ipamc.ErrUnavailable) || errors.Is(err, ipamc.ErrUnreachable) ||
			!strings.Contains(err.Error(), "not ready") || !strings.Contains(err.Error(), c.Socket()) {
			t.Errorf("Add = %v; want ErrUnavailable with ipamd's message and the socket", err)
		}
		if _, _, err := c.Del(ctx, att("c1", "eth0")); !errors.Is(err, ipamc.ErrUnavailable) ||
			errors.Is(err, ipamc.ErrUnreachable) {
			t.Errorf("Del = %v; want ErrUnavailable", err)
		}
		if _, err := c.GC(ctx, nil); !errors.Is(err, ipamc.ErrUnavailable) || errors.Is(err, ipamc.ErrUnreachable) {
			t.Errorf("GC = %v; want ErrUnavailable", err)
		}
		st, err := c.Status(ctx)
		if err != nil || st.Ready || !strings.Contains(st.Reason, "starting") {
			t.Errorf("Status = %+v, %v; want not ready, starting", st, err)
		}
	})
}

// An ipamd that cannot write its checkpoint answers, but changes nothing:
// that is ErrUnavailable with ipamd's message, never ErrUnreachable (a DEL
// must not pass as if ipamd were gone), and the calls succeed once the
// writes do.
func TestContractCheckpointFailure(t *testing.T) {
	forEachBackend(t, true, func(t *testing.T, c *ipamc.GRPC, b backend) {
		ctx := ctxT(t)
		if _, err := c.Add(ctx, addReq("c1", "eth0")); err != nil {
			t.Fatal(err)
		}
		b.failWrites(true)
		calls := map[string]func() error{
			"Add": func() error { _, err := c.Add(ctx, addReq("c2", "eth0")); return err },
			"Del": func() error { _, _, err := c.Del(ctx, att("c1", "eth0")); return err },
			"GC":  func() error { _, err := c.GC(ctx, nil); return err },
		}
		for name, call := range calls {
			err := call()
			if !errors.Is(err, ipamc.ErrUnavailable) || errors.Is(err, ipamc.ErrUnreachable) ||
				!strings.Contains(err.Error(), "checkpoint write failed") || !strings.Contains(err.Error(), c.Socket()) {
				t.Errorf("%s with checkpoint writes failing: %v; want ErrUnavailable with ipamd's message", name, err)
			}
		}
		if a, found, err := c.Check(ctx, att("c1", "eth0")); err != nil || !found || a != heldBy(primary1, "c1") {
			t.Errorf("Check after failed writes = %+v, %v, %v; want c1 still held", a, found, err)
		}
		b.failWrites(false)
		if _, found, err := c.Del(ctx, att("c1", "eth0")); err != nil || !found {
			t.Errorf("Del once writes succeed = %v, %v", found, err)
		}
	})
}
