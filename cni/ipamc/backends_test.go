package ipamc_test

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"sync"
	"testing"
	"time"

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
	return backend{socket: s.Socket(), block: s.SetBlocked}
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
	store := datastore.New(datastore.Options{Cooldown: 30 * time.Second})
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
	path := filepath.Join(shortDir(t), "ipamd.sock")
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
	return backend{socket: path, block: pool.block}
}
