package sim

import (
	"net/netip"
	"sync"
	"testing"
	"time"
)

// TestWorldConcurrentAssignUnassign hammers one subnet from many goroutines
// and checks that no address is ever on two ENIs and that AvailableIPs
// always matches what the ENIs hold. Run it with -race.
func TestWorldConcurrentAssignUnassign(t *testing.T) {
	f := newEngFixture(t, engSetup{subnet: "10.0.0.0/26", instType: "c5.4xlarge",
		opts: WorldOptions{IMDSLag: time.Second, AttachDelay: time.Millisecond}})
	var enis []string
	for i := 1; i <= 4; i++ {
		e := f.createENI(CreateENIInput{})
		f.attach(e.ID, f.inst.ID, i)
		enis = append(enis, e.ID)
	}
	const workers, rounds = 8, 150
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			eni := enis[g%len(enis)]
			for r := range rounds {
				hammer(f.w, eni, enis[(g+r)%len(enis)], r)
				if r%10 == 0 {
					f.clk.Advance(100 * time.Millisecond)
				}
			}
		}()
	}
	var checks sync.WaitGroup
	checks.Add(1)
	go func() {
		defer checks.Done()
		for {
			select {
			case <-stop:
				return
			default:
				checkConsistent(t, f.w.Snapshot())
				_, _ = f.w.IMDSView(f.inst.ID)
			}
		}
	}()
	wg.Wait()
	close(stop)
	checks.Wait()
	checkConsistent(t, f.w.Snapshot())
}

// hammer does one round of mixed work on an ENI; errors such as subnet
// exhaustion or limits are expected under contention and ignored.
func hammer(w *World, eni, other string, r int) {
	switch r % 4 {
	case 0:
		_, _ = w.AssignPrivateIpAddresses(AssignInput{ENIID: eni, SecondaryIPCount: 1 + r%3})
	case 1:
		_, _ = w.AssignPrivateIpAddresses(AssignInput{ENIID: eni, PrefixCount: 1})
	case 2:
		es, err := w.DescribeNetworkInterfaces([]string{other}, nil)
		if err == nil && len(es[0].SecondaryIPs) > 0 {
			// Steal one: a reassignment between ENIs of the subnet.
			_, _ = w.AssignPrivateIpAddresses(AssignInput{ENIID: eni, IPs: es[0].SecondaryIPs[:1], AllowReassignment: true})
		}
	default:
		es, err := w.DescribeNetworkInterfaces([]string{eni}, nil)
		if err == nil {
			_ = w.UnassignPrivateIpAddresses(eni, es[0].SecondaryIPs, es[0].Prefixes)
		}
	}
}

// checkConsistent fails when an address is held twice or AvailableIPs does
// not match the addresses held.
func checkConsistent(t *testing.T, s State) {
	t.Helper()
	for _, sn := range s.Subnets {
		held := map[netip.Addr]string{}
		hold := func(ip netip.Addr, eni string) {
			if prev, dup := held[ip]; dup {
				t.Errorf("address %s on %s and %s", ip, prev, eni)
			}
			held[ip] = eni
		}
		for _, e := range s.ENIs {
			if e.SubnetID != sn.ID {
				continue
			}
			hold(e.PrimaryIP, e.ID)
			for _, ip := range e.SecondaryIPs {
				hold(ip, e.ID)
			}
			for _, p := range e.Prefixes {
				for ip := p.Addr(); p.Contains(ip); ip = ip.Next() {
					hold(ip, e.ID)
				}
			}
		}
		size := 1 << (32 - sn.CIDR.Bits())
		if want := size - 5 - len(held); sn.AvailableIPs != want {
			t.Errorf("subnet %s: AvailableIPs %d, want %d", sn.ID, sn.AvailableIPs, want)
		}
	}
}
