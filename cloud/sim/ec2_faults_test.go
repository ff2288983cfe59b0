package sim

import (
	"io"
	"net/http"
	"net/url"
	"testing"
)

// TestEC2FaultBeforeOrAfterTheAction checks a fault fires before the
// action by default (nothing changes) and, with After, only once the action
// has succeeded (the change stays made, the client sees the error).
func TestEC2FaultBeforeOrAfterTheAction(t *testing.T) {
	s := wireServer(t, wireConfig(nil))
	h := s.EC2Handler()
	inst := wireDefaults(t, h)
	enis := func() int { return len(s.World().Snapshot().ENIs) }

	s.Knobs().AddFault(Fault{Action: "CreateNetworkInterface", Code: CodeInternalError, Probability: 1, Count: 1})
	wireFail(t, h, 500, CodeInternalError, "CreateNetworkInterface", "SubnetId", inst.SubnetID)
	if n := enis(); n != 1 {
		t.Fatalf("a fault before the action created an ENI: %d ENIs", n)
	}

	s.Knobs().AddFault(Fault{Action: "CreateNetworkInterface", Code: CodeInternalError, Probability: 1, Count: 1, After: true})
	wireFail(t, h, 500, CodeInternalError, "CreateNetworkInterface", "SubnetId", inst.SubnetID)
	if n := enis(); n != 2 {
		t.Fatalf("a fault after the action: %d ENIs, want the leaked one too", n)
	}
	wireOK(t, h, nil, "CreateNetworkInterface", "SubnetId", inst.SubnetID)

	// An action that fails answers its own error and leaves the fault.
	s.Knobs().AddFault(Fault{Action: "DeleteNetworkInterface", Code: CodeInternalError, Probability: 1, Count: 1, After: true})
	wireFail(t, h, 400, CodeENINotFound, "DeleteNetworkInterface", "NetworkInterfaceId", "eni-0123456789abcdef0")
	if fs := s.Knobs().Faults(); len(fs) != 1 || !fs[0].After {
		t.Fatalf("faults left: %+v", fs)
	}
	st := s.Knobs().Stats()
	if st.Errors["CreateNetworkInterface"][CodeInternalError] != 2 || st.Errors["DeleteNetworkInterface"][CodeENINotFound] != 1 {
		t.Fatalf("stats %+v", st.Errors)
	}
}

// TestEC2FaultDropsTheConnection checks a drop fault closes the connection
// without an answer, before the action (nothing changes) or after it (the
// addresses are assigned all the same).
func TestEC2FaultDropsTheConnection(t *testing.T) {
	s := wireServer(t, wireConfig(nil))
	if err := s.Start("127.0.0.1:0", "127.0.0.1:0"); err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Close()
	inst, _ := s.World().DefaultInstance()
	assign := url.Values{"Action": {"AssignPrivateIpAddresses"}, "Version": {"2016-11-15"},
		"NetworkInterfaceId": {inst.PrimaryENIID}, "SecondaryPrivateIpAddressCount": {"2"}}
	secondaries := func() int { return len(s.World().Snapshot().ENIs[0].SecondaryIPs) }
	post := func() error {
		resp, err := http.PostForm(s.EC2URL(), assign)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		return nil
	}

	s.Knobs().AddFault(Fault{Action: "AssignPrivateIpAddresses", Drop: true, Probability: 1, Count: 1})
	if err := post(); err == nil {
		t.Fatal("a dropped request got an answer")
	}
	if n := secondaries(); n != 0 {
		t.Fatalf("a drop before the action assigned %d addresses", n)
	}
	s.Knobs().AddFault(Fault{Action: "AssignPrivateIpAddresses", Drop: true, After: true, Probability: 1, Count: 1})
	if err := post(); err == nil {
		t.Fatal("a dropped request got an answer")
	}
	if n := secondaries(); n != 2 {
		t.Fatalf("a drop after the action: %d addresses assigned, want 2", n)
	}
	if err := post(); err != nil {
		t.Fatalf("after the faults are spent: %v", err)
	}
	if got := s.Knobs().Stats().Errors["AssignPrivateIpAddresses"][StatDropped]; got != 2 {
		t.Fatalf("counted %d drops, want 2", got)
	}
}
