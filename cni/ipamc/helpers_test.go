package ipamc_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/vpc-cni/vpc-cni/cni/ipamc"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// wait bounds every call of these tests: generous, the machine is shared.
// Nothing is asserted about how long anything takes.
const wait = time.Minute

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	t.Cleanup(cancel)
	return ctx
}

// shortDir is a fresh directory with a path short enough for a unix
// socket (t.TempDir's can be too long), removed at the end of the test.
func shortDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "ipamc-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

func dial(t *testing.T, socket string) *ipamc.GRPC {
	t.Helper()
	c, err := ipamc.Dial(socket)
	if err != nil {
		t.Fatalf("Dial(%s): %v", socket, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// serveCustom serves srv (a hand-written IPAM service, for answers
// neither ipamd nor the fake give) on a unix socket and returns its path.
func serveCustom(t *testing.T, srv ipamv1.IPAMServer) string {
	t.Helper()
	path := filepath.Join(shortDir(t), "ipamd.sock")
	lis, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	ipamv1.RegisterIPAMServer(g, srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = g.Serve(lis)
	}()
	t.Cleanup(func() {
		g.Stop()
		<-done
	})
	return path
}

func att(id, ifname string) ipamc.Attachment {
	return ipamc.Attachment{ContainerID: id, IfName: ifname}
}

func addReq(id, ifname string) ipamc.AddRequest {
	return ipamc.AddRequest{
		Attachment: att(id, ifname), NetNS: "/var/run/netns/cni-" + id,
		PodNamespace: "default", PodName: "web-" + id, PodUID: "uid-" + id,
		HostIfName: "eni" + id,
	}
}
