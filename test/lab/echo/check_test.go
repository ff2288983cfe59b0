package echo

import (
	"context"
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
)

var (
	podA = netip.MustParseAddr("198.18.0.21")
	podB = netip.MustParseAddr("198.18.0.37")
	node = netip.MustParseAddr("198.18.0.11")
)

func TestCheckPassAndProblem(t *testing.T) {
	probeErr := errors.New("echo tcp to 198.18.0.37:7 from netns /x: no reply")
	for _, tc := range []struct {
		name    string
		c       Check
		pass    bool
		problem string
	}{
		{"seen as wanted", Check{WantSeen: podA, Got: Reply{Seen: podA}}, true, ""},
		{"nat where none", Check{To: "p2", WantSeen: podA, Got: Reply{Seen: node}}, false, "p2 saw 198.18.0.11, want 198.18.0.21"},
		{"unlabelled receiver", Check{Target: netip.AddrPortFrom(podB, 7), WantSeen: node, Got: Reply{Seen: podA}}, false, "198.18.0.37 saw 198.18.0.21, want 198.18.0.11"},
		{"probe error", Check{WantSeen: podA, Got: Reply{Seen: podA}, Err: probeErr}, false, probeErr.Error()},
		{"nothing wanted nothing seen", Check{Err: probeErr}, false, probeErr.Error()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Pass(); got != tc.pass {
				t.Errorf("Pass() = %v, want %v", got, tc.pass)
			}
			err := tc.c.Problem()
			if tc.problem == "" {
				if err != nil {
					t.Errorf("Problem() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.problem) {
				t.Errorf("Problem() = %v, want it to contain %q", err, tc.problem)
			}
			if tc.c.Err == nil && !errors.Is(err, ErrWrongSource) {
				t.Errorf("Problem() = %v, want ErrWrongSource", err)
			}
		})
	}
}

// fakeNet answers probes as a tiny network would: each target's server
// sees the source the table gives for (from netns, target).
type fakeNet struct {
	seen  map[string]netip.Addr // key: fromNS + " " + target
	calls atomic.Int32
}

func (f *fakeNet) probe(_ context.Context, ns string, target netip.AddrPort, proto string) (Reply, error) {
	f.calls.Add(1)
	s, ok := f.seen[ns+" "+target.String()]
	if !ok {
		return Reply{}, ErrNoReply
	}
	return Reply{Seen: s, Me: target.Addr(), Host: proto}, nil
}

func TestRunAll(t *testing.T) {
	toB := netip.AddrPortFrom(podB, 7)
	inet := netip.MustParseAddrPort("203.0.113.10:7")
	f := &fakeNet{seen: map[string]netip.Addr{
		"/run/netns/a " + toB.String():  podA, // no NAT: passes
		"/run/netns/a " + inet.String(): podA, // not SNATed: fails
	}}
	cs := []Check{
		{Name: "pod→pod", From: "a", To: "b", FromNS: "/run/netns/a", Target: toB, Proto: "tcp", WantSeen: podA},
		{Name: "pod→internet", From: "a", To: "inet", FromNS: "/run/netns/a", Target: inet, Proto: "udp", WantSeen: node},
		{Name: "node→pod", From: "node1", To: "b", FromNS: "/run/netns/n1", Target: toB, Proto: "tcp", WantSeen: node},
	}
	if failed := RunAll(context.Background(), cs, 2, f.probe); failed != 2 {
		t.Errorf("RunAll failed = %d, want 2", failed)
	}
	if n := f.calls.Load(); n != 3 {
		t.Errorf("probes = %d, want 3", n)
	}
	if !cs[0].Pass() || cs[0].Got.Host != "tcp" || cs[0].Got.Me != podB {
		t.Errorf("check 0 = %+v, want a pass with the fake's reply", cs[0])
	}
	if cs[1].Pass() || !errors.Is(cs[1].Problem(), ErrWrongSource) {
		t.Errorf("check 1 problem = %v, want ErrWrongSource", cs[1].Problem())
	}
	if cs[2].Pass() || !errors.Is(cs[2].Err, ErrNoReply) {
		t.Errorf("check 2 err = %v, want ErrNoReply", cs[2].Err)
	}
	if s := cs[1].String(); !strings.Contains(s, "pod→internet: a -> inet (udp 203.0.113.10:7): FAIL") {
		t.Errorf("String() = %q", s)
	}
	if s := cs[0].String(); !strings.HasSuffix(s, ": PASS") {
		t.Errorf("String() = %q, want a PASS", s)
	}
}

func TestCheckJSONRoundTrip(t *testing.T) {
	in := []Check{
		{Name: "n", From: "a", To: "b", FromNS: "/run/netns/a", Target: netip.AddrPortFrom(podB, 7), Proto: "udp",
			WantSeen: podA, Got: Reply{Seen: podA, Me: podB, Host: "b"}},
		{Name: "e", Proto: "tcp", WantSeen: node, Err: errors.New("echo tcp: refused")},
	}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"error":"echo tcp: refused"`) || strings.Count(string(b), `"error"`) != 1 {
		t.Errorf("JSON %s: want the error as text, once", b)
	}
	var out []Check
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0] != in[0] {
		t.Fatalf("round trip = %+v, want %+v", out, in)
	}
	if out[1].Err == nil || out[1].Err.Error() != in[1].Err.Error() || out[1].WantSeen != node {
		t.Errorf("round trip of a failed check = %+v", out[1])
	}
}
