package sim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultConfig(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("default config invalid: %v", err)
	}
	if c.Region != "us-west-2" || !c.Throttle.Enabled || time.Duration(c.Delays.Attach) != 500*time.Millisecond ||
		time.Duration(c.Delays.IMDSLag) != time.Second {
		t.Fatalf("default config: %+v", c)
	}
	s := wireServer(t, c)
	inst, ok := s.World().DefaultInstance()
	if !ok || inst.Type != "m5.large" || inst.PrimaryIP.String() != "198.18.0.10" || inst.AZ != "us-west-2a" {
		t.Fatalf("default instance: %+v", inst)
	}
	st := s.World().Snapshot()
	if len(st.Subnets) != 1 || st.Subnets[0].CIDR.String() != "198.18.0.0/20" || st.VPCs[0].CIDRs[0].String() != "198.18.0.0/16" {
		t.Fatalf("default network: %+v %+v", st.VPCs, st.Subnets)
	}
}

func TestParseConfig(t *testing.T) {
	good := `{
	  "region": "eu-west-1", "accountId": "111122223333", "seed": 3,
	  "delays": {"attach": "1s", "detach": "2s", "imdsLag": "250ms"},
	  "throttle": {"enabled": true, "mutating": {"size": 10, "refillPerSecond": 2}},
	  "latency": {"*": "5ms", "AttachNetworkInterface": "100ms"},
	  "faults": [{"action": "CreateNetworkInterface", "code": "InsufficientFreeAddressesInSubnet", "probability": 0.5},
	             {"action": "AssignPrivateIpAddresses", "after": true, "drop": true, "probability": 0.1, "count": 2}],
	  "vpcs": [{"cidr": "10.0.0.0/16", "subnets": [
	    {"name": "a", "availabilityZone": "eu-west-1a", "cidr": "10.0.0.0/24"},
	    {"availabilityZone": "eu-west-1b", "cidr": "10.0.1.0/24"}]}],
	  "instances": [{"type": "m5.large", "subnet": "a", "primaryIp": "10.0.0.10"},
	                {"type": "t3.medium", "subnet": "10.0.1.0/24"}]
	}`
	c, err := ParseConfig([]byte(good))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	s := wireServer(t, c)
	st := s.World().Snapshot()
	if len(st.Instances) != 2 || len(st.Subnets) != 2 || s.World().Region() != "eu-west-1" {
		t.Fatalf("world: %+v", st)
	}
	if got := s.Knobs().Latency()["AttachNetworkInterface"]; got != 100*time.Millisecond {
		t.Fatalf("latency: %v", got)
	}
	want := Fault{Action: "AssignPrivateIpAddresses", After: true, Drop: true, Probability: 0.1, Count: 2}
	if fs := s.Knobs().Faults(); len(fs) != 2 || fs[1] != want {
		t.Fatalf("faults: %+v", fs)
	}
	if th := s.Knobs().Throttle(); !th.Enabled || th.Mutating.Size != 10 {
		t.Fatalf("throttle: %+v", th)
	}

	bad := []struct{ json, field string }{
		{`{"accountId":"1"}`, "region"},
		{`{"region":"r","accountId":"12"}`, "accountId"},
		{`{"region":"r","delays":{"attach":"soon"}}`, "soon"},
		{`{"region":"r","delays":{"attach":5}}`, "duration"},
		{`{"region":"r","vpcs":[{"cidr":"10.0.0.0"}]}`, "vpcs[0].cidr"},
		{`{"region":"r","vpcs":[{"cidr":"10.0.0.0/16","subnets":[{"cidr":"x"}]}]}`, "vpcs[0].subnets[0].cidr"},
		{`{"region":"r","instances":[{"type":"m5.huge","subnet":"a"}]}`, "instances[0].type"},
		{`{"region":"r","instances":[{"type":"m5.large","subnet":"a"}]}`, "instances[0].subnet"},
		{`{"region":"r","faults":[{"action":"A","code":"C","probability":1.5}]}`, "faults[0].probability"},
		{`{"region":"r","faults":[{"code":"C"}]}`, "faults[0].action"},
		{`{"region":"r","faults":[{"action":"A","probability":1}]}`, "faults[0].code"},
		{`{"region":"r","faults":[{"action":"A","code":"C","drop":true,"probability":1}]}`, "faults[0].drop"},
		{`{"region":"r","faults":[{"action":"A","status":500,"drop":true,"probability":1}]}`, "faults[0].drop"},
		{`{"region":"r","bogus":true}`, "bogus"},
		{`{"region":"r"} {}`, "trailing"},
	}
	for _, b := range bad {
		if _, err := ParseConfig([]byte(b.json)); err == nil || !strings.Contains(err.Error(), b.field) {
			t.Errorf("ParseConfig(%s): %v, want an error naming %q", b.json, err, b.field)
		}
	}
}

func TestLoadConfig(t *testing.T) {
	p := filepath.Join(t.TempDir(), "world.json")
	if err := os.WriteFile(p, []byte(`{"region":"us-east-1","vpcs":[],"instances":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(p)
	if err != nil || c.Region != "us-east-1" {
		t.Fatalf("LoadConfig: %+v %v", c, err)
	}
	if _, err := LoadConfig(filepath.Join(t.TempDir(), "missing.json")); err == nil {
		t.Fatal("LoadConfig of a missing file succeeded")
	}
}
