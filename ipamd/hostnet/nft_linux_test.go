package hostnet

import (
	"bytes"
	"net/netip"
	"reflect"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

func TestIntervalElements(t *testing.T) {
	el := func(a string, end bool) nftables.SetElement {
		return nftables.SetElement{Key: ipv4Bytes(addr(a)), IntervalEnd: end}
	}
	for _, tc := range []struct {
		name string
		in   []netip.Prefix
		want []nftables.SetElement
	}{
		{"empty", nil, nil},
		{"two ranges as nft encodes them", []netip.Prefix{pfx("198.18.0.0/16"), pfx("203.0.113.0/24")},
			[]nftables.SetElement{el("0.0.0.0", true), el("198.18.0.0", false), el("198.19.0.0", true),
				el("203.0.113.0", false), el("203.0.114.0", true)}},
		{"from zero: no leading end", []netip.Prefix{pfx("0.0.0.0/8")},
			[]nftables.SetElement{el("0.0.0.0", false), el("1.0.0.0", true)}},
		{"to the top: no trailing end", []netip.Prefix{pfx("240.0.0.0/4")},
			[]nftables.SetElement{el("0.0.0.0", true), el("240.0.0.0", false)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := intervalElements(mergeRanges(tc.in)); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("intervalElements = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestBuildRulesetShape(t *testing.T) {
	s := goodSNAT()
	s.Exclude = []netip.Prefix{pfx("203.0.113.0/24"), pfx("203.0.113.128/25")}
	rs, err := buildRuleset(s, "eth0", 0x80)
	if err != nil {
		t.Fatal(err)
	}
	if rs.table.Name != "vpc-cni" || rs.table.Family != nftables.TableFamilyIPv4 {
		t.Fatalf("table = %+v", rs.table)
	}
	type chainWant struct {
		name  string
		typ   nftables.ChainType
		hook  nftables.ChainHook
		prio  nftables.ChainPriority
		rules int
	}
	want := []chainWant{
		{"primary-in", nftables.ChainTypeFilter, *nftables.ChainHookPrerouting, -150, 1},
		{"pod-out", nftables.ChainTypeFilter, *nftables.ChainHookPrerouting, -90, 2},
		{"snat", nftables.ChainTypeNAT, *nftables.ChainHookPostrouting, 100, 1},
	}
	if len(rs.chains) != len(want) {
		t.Fatalf("%d chains, want %d", len(rs.chains), len(want))
	}
	for i, w := range want {
		c := rs.chains[i]
		n := 0
		for _, r := range rs.rules {
			if r.Chain == c {
				n++
			}
		}
		if c.Name != w.name || c.Type != w.typ || *c.Hooknum != w.hook || *c.Priority != w.prio || n != w.rules {
			t.Errorf("chain %d = %s %s hook %d prio %d with %d rules; want %+v", i, c.Name, c.Type, *c.Hooknum, *c.Priority, n, w)
		}
	}
	if len(rs.sets) != 2 || rs.sets[0].set.Name != "vpc-cidrs" || rs.sets[1].set.Name != "snat-exclude" {
		t.Fatalf("sets = %+v", rs.sets)
	}
	// The overlapping exclude CIDRs were merged into one range.
	if got := len(rs.sets[1].elems); got != 3 {
		t.Errorf("exclude set has %d elements, want 3 (leading end, start, end)", got)
	}
}

// findExpr returns the first expression of rule r of the given type.
func findExpr[T expr.Any](r *nftables.Rule) (T, bool) {
	for _, e := range r.Exprs {
		if v, ok := e.(T); ok {
			return v, true
		}
	}
	var zero T
	return zero, false
}

func TestBuildRulesetRandom(t *testing.T) {
	for _, tc := range []struct {
		mode          SNATRandom
		random, fully bool
	}{
		{SNATRandomPRNG, false, true},
		{SNATRandomHash, true, false},
		{SNATRandomNone, false, false},
	} {
		t.Run(string(tc.mode), func(t *testing.T) {
			s := goodSNAT()
			s.Random = tc.mode
			rs, err := buildRuleset(s, "eth0", 0x80)
			if err != nil {
				t.Fatal(err)
			}
			snat := rs.rules[len(rs.rules)-1]
			nat, ok := findExpr[*expr.NAT](snat)
			if !ok {
				t.Fatal("no nat expression in the snat rule")
			}
			wantNAT := &expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1,
				Random: tc.random, FullyRandom: tc.fully}
			if !reflect.DeepEqual(nat, wantNAT) {
				t.Fatalf("nat = %+v, want %+v", nat, wantNAT)
			}
			imm, _ := findExpr[*expr.Immediate](snat)
			if !bytes.Equal(imm.Data, []byte{198, 18, 0, 10}) {
				t.Fatalf("snat to %v, want 198.18.0.10", imm.Data)
			}
		})
	}
}

func TestBuildRulesetExprs(t *testing.T) {
	s := goodSNAT()
	rs, err := buildRuleset(s, "eth0", 0x80)
	if err != nil {
		t.Fatal(err)
	}
	le := binaryutil.NativeEndian.PutUint32
	eth0 := append([]byte("eth0"), make([]byte, 12)...)
	podOutMark := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte("eni")},
		&expr.Ct{Register: 1, Key: expr.CtKeySTATE},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: le(expr.CtStateBitNEW), Xor: make([]byte, 4)},
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: "vpc-cidrs", SetID: 1, Invert: true},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
		&expr.Lookup{SourceRegister: 1, SetName: "snat-exclude", SetID: 2, Invert: true},
		&expr.Ct{Register: 1, Key: expr.CtKeyMARK},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: le(^uint32(0x80)), Xor: le(0x80)},
		&expr.Ct{Register: 1, Key: expr.CtKeyMARK, SourceRegister: true},
	}
	for _, tc := range []struct {
		name string
		rule int
		want []expr.Any
	}{
		{"primary-in marks local traffic from the primary link", 0, []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: eth0},
			&expr.Fib{Register: 1, FlagDADDR: true, FlagIIF: true, ResultADDRTYPE: true},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: le(unix.RTN_LOCAL)},
			&expr.Ct{Register: 1, Key: expr.CtKeyMARK},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: le(^uint32(0x80)), Xor: le(0x80)},
			&expr.Ct{Register: 1, Key: expr.CtKeyMARK, SourceRegister: true},
		}},
		{"pod-out marks new connections beyond the VPC", 1, podOutMark},
		{"pod-out restores the mark", 2, []expr.Any{
			&expr.Meta{Key: expr.MetaKeyIIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte("eni")},
			&expr.Ct{Register: 1, Key: expr.CtKeyMARK},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: le(0x80), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: le(0x80)},
			&expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: le(^uint32(0x80)), Xor: le(0x80)},
			&expr.Meta{Key: expr.MetaKeyMARK, Register: 1, SourceRegister: true},
		}},
		{"snat leaving the primary link", 3, []expr.Any{
			&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: eth0},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: []byte{198, 18, 0, 10}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Lookup{SourceRegister: 1, SetName: "vpc-cidrs", SetID: 1, Invert: true},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Lookup{SourceRegister: 1, SetName: "snat-exclude", SetID: 2, Invert: true},
			&expr.Immediate{Register: 1, Data: []byte{198, 18, 0, 10}},
			&expr.NAT{Type: expr.NATTypeSourceNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: 1, FullyRandom: true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := rs.rules[tc.rule].Exprs
			if len(got) != len(tc.want) {
				t.Fatalf("%d expressions, want %d: %#v", len(got), len(tc.want), got)
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], tc.want[i]) {
					t.Errorf("expression %d = %#v, want %#v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestBuildRulesetMark(t *testing.T) {
	rs, err := buildRuleset(goodSNAT(), "eth0", 0x4000000)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := findExpr[*expr.Bitwise](rs.rules[0])
	if !bytes.Equal(b.Xor, binaryutil.NativeEndian.PutUint32(0x4000000)) {
		t.Fatalf("mark bit = %x, want 0x4000000", b.Xor)
	}
}
