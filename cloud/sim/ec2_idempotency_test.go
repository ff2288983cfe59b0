package sim

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestEC2ClientTokenIdempotency checks CreateNetworkInterface with a
// ClientToken acts once: a repeat with the same parameters answers the
// first ENI, one with other parameters is IdempotentParameterMismatch.
func TestEC2ClientTokenIdempotency(t *testing.T) {
	clock := newWireClock()
	s := wireServer(t, wireConfig(clock))
	h := s.EC2Handler()
	inst := wireDefaults(t, h)
	enis := func() int { return len(s.World().Snapshot().ENIs) }
	create := func(token string, params ...string) wCreateENI {
		t.Helper()
		var out wCreateENI
		params = append([]string{"SubnetId", inst.SubnetID, "ClientToken", token}, params...)
		wireOK(t, h, &out, "CreateNetworkInterface", params...)
		return out
	}

	first := create("tok-1", "Description", "one", "SecondaryPrivateIpAddressCount", "1")
	again := create("tok-1", "SecondaryPrivateIpAddressCount", "1", "Description", "one")
	if again.ENI.ID != first.ENI.ID || len(again.ENI.IPs) != 2 || again.ENI.IPs[0].IP != first.ENI.IPs[0].IP || enis() != 2 {
		t.Fatalf("repeat: %+v, first %+v, %d ENIs", again.ENI, first.ENI, enis())
	}
	wireFail(t, h, 400, "IdempotentParameterMismatch", "CreateNetworkInterface", "SubnetId", inst.SubnetID,
		"ClientToken", "tok-1", "Description", "two", "SecondaryPrivateIpAddressCount", "1")
	wireFail(t, h, 400, "IdempotentParameterMismatch", "CreateNetworkInterface", "SubnetId", inst.SubnetID,
		"ClientToken", "tok-1", "Description", "one")
	if create("TOK-1").ENI.ID == first.ENI.ID || enis() != 3 {
		t.Fatal("tokens are case-sensitive: another token must create another ENI")
	}

	// The answer to a repeat shows the ENI as it is now.
	wireOK(t, h, nil, "AttachNetworkInterface", "NetworkInterfaceId", first.ENI.ID, "InstanceId", inst.ID, "DeviceIndex", "1")
	if again := create("tok-1", "Description", "one", "SecondaryPrivateIpAddressCount", "1"); again.ENI.Status != "in-use" {
		t.Fatalf("repeat after attach: status %q", again.ENI.Status)
	}

	// A failure is not remembered: the token stays free.
	wireFail(t, h, 400, CodeGroupNotFound, "CreateNetworkInterface", "SubnetId", inst.SubnetID,
		"ClientToken", "tok-2", "SecurityGroupId.1", "sg-0123456789abcdef0")
	create("tok-2")

	// Without a token every call creates.
	before := enis()
	wireOK(t, h, nil, "CreateNetworkInterface", "SubnetId", inst.SubnetID)
	wireOK(t, h, nil, "CreateNetworkInterface", "SubnetId", inst.SubnetID)
	if enis() != before+2 {
		t.Fatalf("without a token: %d ENIs, want %d", enis(), before+2)
	}

	// A token is good for a day of the clock, then forgotten.
	clock.Advance(clientTokenTTL)
	if create("tok-1", "Description", "one", "SecondaryPrivateIpAddressCount", "1").ENI.ID == first.ENI.ID {
		t.Fatal("an expired token still answered the first ENI")
	}
	wireFail(t, h, 400, "InvalidParameterValue", "CreateNetworkInterface", "SubnetId", inst.SubnetID,
		"ClientToken", strings.Repeat("x", 65))
}

// TestClientTokensAreBounded checks the remembered tokens never exceed
// their bound: the oldest is forgotten first.
func TestClientTokensAreBounded(t *testing.T) {
	clock := newWireClock()
	c := newClientTokens(clock.Now)
	runs := 0
	act := func() (any, error) { runs++; return runs, nil }
	for i := range clientTokenMax + 1 {
		if _, err := c.once("t"+strconv.Itoa(i), "same", act); err != nil {
			t.Fatal(err)
		}
		clock.Advance(time.Second)
	}
	if n := c.len(); n != clientTokenMax {
		t.Fatalf("remembers %d tokens, want %d", n, clientTokenMax)
	}
	if got, _ := c.once("t1", "same", act); got != 2 {
		t.Fatalf("the second token answered %v, want its first result 2", got)
	}
	if got, _ := c.once("t0", "same", act); got != clientTokenMax+2 {
		t.Fatalf("the oldest token answered %v, want a new run", got)
	}
	if _, err := c.once("t2", "other", act); err == nil || !strings.Contains(err.Error(), "IdempotentParameterMismatch") {
		t.Fatalf("other parameters: %v", err)
	}
}
