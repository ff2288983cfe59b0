package fake_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/vpc-cni/vpc-cni/cni/ipamc"
	"github.com/vpc-cni/vpc-cni/cni/ipamc/fake"
)

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func client(t *testing.T, s *fake.Server) *ipamc.GRPC {
	t.Helper()
	c, err := ipamc.Dial(s.Socket())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func req(id string) ipamc.AddRequest {
	return ipamc.AddRequest{Attachment: ipamc.Attachment{ContainerID: id, IfName: "eth0"},
		NetNS: "/var/run/netns/" + id, PodNamespace: "default", PodName: "pod-" + id, PodUID: "uid-" + id,
		HostIfName: "eni" + id}
}

func TestDefaults(t *testing.T) {
	s := fake.Start(t, fake.Options{})
	if n := len(s.Socket()); n > 107 {
		t.Errorf("socket path %s is %d bytes, too long for a unix socket", s.Socket(), n)
	}
	if s.Free() != 40 {
		t.Fatalf("Free = %d, want 40", s.Free())
	}
	c := client(t, s)
	var got []ipamc.AddResult
	for i := range 21 {
		res, err := c.Add(ctxT(t), req(fmt.Sprintf("c%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, res)
	}
	first := got[0]
	if first.IP != netip.MustParseAddr("198.18.1.10") || first.ENI != fake.PrimaryENI || first.DeviceIndex != 0 ||
		first.RouteTable != ipamc.MainTable || first.Block != netip.MustParsePrefix("198.18.1.10/32") ||
		first.MTU != fake.DefaultMTU || len(first.VPCCIDRs) != 1 || first.VPCCIDRs[0] != fake.DefaultVPCCIDR ||
		first.ExternalSNAT {
		t.Errorf("first Add = %+v", first)
	}
	if last := got[20]; last.IP != netip.MustParseAddr("198.18.2.10") || last.ENI != fake.SecondaryENI ||
		last.DeviceIndex != 1 || last.RouteTable != 2 {
		t.Errorf("21st Add = %+v, want the secondary ENI's first address", last)
	}
	if s.Free() != 19 || len(s.Allocations()) != 21 {
		t.Errorf("Free = %d, %d allocations; want 19, 21", s.Free(), len(s.Allocations()))
	}
}

func TestAllocationsAndRequests(t *testing.T) {
	s := fake.Start(t, fake.Options{Addresses: []ipamc.Allocation{
		{IP: netip.MustParseAddr("198.18.5.9"), ENI: "eni-5", DeviceIndex: 4},
		{IP: netip.MustParseAddr("198.18.5.2"), ENI: "eni-0"},
	}})
	if s.LastAddRequest() != nil {
		t.Errorf("LastAddRequest before any = %v", s.LastAddRequest())
	}
	c := client(t, s)
	for _, id := range []string{"a", "b"} {
		if _, err := c.Add(ctxT(t), req(id)); err != nil {
			t.Fatal(err)
		}
	}
	want := []fake.Held{
		{Attachment: req("b").Attachment, Allocation: ipamc.Allocation{IP: netip.MustParseAddr("198.18.5.2"),
			ENI: "eni-0", RouteTable: ipamc.MainTable, Block: netip.MustParsePrefix("198.18.5.2/32")},
			NetNS: "/var/run/netns/b", PodNamespace: "default", PodName: "pod-b", PodUID: "uid-b", HostIfName: "enib"},
		{Attachment: req("a").Attachment, Allocation: ipamc.Allocation{IP: netip.MustParseAddr("198.18.5.9"),
			ENI: "eni-5", DeviceIndex: 4, RouteTable: 5, Block: netip.MustParsePrefix("198.18.5.9/32")},
			NetNS: "/var/run/netns/a", PodNamespace: "default", PodName: "pod-a", PodUID: "uid-a", HostIfName: "enia"},
	}
	got := s.Allocations()
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("Allocations = %+v\nwant %+v", got, want)
	}
	last := s.LastAddRequest()
	if last.GetContainerId() != "b" || last.GetPodName() != "pod-b" {
		t.Errorf("LastAddRequest = %v", last)
	}
	last.ContainerId = "changed"
	if s.LastAddRequest().GetContainerId() != "b" {
		t.Error("LastAddRequest shares its message with the server")
	}
}

// A released address goes to the end of the list (ipamd cools it down),
// and an Add of a held attachment changes nothing.
func TestReleaseAndIdempotence(t *testing.T) {
	s := fake.Start(t, fake.Options{})
	c := client(t, s)
	ctx := ctxT(t)
	a, _ := c.Add(ctx, req("a"))
	if _, found, err := c.Del(ctx, req("a").Attachment); err != nil || !found {
		t.Fatalf("Del = %v, %v", found, err)
	}
	b, _ := c.Add(ctx, req("b"))
	again, _ := c.Add(ctx, req("b"))
	if b.IP == a.IP || again.IP != b.IP {
		t.Errorf("after releasing %s: Add = %s, again %s; want another address, twice", a.IP, b.IP, again.IP)
	}
	if s.Free() != 39 || s.Calls(fake.RPCAddNetwork) != 3 || s.Calls(fake.RPCDelNetwork) != 1 {
		t.Errorf("Free = %d, calls = %d adds, %d dels", s.Free(), s.Calls(fake.RPCAddNetwork), s.Calls(fake.RPCDelNetwork))
	}
}

func TestConcurrentAdds(t *testing.T) {
	const n = 50
	addrs := append(fake.Addresses("eni-0", 0, netip.MustParseAddr("198.18.1.250"), 30),
		fake.Addresses("eni-2", 2, netip.MustParseAddr("198.18.9.0"), n-30)...)
	if len(addrs) != n || addrs[6].IP != netip.MustParseAddr("198.18.2.0") || addrs[6].RouteTable != ipamc.MainTable ||
		addrs[n-1].RouteTable != 3 || addrs[n-1].Block != netip.MustParsePrefix("198.18.9.19/32") {
		t.Fatalf("Addresses = %+v", addrs)
	}
	s := fake.Start(t, fake.Options{Addresses: addrs})
	c := client(t, s)
	ctx := ctxT(t)
	ips := make([]netip.Addr, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			res, err := c.Add(ctx, req(fmt.Sprintf("c%d", i)))
			ips[i], errs[i] = res.IP, err
		})
	}
	wg.Wait()
	seen := map[netip.Addr]bool{}
	for i, ip := range ips {
		if errs[i] != nil || seen[ip] {
			t.Errorf("Add %d = %s, %v; want a distinct address", i, ip, errs[i])
		}
		seen[ip] = true
	}
	if _, err := c.Add(ctxT(t), req("one-more")); !errors.As(err, new(*ipamc.ExhaustedError)) {
		t.Errorf("Add with every address held: %v; want ExhaustedError", err)
	}
	for i := range n {
		wg.Go(func() {
			if _, found, err := c.Del(ctx, req(fmt.Sprintf("c%d", i)).Attachment); err != nil || !found {
				t.Errorf("Del %d = %v, %v", i, found, err)
			}
		})
	}
	wg.Wait()
	if s.Free() != n || len(s.Allocations()) != 0 {
		t.Errorf("after the Dels: Free = %d, %d allocations", s.Free(), len(s.Allocations()))
	}
}

func TestFaults(t *testing.T) {
	s := fake.Start(t, fake.Options{})
	c := client(t, s)
	s.SetFault(fake.RPCAddNetwork, codes.Internal, "boom")
	s.SetFault(fake.RPCStatus, codes.Unavailable, "ipamd is not ready")
	if _, err := c.Add(ctxT(t), req("a")); err == nil || s.Free() != 40 {
		t.Errorf("faulted Add = %v, Free %d; want an error and nothing taken", err, s.Free())
	}
	if _, err := c.Status(ctxT(t)); !errors.Is(err, ipamc.ErrUnavailable) || errors.Is(err, ipamc.ErrUnreachable) {
		t.Errorf("Status faulted with Unavailable = %v; want ErrUnavailable: the fake answered", err)
	}
	if _, _, err := c.Check(ctxT(t), req("a").Attachment); err != nil {
		t.Errorf("Check, not faulted: %v", err)
	}
	if s.Calls(fake.RPCAddNetwork) != 1 || s.LastAddRequest().GetContainerId() != "a" {
		t.Errorf("a faulted Add is not recorded: %d calls, last %v", s.Calls(fake.RPCAddNetwork), s.LastAddRequest())
	}
	s.ClearFaults()
	if _, err := c.Add(ctxT(t), req("a")); err != nil {
		t.Errorf("Add after ClearFaults: %v", err)
	}
}

func TestBlockedWithFreeAddresses(t *testing.T) {
	s := fake.Start(t, fake.Options{})
	s.SetBlocked("the subnet is full", true)
	c := client(t, s)
	if _, err := c.Add(ctxT(t), req("a")); err != nil {
		t.Errorf("Add of a blocked pool with free addresses: %v", err)
	}
	if st, err := c.Status(ctxT(t)); err != nil || !st.Ready || st.Available != 39 {
		t.Errorf("Status = %+v, %v", st, err)
	}
}

func TestStop(t *testing.T) {
	s := fake.Start(t, fake.Options{})
	c := client(t, s)
	if _, err := c.Add(ctxT(t), req("a")); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	s.Stop()
	if _, err := os.Stat(s.Socket()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket after Stop: %v", err)
	}
	if _, _, err := c.Del(ctxT(t), req("a").Attachment); !errors.Is(err, ipamc.ErrUnreachable) ||
		errors.Is(err, ipamc.ErrUnavailable) {
		t.Errorf("Del after Stop: %v; want ErrUnreachable", err)
	}
	if len(s.Allocations()) != 1 {
		t.Errorf("Allocations after Stop = %+v; want the one held", s.Allocations())
	}
}
