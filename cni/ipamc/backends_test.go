package ipamc_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/vpc-cni/vpc-cni/cni/ipamc"
	"github.com/vpc-cni/vpc-cni/cni/ipamc/fake"
	"github.com/vpc-cni/vpc-cni/ipamd/datastore"
	"github.com/vpc-cni/vpc-cni/ipamd/ipam"
	"github.com/vpc-cni/vpc-cni/ipamd/server"
)

// backend is an ipamd the contract tests run against: the real one or the
// fake, holding the same addresses: perENI on the primary ENI from
// 198.18.1.10 up, then perENI on a secondary ENI (device 1) from
// 198.18.2.10 up.
type backend struct {
	socket string
	// block makes the pool unable to grow (cause "" ends it).
	block func(cause string, permanent bool)
	// failWrites makes ipamd's checkpoint writes fail (false ends it).
	failWrites func(bool)
}

const perENI = 2

var vpcCIDR = netip.MustParsePrefix("198.18.0.0/16")

// backends builds each backend, ready or still starting.
var backends = []struct {
	name  string
	start func(t *testing.T, ready bool) backend
}{
	{"ipamd", startIpamd},
	{"fake", startFake},
}

// addresses are the backends' addresses as the fake takes them.
func addresses() []ipamc.Allocation {
	var out []ipamc.Allocation
	for _, a := range fake.DefaultAddresses() {
		last := a.IP.As4()[3]
		if last < 10+perENI {
			out = append(out, a)
		}
	}
	return out
}

func startFake(t *testing.T, ready bool) backend {
	s := fake.Start(t, fake.Options{Addresses: addresses(), VPCCIDRs: []netip.Prefix{vpcCIDR}, MTU: 9001})
	s.SetReady(ready)
	failWrites := func(fail bool) {
		s.ClearFaults()
		if fail {
			// What ipamd answers when a change could not be written.
			for _, rpc := range []string{fake.RPCAddNetwork, fake.RPCDelNetwork, fake.RPCGarbageCollect} {
				s.SetFault(rpc, codes.Unavailable, "checkpoint write failed: no space left on device")
			}
		}
	}
	return backend{socket: s.Socket(), block: s.SetBlocked, failWrites: failWrites}
}

// failingWrites is ipamd's checkpoint writer, failing when told.
type failingWrites struct {
	mu   sync.Mutex
	fail bool
}

func (w *failingWrites) set(fail bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fail = fail
}

func (w *failingWrites) write(path string, data []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail {
		return errors.New("no space left on device")
	}
	return os.WriteFile(path, data, 0o600)
}

// blockingPool is ipamd's pool manager as its IPAM service sees it: never
// growing, blocked when told.
type blockingPool struct {
	mu        sync.Mutex
	cause     string
	permanent bool
}

func (p *blockingPool) Wake() {}

func (p *blockingPool) Blocked() (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cause, p.permanent
}

func (p *blockingPool) block(cause string, permanent bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cause, p.permanent = cause, permanent
}

// startIpamd serves ipamd's own gRPC server and IPAM service over an
// in-memory datastore, wired as the daemon wires them, with a short wait
// for the pool to grow (it never does).
func startIpamd(t *testing.T, ready bool) backend {
	t.Helper()
	dir := shortDir(t)
	writes := &failingWrites{}
	store := datastore.New(datastore.Options{Cooldown: 30 * time.Second, Path: filepath.Join(dir, "ipam.json"),
		WriteFile: writes.write})
	if _, err := store.Load(); err != nil {
		t.Fatal(err)
	}
	enis := map[string]*datastore.ENI{}
	for _, a := range addresses() {
		e := enis[a.ENI]
		if e == nil {
			first := a.IP.As4()
			e = &datastore.ENI{ID: a.ENI, MAC: fmt.Sprintf("02:00:00:00:00:%02x", a.DeviceIndex+1),
				DeviceIndex: a.DeviceIndex, Primary: a.DeviceIndex == 0, SubnetID: "subnet-1", SubnetCIDR: vpcCIDR,
				PrimaryIP: netip.AddrFrom4([4]byte{first[0], first[1], first[2], 5})}
			enis[a.ENI] = e
		}
		e.Blocks = append(e.Blocks, a.Block)
	}
	for _, id := range []string{fake.PrimaryENI, fake.SecondaryENI} {
		if err := store.AddENI(*enis[id]); err != nil {
			t.Fatal(err)
		}
	}
	pool := &blockingPool{}
	svc := ipam.New(store, pool, ipam.Options{
		Node:    ipam.NodeInfo{VPCCIDRs: []netip.Prefix{vpcCIDR}, MTU: 9001},
		AddWait: 10 * time.Millisecond,
	})
	if ready {
		svc.SetReady()
	}
	path := filepath.Join(dir, "ipamd.sock")
	srv, err := server.Listen(svc, server.Options{SocketPath: path})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("ipamd Serve: %v", err)
		}
	})
	return backend{socket: path, block: pool.block, failWrites: writes.set}
}
