package datastore

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"testing"
)

// BenchmarkAssignRelease measures one Assign and one Release with 250
// allocations live: with the checkpoint on tmpfs (as /run/vpc-cni is),
// and in memory only as the reference, for prefix delegation (/28s) and
// for secondary addresses (/32s).
func BenchmarkAssignRelease(b *testing.B) {
	for _, mode := range []string{"prefix", "secondary"} {
		for _, where := range []string{"tmpfs", "memory"} {
			b.Run(mode+"/"+where, func(b *testing.B) {
				opts := Options{} // no cooldown: the benchmark reuses one address
				if where == "tmpfs" {
					opts.Path = filepath.Join(tmpfsDir(b), "ipam.json")
				}
				s := New(opts)
				benchENIs(b, s, mode)
				for i := range 250 {
					if _, err := s.Assign(key(i), benchPod(i)); err != nil {
						b.Fatal(err)
					}
				}
				k, pod := Key{ContainerID: "bench-container", IfName: "eth0"}, benchPod(999)
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					if _, err := s.Assign(k, pod); err != nil {
						b.Fatal(err)
					}
					if _, _, err := s.Release(k); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// benchENIs gives s three ENIs with 288 pod addresses between them.
func benchENIs(b testing.TB, s *Store, mode string) {
	for dev := range 3 {
		e := testENI(fmt.Sprintf("eni-%d", dev), dev)
		for i := range 6 {
			base := netip.AddrFrom4([4]byte{198, 18, byte(dev + 1), byte(16 * i)})
			if mode == "prefix" {
				e.Blocks = append(e.Blocks, netip.PrefixFrom(base, 28))
				continue
			}
			for a, j := base, 0; j < 16; a, j = a.Next(), j+1 {
				e.Blocks = append(e.Blocks, netip.PrefixFrom(a, 32))
			}
		}
		mustAddENI(b, s, e)
	}
}

func benchPod(i int) Pod {
	return Pod{
		Namespace: "default", Name: fmt.Sprintf("web-7d4b9c8f5-%05d", i), UID: fmt.Sprintf("5f3c2a1e-0000-4000-8000-%012d", i),
		Netns: fmt.Sprintf("/var/run/netns/cni-%08x-0000-0000-0000-000000000000", i), HostIfName: fmt.Sprintf("eni%011x", i),
	}
}
