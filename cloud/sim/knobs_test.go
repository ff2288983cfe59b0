package sim

import (
	"testing"
	"time"
)

func TestKnobsDefaultThrottle(t *testing.T) {
	d := DefaultThrottle()
	if !d.Enabled || d.Mutating != (Bucket{50, 5}) || d.NonMutating != (Bucket{100, 20}) ||
		d.PerAction["AssignPrivateIpAddresses"] != (Bucket{100, 5}) {
		t.Fatalf("DefaultThrottle() = %+v", d)
	}
	for action, want := range map[string]bool{
		"DescribeNetworkInterfaces": true, "DescribeInstanceTypes": true,
		"AttachNetworkInterface": false, "CreateTags": false, "UnassignPrivateIpAddresses": false,
	} {
		if NonMutating(action) != want {
			t.Errorf("NonMutating(%s) = %v", action, !want)
		}
	}
}

func TestKnobsThrottleBurstThenRefill(t *testing.T) {
	clk := newEngClock()
	k := NewKnobs(clk.Now, 1)
	k.SetThrottle(ThrottleConfig{Enabled: true, Mutating: Bucket{Size: 3, RefillPerSecond: 2},
		NonMutating: Bucket{Size: 5, RefillPerSecond: 1},
		PerAction:   map[string]Bucket{"CreateTags": {Size: 1, RefillPerSecond: 0.5}}})
	admit := func(action string) bool {
		_, err := admitErr(k, action)
		if err != nil && (err.Code != CodeRequestLimitExceeded || err.Status != 503 || err.Message != "Request limit exceeded.") {
			t.Fatalf("throttle error %+v", err)
		}
		return err == nil
	}
	steps := []struct {
		advance time.Duration
		action  string
		n       int // calls
		ok      int // how many of them are admitted
	}{
		{0, "AttachNetworkInterface", 5, 3},                      // burst of 3
		{0, "DetachNetworkInterface", 3, 3},                      // its own bucket
		{0, "DescribeSubnets", 6, 5},                             // non-mutating size
		{250 * time.Millisecond, "AttachNetworkInterface", 1, 0}, // half a token
		{250 * time.Millisecond, "AttachNetworkInterface", 2, 1}, // one token
		{10 * time.Second, "AttachNetworkInterface", 4, 3},       // refills to the size, no more
		{0, "CreateTags", 2, 1},                                  // per-action override
		{time.Second, "CreateTags", 1, 0},
		{time.Second, "CreateTags", 1, 1},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		ok := 0
		for range s.n {
			if admit(s.action) {
				ok++
			}
		}
		if ok != s.ok {
			t.Fatalf("step %d (%s): %d of %d admitted, want %d", i, s.action, ok, s.n, s.ok)
		}
	}
	st := k.Stats()
	if st.Calls["AttachNetworkInterface"] != 12 || st.Throttled["AttachNetworkInterface"] != 5 ||
		st.Errors["AttachNetworkInterface"][CodeRequestLimitExceeded] != 5 {
		t.Fatalf("stats %+v", st)
	}
	// Disabled: nothing is throttled; SetThrottle refills.
	k.SetThrottle(ThrottleConfig{})
	for range 100 {
		if !admit("AttachNetworkInterface") {
			t.Fatal("throttled while disabled")
		}
	}
}

func TestKnobsFaults(t *testing.T) {
	tests := []struct {
		name       string
		fault      Fault
		action     string
		calls      int
		wantFired  int
		wantStatus int
		wantMsg    string
	}{
		{"always", Fault{Action: "AssignPrivateIpAddresses", Code: "InsufficientFreeAddressesInSubnet", Probability: 1},
			"AssignPrivateIpAddresses", 10, 10, 400, "Injected fault."},
		{"other action untouched", Fault{Action: "AssignPrivateIpAddresses", Code: "X", Probability: 1},
			"DescribeSubnets", 10, 0, 0, ""},
		{"wildcard with count", Fault{Action: "*", Code: "InternalError", Probability: 1, Count: 3},
			"DescribeSubnets", 10, 3, 500, "An internal error has occurred."},
		{"never", Fault{Action: "*", Code: "X", Probability: 0}, "DescribeSubnets", 10, 0, 0, ""},
		{"throttling status", Fault{Action: "*", Code: "RequestLimitExceeded", Probability: 1, Count: 1},
			"CreateTags", 1, 1, 503, "Request limit exceeded."},
		{"explicit status and message", Fault{Action: "*", Code: "Unavailable", Message: "down", Status: 502, Probability: 1},
			"CreateTags", 1, 1, 502, "down"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := NewKnobs(newEngClock().Now, 1)
			k.AddFault(tc.fault)
			fired := 0
			for range tc.calls {
				_, err := admitErr(k, tc.action)
				if err == nil {
					continue
				}
				fired++
				if err.Code != tc.fault.Code || err.Status != tc.wantStatus || err.Message != tc.wantMsg {
					t.Fatalf("fault error %+v", err)
				}
			}
			if fired != tc.wantFired {
				t.Fatalf("fired %d times, want %d", fired, tc.wantFired)
			}
			if got := k.Stats().Errors[tc.action][tc.fault.Code]; got != int64(fired) {
				t.Fatalf("counted %d errors, want %d", got, fired)
			}
		})
	}
}

func TestKnobsFaultProbability(t *testing.T) {
	// Seeded: the same seed fires on the same calls; about the probability.
	run := func(seed int64) []bool {
		k := NewKnobs(newEngClock().Now, seed)
		k.AddFault(Fault{Action: "*", Code: "InternalError", Probability: 0.3})
		out := make([]bool, 2000)
		for i := range out {
			_, err := admitErr(k, "DescribeSubnets")
			out[i] = err != nil
		}
		return out
	}
	a, b := run(5), run(5)
	fired := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different faults")
		}
		if a[i] {
			fired++
		}
	}
	if fired < 450 || fired > 750 {
		t.Fatalf("fired %d of 2000 at probability 0.3", fired)
	}
	k := NewKnobs(nil, 0)
	k.AddFault(Fault{Action: "*", Code: "X", Probability: 1, Count: 2})
	k.Admit("A")
	if fs := k.Faults(); len(fs) != 1 || fs[0].Count != 1 {
		t.Fatalf("faults left: %+v", fs)
	}
	k.Admit("A")
	if fs := k.Faults(); len(fs) != 0 {
		t.Fatalf("a spent fault is listed: %+v", fs)
	}
	k.AddFault(Fault{Action: "*", Code: "X", Probability: 1})
	k.ClearFaults()
	if _, err := admitErr(k, "A"); err != nil {
		t.Fatalf("fault after ClearFaults: %v", err)
	}
}

func TestKnobsLatencyAndStats(t *testing.T) {
	k := NewKnobs(newEngClock().Now, 1)
	k.SetLatency("*", 10*time.Millisecond)
	k.SetLatency("AttachNetworkInterface", time.Second)
	for _, c := range []struct {
		action string
		want   time.Duration
	}{{"AttachNetworkInterface", time.Second}, {"DescribeSubnets", 10 * time.Millisecond}} {
		if d, err := admitErr(k, c.action); d != c.want || err != nil {
			t.Fatalf("%s: latency %v err %v, want %v", c.action, d, err, c.want)
		}
	}
	k.SetLatency("*", 0)
	if d, _ := k.Admit("DescribeSubnets"); d != 0 {
		t.Fatalf("latency %v after removing it", d)
	}
	k.Record("AttachNetworkInterface", &APIError{Code: CodeAttachmentLimitExceeded})
	k.Record("AttachNetworkInterface", nil)
	st := k.Stats()
	if st.Calls["DescribeSubnets"] != 2 || st.Errors["AttachNetworkInterface"][CodeAttachmentLimitExceeded] != 1 {
		t.Fatalf("stats %+v", st)
	}
	st.Calls["DescribeSubnets"] = 99
	st.Errors["AttachNetworkInterface"]["x"] = 1
	if again := k.Stats(); again.Calls["DescribeSubnets"] != 2 || len(again.Errors["AttachNetworkInterface"]) != 1 {
		t.Fatal("Stats shares memory with its caller")
	}
	k.ResetStats()
	if st := k.Stats(); len(st.Calls) != 0 || len(st.Errors) != 0 || len(st.Throttled) != 0 {
		t.Fatalf("after reset: %+v", st)
	}
}

func TestKnobsConcurrentAdmit(t *testing.T) {
	k := NewKnobs(newEngClock().Now, 1)
	k.SetThrottle(ThrottleConfig{Enabled: true, Mutating: Bucket{Size: 100, RefillPerSecond: 1}})
	done := make(chan int)
	for range 8 {
		go func() {
			ok := 0
			for range 50 {
				if _, err := admitErr(k, "AssignPrivateIpAddresses"); err == nil {
					ok++
				}
			}
			done <- ok
		}()
	}
	admitted := 0
	for range 8 {
		admitted += <-done
	}
	st := k.Stats()
	if admitted != 100 || st.Calls["AssignPrivateIpAddresses"] != 400 || st.Throttled["AssignPrivateIpAddresses"] != 300 {
		t.Fatalf("admitted %d, stats %+v", admitted, st)
	}
}

// admitErr is Admit for the tests that inject only errors.
func admitErr(k *Knobs, action string) (time.Duration, *APIError) {
	d, inj := k.Admit(action)
	if inj == nil {
		return d, nil
	}
	return d, inj.Err
}

func TestKnobsFaultsAfterTheAction(t *testing.T) {
	k := NewKnobs(newEngClock().Now, 1)
	k.AddFault(Fault{Action: "CreateNetworkInterface", Code: CodeInternalError, Probability: 1, Count: 1, After: true})
	k.AddFault(Fault{Action: "AssignPrivateIpAddresses", Drop: true, Probability: 1, Count: 1})
	k.AddFault(Fault{Action: "DeleteNetworkInterface", Drop: true, After: true, Probability: 1})
	steps := []struct {
		name   string
		after  bool // AfterAction, else Admit
		action string
		code   string // the error injected, "" for none
		drop   bool
	}{
		{"an after fault does not fire before", false, "CreateNetworkInterface", "", false},
		{"an after fault fires after", true, "CreateNetworkInterface", CodeInternalError, false},
		{"its count is spent", true, "CreateNetworkInterface", "", false},
		{"a drop before", false, "AssignPrivateIpAddresses", "", true},
		{"a before fault does not fire after", true, "AssignPrivateIpAddresses", "", false},
		{"no drop before", false, "DeleteNetworkInterface", "", false},
		{"a drop after", true, "DeleteNetworkInterface", "", true},
	}
	for _, s := range steps {
		var inj *Injection
		if s.after {
			inj = k.AfterAction(s.action)
		} else {
			_, inj = k.Admit(s.action)
		}
		switch {
		case s.code == "" && !s.drop && inj != nil:
			t.Fatalf("%s: injected %+v", s.name, inj)
		case s.drop && (inj == nil || !inj.Drop || inj.Err != nil):
			t.Fatalf("%s: %+v, want a drop", s.name, inj)
		case s.code != "" && (inj == nil || inj.Drop || inj.Err.Code != s.code || inj.Err.Status != 500):
			t.Fatalf("%s: %+v, want %s", s.name, inj, s.code)
		}
	}
	st := k.Stats()
	if st.Errors["CreateNetworkInterface"][CodeInternalError] != 1 || st.Errors["AssignPrivateIpAddresses"][StatDropped] != 1 ||
		st.Errors["DeleteNetworkInterface"][StatDropped] != 1 {
		t.Fatalf("stats %+v", st.Errors)
	}
}
