package datastore

import (
	"errors"
	"net/netip"
	"reflect"
	"testing"
	"time"
)

func TestAddENI(t *testing.T) {
	base := testENI("eni-base", 0, "198.18.1.0/28", "198.18.2.7/32")
	tests := []struct {
		name string
		eni  ENI
		want error
	}{
		{"ok", testENI("eni-1", 1, "198.18.3.0/28", "198.18.3.16/32"), nil},
		{"no blocks", testENI("eni-1", 1), nil},
		{"known id", testENI("eni-base", 1), ErrExists},
		{"device index taken", testENI("eni-1", 0), ErrExists},
		{"empty id", testENI("", 1), ErrInvalid},
		{"no subnet", func() ENI { e := testENI("eni-1", 1); e.SubnetCIDR = netip.Prefix{}; return e }(), ErrInvalid},
		{"unmasked subnet", func() ENI {
			e := testENI("eni-1", 1)
			e.SubnetCIDR = netip.MustParsePrefix("198.18.0.1/20")
			return e
		}(), ErrInvalid},
		{"block outside subnet", testENI("eni-1", 1, "198.19.0.0/28"), ErrInvalid},
		{"block wider than subnet", func() ENI {
			e := testENI("eni-1", 1, "198.18.0.0/28")
			e.SubnetCIDR = netip.MustParsePrefix("198.18.0.0/29")
			return e
		}(), ErrInvalid},
		{"a /24 block", testENI("eni-1", 1, "198.18.4.0/24"), ErrInvalid},
		{"host bits set", testENI("eni-1", 1, "198.18.4.1/28"), ErrInvalid},
		{"IPv6 block", testENI("eni-1", 1, "2001:db8::/124"), ErrInvalid},
		{"primary address as a block", testENI("eni-1", 1, "198.18.15.17/32"), ErrInvalid},
		{"own primary address inside a /28", testENI("eni-1", 1, "198.18.15.16/28"), nil},
		{"another ENI's primary address as a block", testENI("eni-1", 1, "198.18.15.1/32"), ErrExists},
		{"another ENI's primary address inside a /28", testENI("eni-1", 1, "198.18.15.0/28"), ErrExists},
		{"primary address inside another ENI's block", func() ENI {
			e := testENI("eni-1", 1)
			e.PrimaryIP = ip("198.18.1.3")
			return e
		}(), ErrExists},
		{"primary address of another ENI", func() ENI {
			e := testENI("eni-1", 1)
			e.PrimaryIP = ip("198.18.15.1")
			return e
		}(), ErrExists},
		{"same /28 as another ENI", testENI("eni-1", 1, "198.18.1.0/28"), ErrExists},
		{"/32 inside another ENI's /28", testENI("eni-1", 1, "198.18.1.5/32"), ErrExists},
		{"/28 over another ENI's /32", testENI("eni-1", 1, "198.18.2.0/28"), ErrExists},
		{"overlap within the call", testENI("eni-1", 1, "198.18.5.0/28", "198.18.5.3/32"), ErrExists},
		{"duplicate within the call", testENI("eni-1", 1, "198.18.5.9/32", "198.18.5.9/32"), ErrExists},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{})
			mustAddENI(t, s, base)
			before := snap(s)
			err := s.AddENI(tt.eni)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("AddENI = %v, want %v", err, tt.want)
			}
			if err != nil {
				sameSnapshot(t, "after a failed AddENI", snap(s), before)
				// Nothing of it stayed: the ENI's valid blocks can be added elsewhere.
				mustAddENI(t, s, testENI("eni-other", 5, "198.18.5.0/28", "198.18.3.0/28"))
				return
			}
			got := s.ENIs()
			if len(got) != 2 || !reflect.DeepEqual(got[1], tt.eni) {
				t.Errorf("ENIs = %+v, want base then %+v", got, tt.eni)
			}
		})
	}
}

func TestENIOrderAndRouteTable(t *testing.T) {
	s := New(Options{})
	e2 := testENI("eni-c", 2)
	e2b := testENI("eni-b", 1)
	e2b.NetworkCard = 1
	mustAddENI(t, s, e2b)
	mustAddENI(t, s, e2)
	mustAddENI(t, s, testENI("eni-a", 0))
	var ids []string
	for _, e := range s.ENIs() {
		ids = append(ids, e.ID)
	}
	if want := []string{"eni-a", "eni-c", "eni-b"}; !reflect.DeepEqual(ids, want) {
		t.Errorf("ENIs order = %v, want %v", ids, want)
	}
	if got := testENI("x", 0).RouteTable(); got != MainRouteTable {
		t.Errorf("primary route table = %d", got)
	}
	if got := testENI("x", 2).RouteTable(); got != 3 {
		t.Errorf("device 2 route table = %d, want 3", got)
	}
}

func TestAddBlocks(t *testing.T) {
	tests := []struct {
		name   string
		eni    string
		blocks []string
		want   error
	}{
		{"ok", "eni-1", []string{"198.18.3.0/28", "198.18.4.4/32"}, nil},
		{"none", "eni-1", nil, nil},
		{"unknown ENI", "eni-9", []string{"198.18.3.0/28"}, ErrNotFound},
		{"overlap on the same ENI", "eni-1", []string{"198.18.1.0/28"}, ErrExists},
		{"overlap with another ENI", "eni-1", []string{"198.18.2.0/28"}, ErrExists},
		{"invalid", "eni-1", []string{"198.18.3.0/28", "198.18.4.0/27"}, ErrInvalid},
		{"outside the subnet", "eni-1", []string{"203.0.113.0/28"}, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{})
			mustAddENI(t, s, testENI("eni-0", 0, "198.18.2.3/32"))
			mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.0/28"))
			before := snap(s)
			err := s.AddBlocks(tt.eni, pfx(tt.blocks...))
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("AddBlocks = %v, want %v", err, tt.want)
			}
			if err != nil {
				sameSnapshot(t, "after a failed AddBlocks", snap(s), before)
				return
			}
			want := append(pfx("198.18.1.0/28"), pfx(tt.blocks...)...)
			if got := s.ENIs()[1].Blocks; !reflect.DeepEqual(got, want) {
				t.Errorf("blocks = %v, want %v", got, want)
			}
		})
	}
}

func TestRemoveBlocksAndENI(t *testing.T) {
	type op func(s *Store) error
	removeBlocks := func(eni string, bs ...string) op {
		return func(s *Store) error { return s.RemoveBlocks(eni, pfx(bs...)) }
	}
	removeENI := func(id string) op { return func(s *Store) error { return s.RemoveENI(id) } }
	tests := []struct {
		name      string
		op        op
		want      error
		wantBlock []netip.Prefix // eni-1's blocks afterwards, on success
	}{
		{"idle blocks", removeBlocks("eni-1", "198.18.4.0/28", "198.18.3.9/32"), nil, pfx("198.18.1.0/28", "198.18.3.8/32")},
		{"the same block twice", removeBlocks("eni-1", "198.18.4.0/28", "198.18.4.0/28"), nil, pfx("198.18.1.0/28", "198.18.3.8/32", "198.18.3.9/32")},
		{"no blocks", removeBlocks("eni-1"), nil, pfx("198.18.1.0/28", "198.18.3.8/32", "198.18.3.9/32", "198.18.4.0/28")},
		{"unknown ENI", removeBlocks("eni-9", "198.18.4.0/28"), ErrNotFound, nil},
		{"unknown block", removeBlocks("eni-1", "198.18.4.0/28", "198.18.6.0/28"), ErrNotFound, nil},
		{"a /32 inside a block", removeBlocks("eni-1", "198.18.4.1/32"), ErrNotFound, nil},
		{"another ENI's block", removeBlocks("eni-1", "198.18.2.0/28"), ErrNotFound, nil},
		{"assigned block", removeBlocks("eni-1", "198.18.4.0/28", "198.18.1.0/28"), ErrInUse, nil},
		{"cooling block", removeBlocks("eni-1", "198.18.3.9/32", "198.18.3.8/32"), ErrInUse, nil},
		{"idle ENI", removeENI("eni-2"), nil, nil},
		{"ENI in use", removeENI("eni-1"), ErrInUse, nil},
		{"unknown ENI id", removeENI("eni-9"), ErrNotFound, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			s := New(Options{Cooldown: time.Minute, Now: clk.Now})
			mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.0/28", "198.18.3.8/32", "198.18.3.9/32", "198.18.4.0/28"))
			mustAddENI(t, s, testENI("eni-2", 2, "198.18.2.0/28"))
			for i := range 17 { // the /28 full, then .3.8
				mustAssign(t, s, key(i))
			}
			mustRelease(t, s, key(16)) // .3.8 cools down
			before := snap(s)
			err := tt.op(s)
			if !errors.Is(err, tt.want) || (err == nil) != (tt.want == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil {
				sameSnapshot(t, "after a failed removal", snap(s), before)
				return
			}
			checkConsistent(t, s)
			if tt.wantBlock != nil {
				if got := s.ENIs()[0].Blocks; !reflect.DeepEqual(got, tt.wantBlock) {
					t.Errorf("blocks = %v, want %v", got, tt.wantBlock)
				}
			}
		})
	}
}

func TestRemoveAfterCooldown(t *testing.T) {
	clk := newClock()
	s := New(Options{Cooldown: time.Minute, Now: clk.Now})
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.0/28"))
	mustAssign(t, s, key(1))
	mustRelease(t, s, key(1))
	if err := s.RemoveENI("eni-1"); !errors.Is(err, ErrInUse) {
		t.Fatalf("RemoveENI while cooling = %v, want ErrInUse", err)
	}
	if got := s.FreeBlocks("eni-1"); got != nil {
		t.Errorf("FreeBlocks while cooling = %v", got)
	}
	clk.Advance(time.Minute)
	if got := s.FreeBlocks("eni-1"); !reflect.DeepEqual(got, pfx("198.18.1.0/28")) {
		t.Errorf("FreeBlocks after cooldown = %v", got)
	}
	if err := s.RemoveENI("eni-1"); err != nil {
		t.Fatalf("RemoveENI after cooldown: %v", err)
	}
	if len(s.ENIs()) != 0 {
		t.Errorf("ENIs = %v", s.ENIs())
	}
	// Its block can come back, on another ENI.
	mustAddENI(t, s, testENI("eni-2", 2, "198.18.1.0/28"))
}

func TestDrop(t *testing.T) {
	clk := newClock()
	s := New(Options{Cooldown: time.Minute, Now: clk.Now})
	mustAddENI(t, s, testENI("eni-1", 1, "198.18.1.0/28", "198.18.3.8/32"))
	mustAddENI(t, s, testENI("eni-2", 2, "198.18.2.0/28"))
	for i := range 18 { // eni-1's 17, then one of eni-2
		mustAssign(t, s, key(i))
	}
	mustRelease(t, s, key(0)) // 198.18.1.0 cools down

	if _, err := s.DropBlocks("eni-1", pfx("198.18.9.0/28")); !errors.Is(err, ErrNotFound) {
		t.Errorf("DropBlocks(unknown) = %v, want ErrNotFound", err)
	}
	dropped, err := s.DropBlocks("eni-1", pfx("198.18.1.0/28"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dropped) != 15 || dropped[0].IP != ip("198.18.1.1") || dropped[14].IP != ip("198.18.1.15") {
		t.Errorf("DropBlocks dropped %d allocations: %v", len(dropped), dropped)
	}
	if _, ok := s.Get(key(1)); ok {
		t.Error("a dropped allocation is still there")
	}
	checkConsistent(t, s)

	dropped, err = s.DropENI("eni-1")
	if err != nil || len(dropped) != 1 || dropped[0].IP != ip("198.18.3.8") {
		t.Fatalf("DropENI = %v, %v", dropped, err)
	}
	if _, err := s.DropENI("eni-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("DropENI twice = %v, want ErrNotFound", err)
	}
	if st := s.Stats(); st.Assigned != 1 || st.Total != 16 || len(st.ENIs) != 1 {
		t.Errorf("Stats after drops = %+v", st)
	}
	// The dropped block is gone with its cooldown: it may come back at once.
	if err := s.AddBlocks("eni-2", pfx("198.18.1.0/28")); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Cooling != 0 || st.Total != 32 {
		t.Errorf("Stats after re-adding = %+v", st)
	}
	checkConsistent(t, s)
}
