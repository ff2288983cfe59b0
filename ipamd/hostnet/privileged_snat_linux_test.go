package hostnet

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
)

func testSNAT() SNAT {
	return SNAT{
		PrimaryMAC: primaryMAC, PrimaryIP: addr("198.18.0.10"),
		VPCCIDRs: []netip.Prefix{pfx("198.18.0.0/16")},
		Exclude:  []netip.Prefix{pfx("203.0.113.0/25"), pfx("203.0.113.0/24")},
		Random:   SNATRandomPRNG, VethPrefix: "eni",
	}
}

// snatNode is a node with its primary ENI's link (eth0) and strict
// reverse-path filtering, as many distributions set it.
func snatNode(t *testing.T) *testNode {
	nd := newTestNode(t)
	nd.dumpOnFailure(t)
	nd.addLink(t, "eth0", primaryMAC, "198.18.0.10/24", true)
	nd.writeSysctl(t, "net/ipv4/conf/eth0/rp_filter", "1")
	return nd
}

// ourChainRules reads our table's chains and their rules.
func ourChainRules(t *testing.T, nd *testNode) map[string][]*nftables.Rule {
	t.Helper()
	c := nd.nft(t)
	chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyIPv4)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]*nftables.Rule{}
	for _, ch := range chains {
		if ch.Table.Name != nftTable {
			continue
		}
		rules, err := c.GetRules(ch.Table, ch)
		if err != nil {
			t.Fatal(err)
		}
		out[ch.Name] = rules
	}
	return out
}

// setElements reads one of our sets, as nft would print it.
func setElements(t *testing.T, nd *testNode, name string) string {
	t.Helper()
	c := nd.nft(t)
	s, err := c.GetSetByName(ourTable(), name)
	if err != nil {
		t.Fatalf("set %s: %v", name, err)
	}
	els, err := c.GetSetElements(s)
	if err != nil {
		t.Fatal(err)
	}
	return elementsString(els)
}

// checkSNAT asserts our table holds s's rules and sets, once.
func checkSNAT(t *testing.T, nd *testNode, s SNAT, random, fully bool) {
	t.Helper()
	if n := nd.ourTables(t); n != 1 {
		t.Fatalf("%d tables ip %s, want 1", n, nftTable)
	}
	chains := ourChainRules(t, nd)
	for name, want := range map[string]int{nftChainPrimary: 1, nftChainPodOut: 2, nftChainSNAT: 1} {
		if got := len(chains[name]); got != want {
			t.Errorf("chain %s has %d rules, want %d", name, got, want)
		}
	}
	if len(chains) != 3 {
		t.Errorf("chains %v, want 3", len(chains))
	}
	if rules := chains[nftChainSNAT]; len(rules) == 1 {
		nat, ok := findExpr[*expr.NAT](rules[0])
		if !ok || nat.Random != random || nat.FullyRandom != fully || nat.Type != expr.NATTypeSourceNAT {
			t.Errorf("snat expression %+v, want random=%v fully-random=%v", nat, random, fully)
		}
		imm, _ := findExpr[*expr.Immediate](rules[0])
		if imm == nil || netip.AddrFrom4([4]byte(imm.Data)) != s.PrimaryIP {
			t.Errorf("snat to %+v, want %s", imm, s.PrimaryIP)
		}
	}
	if got, want := setElements(t, nd, nftSetVPC), elementsString(intervalElements(mergeRanges(s.VPCCIDRs))); got != want {
		t.Errorf("set %s = %s, want %s", nftSetVPC, got, want)
	}
	if got, want := setElements(t, nd, nftSetExclude), elementsString(intervalElements(mergeRanges(s.Exclude))); got != want {
		t.Errorf("set %s = %s, want %s", nftSetExclude, got, want)
	}
	rules := nd.rulesAt(t, PriorityOffVPC)
	if len(rules) != 1 || !sameRule(rules[0], *offVPCRule(DefaultConnMark)) {
		t.Errorf("rules at %d = %v, want only fwmark 0x80/0x80 lookup main", PriorityOffVPC, rules)
	}
	if v := nd.readSysctl(t, "net/ipv4/conf/eth0/rp_filter"); v != "2" {
		t.Errorf("eth0 rp_filter = %s, want 2 (loose)", v)
	}
}

func TestPrivilegedSetupSNATIdempotent(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		mode          SNATRandom
		random, fully bool
	}{
		{SNATRandomPRNG, false, true},
		{SNATRandomHash, true, false},
		{SNATRandomNone, false, false},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			nd := snatNode(t)
			ctx := context.Background()
			s := testSNAT()
			s.Random = tc.mode
			if err := nd.host.SetupSNAT(ctx, s); err != nil {
				t.Fatal(err)
			}
			checkSNAT(t, nd, s, tc.random, tc.fully)
			first := nd.snapshot(t)
			for range 9 {
				if err := nd.host.SetupSNAT(ctx, s); err != nil {
					t.Fatal(err)
				}
			}
			if again := nd.snapshot(t); again != first {
				t.Fatalf("state after 10 runs differs from after one:\n--- one\n%s\n--- ten\n%s", first, again)
			}
		})
	}
}

func TestPrivilegedSetupSNATReconfigure(t *testing.T) {
	nd := snatNode(t)
	ctx := context.Background()
	s := testSNAT()
	if err := nd.host.SetupSNAT(ctx, s); err != nil {
		t.Fatal(err)
	}
	// New exclusions, a second VPC CIDR, sequential ports.
	s.Exclude = []netip.Prefix{pfx("198.19.128.0/17")}
	s.VPCCIDRs = append(s.VPCCIDRs, pfx("198.19.0.0/17"))
	s.Random = SNATRandomNone
	if err := nd.host.SetupSNAT(ctx, s); err != nil {
		t.Fatal(err)
	}
	checkSNAT(t, nd, s, false, false)
	if got := setElements(t, nd, nftSetExclude); strings.Contains(got, "203.0.113") {
		t.Errorf("old exclusion left in %s: %s", nftSetExclude, got)
	}

	// External: everything goes, twice is fine.
	for range 2 {
		if err := nd.host.SetupSNAT(ctx, SNAT{External: true}); err != nil {
			t.Fatal(err)
		}
	}
	if n := nd.ourTables(t); n != 0 {
		t.Errorf("%d tables ip %s after External", n, nftTable)
	}
	if rules := nd.rulesAt(t, PriorityOffVPC); len(rules) != 0 {
		t.Errorf("rules at %d after External: %v", PriorityOffVPC, rules)
	}
	// And back.
	if err := nd.host.SetupSNAT(ctx, s); err != nil {
		t.Fatal(err)
	}
	checkSNAT(t, nd, s, false, false)
}

func TestPrivilegedSetupSNATLeavesOthersAlone(t *testing.T) {
	nd := snatNode(t)
	ctx := context.Background()
	// Someone else's table and a rule of their own at our priority.
	c := nd.nft(t)
	theirs := c.AddTable(&nftables.Table{Name: "kube-proxy", Family: nftables.TableFamilyIPv4})
	c.AddChain(&nftables.Chain{Name: "x", Table: theirs})
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	plain := offVPCRule(0)
	plain.Mark, plain.Mask = 0, nil
	plain.Dst = ipNet(pfx("198.18.200.0/24"))
	if err := nd.nl.RuleAdd(plain); err != nil {
		t.Fatal(err)
	}
	for _, s := range []SNAT{testSNAT(), {External: true}} {
		if err := nd.host.SetupSNAT(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := nd.nft(t).ListTableOfFamily("kube-proxy", nftables.TableFamilyIPv4); err != nil {
		t.Errorf("another table was removed: %v", err)
	}
	if rules := nd.rulesAt(t, PriorityOffVPC); len(rules) != 1 || rules[0].Dst == nil {
		t.Errorf("rules at %d = %v, want only the other rule", PriorityOffVPC, rules)
	}
}

func TestPrivilegedSetupSNATErrors(t *testing.T) {
	nd := newTestNode(t)
	ctx := context.Background()
	if err := nd.host.SetupSNAT(ctx, testSNAT()); !errors.Is(err, ErrLinkNotFound) {
		t.Fatalf("SetupSNAT without the primary link = %v, want ErrLinkNotFound", err)
	}
	s := testSNAT()
	s.Random = "sometimes"
	if err := nd.host.SetupSNAT(ctx, s); !errors.Is(err, ErrInvalid) {
		t.Fatalf("SetupSNAT with a bad mode = %v, want ErrInvalid", err)
	}
	if n := nd.ourTables(t); n != 0 {
		t.Errorf("a failed SetupSNAT left %d tables", n)
	}
}

func TestPrivilegedConnMarkOption(t *testing.T) {
	nd := snatNode(t)
	h, err := New(Options{NetNS: nd.path, ConnMark: 0x400000})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.SetupSNAT(context.Background(), testSNAT()); err != nil {
		t.Fatal(err)
	}
	rules := nd.rulesAt(t, PriorityOffVPC)
	if len(rules) != 1 || rules[0].Mark != 0x400000 || maskOf(rules[0].Mask) != 0x400000 {
		t.Fatalf("rules at %d = %v, want fwmark 0x400000/0x400000", PriorityOffVPC, rules)
	}
}
