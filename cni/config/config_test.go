package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/cni/pkg/types"
)

func TestParseDefaults(t *testing.T) {
	c, err := Parse(entry(""))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.CNIVersion, want.Name, want.Type = "1.1.0", "vpc-cni", "vpc-cni"
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("got %+v\nwant %+v", c, want)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
}

func TestParseAcceptedKeys(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra string
		check func(Conf) bool
	}{
		{"socket", `"ipamdSocket":"/tmp/x/ipamd.sock"`, func(c Conf) bool { return c.IpamdSocket == "/tmp/x/ipamd.sock" }},
		{"mtu 0", `"mtu":0`, func(c Conf) bool { return c.MTU == 0 }},
		{"mtu min", `"mtu":576`, func(c Conf) bool { return c.MTU == 576 }},
		{"mtu max", `"mtu":9001`, func(c Conf) bool { return c.MTU == 9001 }},
		{"veth prefix", `"vethPrefix":"pod"`, func(c Conf) bool { return c.VethPrefix == "pod" }},
		{"veth prefix 1 byte", `"vethPrefix":"v"`, func(c Conf) bool { return c.VethPrefix == "v" }},
		{"veth prefix 4 bytes", `"vethPrefix":"veth"`, func(c Conf) bool { return c.VethPrefix == "veth" }},
		{"log file", `"pluginLogFile":"/var/log/x.log"`, func(c Conf) bool { return c.LogFile == "/var/log/x.log" }},
		{"no log file", `"pluginLogFile":""`, func(c Conf) bool { return c.LogFile == "" }},
		{"log level", `"pluginLogLevel":"debug"`, func(c Conf) bool { return c.LogLevel == "debug" }},
		{"log level any case", `"pluginLogLevel":"WARN"`, func(c Conf) bool { return c.LogLevel == "warn" }},
		{"log level error", `"pluginLogLevel":"error"`, func(c Conf) bool { return c.LogLevel == "error" }},
		{"log size", `"pluginLogMaxSizeMB":1`, func(c Conf) bool { return c.LogMaxSizeMB == 1 }},
		{"timeout", `"ipamdTimeout":"1m30s"`, func(c Conf) bool { return c.IpamdTimeout == 90*time.Second }},
		{"timeout min", `"ipamdTimeout":"1s"`, func(c Conf) bool { return c.IpamdTimeout == time.Second }},
		{"timeout max", `"ipamdTimeout":"5m"`, func(c Conf) bool { return c.IpamdTimeout == 5*time.Minute }},
		{"dns", `"dns":{"nameservers":["198.18.0.2","2001:db8::53"],"domain":"cluster.local","search":["a.svc"],"options":["ndots:5"]}`,
			func(c Conf) bool {
				return reflect.DeepEqual(c.DNS, types.DNS{Nameservers: []string{"198.18.0.2", "2001:db8::53"},
					Domain: "cluster.local", Search: []string{"a.svc"}, Options: []string{"ndots:5"}})
			}},
		{"empty dns", `"dns":{}`, func(c Conf) bool { return c.DNS.IsEmpty() }},
		{"runtimeConfig", `"runtimeConfig":{"portMappings":[{"hostPort":80}]}`, func(Conf) bool { return true }},
		{"capabilities", `"capabilities":{"portMappings":false}`, func(Conf) bool { return true }},
		{"args", `"args":{"cni":{"x":1}}`, func(Conf) bool { return true }},
		{"version 0.4.0", `"cniVersion":"0.4.0"`, func(c Conf) bool { return c.CNIVersion == "0.4.0" }},
		{"version 1.0.0", `"cniVersion":"1.0.0"`, func(c Conf) bool { return c.CNIVersion == "1.0.0" }},
		{"name chars", `"name":"My_net-1.2"`, func(c Conf) bool { return c.Name == "My_net-1.2" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(entry(tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(c) {
				t.Fatalf("unexpected conf %+v", c)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
		})
	}
}

// entry builds a plugin entry in which extra may override a required key.
func entry(extra string) []byte {
	base := map[string]string{"cniVersion": `"1.1.0"`, "name": `"vpc-cni"`, "type": `"vpc-cni"`}
	for k := range base {
		if strings.HasPrefix(extra, `"`+k+`":`) {
			delete(base, k)
		}
	}
	parts := []string{}
	for _, k := range []string{"cniVersion", "name", "type"} {
		if v, ok := base[k]; ok {
			parts = append(parts, `"`+k+`":`+v)
		}
	}
	if extra != "" {
		parts = append(parts, extra)
	}
	return []byte("{" + strings.Join(parts, ",") + "}")
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stdin string
		key   string   // the KeyError's key
		in    []string // substrings of the message
	}{
		{"mtu string", `"mtu":"9001"`, "mtu", []string{`the string "9001"`, "576..9001"}},
		{"mtu low", `"mtu":575`, "mtu", []string{"575 is out of range"}},
		{"mtu high", `"mtu":9002`, "mtu", []string{"out of range"}},
		{"mtu negative", `"mtu":-1`, "mtu", []string{"out of range"}},
		{"mtu float", `"mtu":1500.5`, "mtu", []string{"not an integer"}},
		{"mtu huge", `"mtu":1e400`, "mtu", []string{"not an integer"}},
		{"mtu null", `"mtu":null`, "mtu", []string{"got null"}},
		{"mtu bool", `"mtu":true`, "mtu", []string{"the boolean true"}},
		{"socket relative", `"ipamdSocket":"run/ipamd.sock"`, "ipamdSocket", []string{"not an absolute path"}},
		{"socket empty", `"ipamdSocket":""`, "ipamdSocket", []string{"not an absolute path"}},
		{"socket too long", `"ipamdSocket":"/` + strings.Repeat("a", 107) + `"`, "ipamdSocket", []string{"108 bytes long"}},
		{"socket number", `"ipamdSocket":7`, "ipamdSocket", []string{"the number 7"}},
		{"socket dir", `"ipamdSocket":"/run/"`, "ipamdSocket", []string{"names a directory"}},
		{"veth empty", `"vethPrefix":""`, "vethPrefix", []string{"0 bytes long", "AWS_VPC_K8S_CNI_VETHPREFIX"}},
		{"veth long", `"vethPrefix":"abcde"`, "vethPrefix", []string{"5 bytes long"}},
		{"veth multibyte", `"vethPrefix":"ééé"`, "vethPrefix", []string{"6 bytes long"}},
		{"veth slash", `"vethPrefix":"a/b"`, "vethPrefix", []string{"character"}},
		{"veth colon", `"vethPrefix":"a:b"`, "vethPrefix", []string{"character"}},
		{"veth percent", `"vethPrefix":"a%d"`, "vethPrefix", []string{"character"}},
		{"veth space", `"vethPrefix":"a b"`, "vethPrefix", []string{"character"}},
		{"veth control", `"vethPrefix":"a\u0001"`, "vethPrefix", []string{"character"}},
		{"veth eth", `"vethPrefix":"eth"`, "vethPrefix", []string{"reserved"}},
		{"veth lo", `"vethPrefix":"lo"`, "vethPrefix", []string{"reserved"}},
		{"veth vlan", `"vethPrefix":"vlan"`, "vethPrefix", []string{"reserved"}},
		{"log file relative", `"pluginLogFile":"plugin.log"`, "pluginLogFile", []string{"not an absolute path"}},
		{"log file stderr", `"pluginLogFile":"stderr"`, "pluginLogFile", []string{"not an absolute path"}},
		{"log file null", `"pluginLogFile":null`, "pluginLogFile", []string{"got null"}},
		{"log level", `"pluginLogLevel":"trace"`, "pluginLogLevel", []string{`"trace" is not a level`, "debug, info, warn or error"}},
		{"log level number", `"pluginLogLevel":1`, "pluginLogLevel", []string{"the number 1"}},
		{"log size 0", `"pluginLogMaxSizeMB":0`, "pluginLogMaxSizeMB", []string{"0 is out of range"}},
		{"log size big", `"pluginLogMaxSizeMB":1025`, "pluginLogMaxSizeMB", []string{"out of range"}},
		{"log size string", `"pluginLogMaxSizeMB":"10"`, "pluginLogMaxSizeMB", []string{`the string "10"`}},
		{"timeout number", `"ipamdTimeout":10`, "ipamdTimeout", []string{"the number 10", `"15s"`}},
		{"timeout bad", `"ipamdTimeout":"10"`, "ipamdTimeout", []string{`"10" is not a duration`}},
		{"timeout short", `"ipamdTimeout":"999ms"`, "ipamdTimeout", []string{"out of range"}},
		{"timeout long", `"ipamdTimeout":"5m1s"`, "ipamdTimeout", []string{"out of range"}},
		{"dns string", `"dns":"198.18.0.2"`, "dns", []string{"the string"}},
		{"dns unknown", `"dns":{"servers":[]}`, "dns", []string{`"servers": unknown key`}},
		{"dns nameserver", `"dns":{"nameservers":["dns.local"]}`, "dns", []string{"not an IP address"}},
		{"dns nameservers type", `"dns":{"nameservers":"198.18.0.2"}`, "dns", []string{`"nameservers": got the string`}},
		{"dns search entry", `"dns":{"search":[1]}`, "dns", []string{`"search": [0]: got the number 1`}},
		{"dns duplicate", `"dns":{"domain":"a","domain":"b"}`, "dns", []string{`"domain" appears more than once`}},
		{"capabilities", `"capabilities":{"portMappings":"yes"}`, "capabilities", []string{`"portMappings": got the string`}},
		{"capabilities list", `"capabilities":[]`, "capabilities", []string{"got a list"}},
		{"runtimeConfig", `"runtimeConfig":"x"`, "runtimeConfig", []string{"got the string"}},
		{"args", `"args":[]`, "args", []string{"got a list"}},
		{"prevResult", `"prevResult":[]`, "prevResult", []string{"got a list"}},
		{"version type", `"cniVersion":1.1`, "cniVersion", []string{"the number 1.1"}},
		{"version missing", `"cniVersion":""`, "cniVersion", []string{"missing"}},
		{"name missing", `"name":""`, "name", []string{"missing"}},
		{"name chars", `"name":"my net"`, "name", []string{"CNI spec"}},
		{"name start", `"name":"-net"`, "name", []string{"CNI spec"}},
		{"type missing", `"type":""`, "type", []string{"missing"}},
		{"type path", `"type":"/opt/cni/bin/vpc-cni"`, "type", []string{"not a file name"}},
		{"type type", `"type":{}`, "type", []string{"an object"}},
		{"unknown", `"foo":1`, "foo", []string{"unknown key", "ipamdSocket", "remove it"}},
		{"unknown case", `"MTU":1500`, "MTU", []string{"case-sensitive", `did you mean "mtu"`}},
		{"unknown veth", `"veth_prefix":"eni"`, "veth_prefix", []string{"unknown key"}},
		{"duplicate", `"mtu":1500,"mtu":9001`, "mtu", []string{"appears more than once"}},
		{"ipam", `"ipam":{"type":"host-local"}`, "ipam", []string{"ipamd", `remove the "ipam" section`}},
		{"ipam empty", `"ipam":{}`, "ipam", []string{`remove the "ipam" section`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(entry(tc.stdin))
			assertKeyError(t, err, ErrInvalid, tc.key, tc.in...)
		})
	}
}

func assertKeyError(t *testing.T, err error, kind error, key string, in ...string) {
	t.Helper()
	if !errors.Is(err, kind) {
		t.Fatalf("error %v does not wrap %v", err, kind)
	}
	for _, other := range []error{ErrInvalid, ErrDecode, ErrVersion, ErrArgs} {
		if other != kind && errors.Is(err, other) {
			t.Errorf("error %v also wraps %v", err, other)
		}
	}
	var ke *KeyError
	if !errors.As(err, &ke) {
		t.Fatalf("error %v is not a *KeyError", err)
	}
	if ke.Key != key {
		t.Errorf("key %q, want %q", ke.Key, key)
	}
	msg := err.Error()
	if !strings.Contains(msg, `"`+key+`"`) {
		t.Errorf("message %q does not name the key %q", msg, key)
	}
	for _, s := range in {
		if !strings.Contains(msg, s) {
			t.Errorf("message %q lacks %q", msg, s)
		}
	}
}

func TestParseRequired(t *testing.T) {
	for _, tc := range []struct{ stdin, key string }{
		{`{"name":"n","type":"vpc-cni"}`, "cniVersion"},
		{`{"cniVersion":"1.1.0","type":"vpc-cni"}`, "name"},
		{`{"cniVersion":"1.1.0","name":"n"}`, "type"},
	} {
		_, err := Parse([]byte(tc.stdin))
		assertKeyError(t, err, ErrInvalid, tc.key, "missing")
	}
}

func TestParseVersion(t *testing.T) {
	for _, v := range []string{"0.3.1", "0.1.0", "1.2.0", "x"} {
		_, err := Parse(entry(`"cniVersion":"` + v + `"`))
		assertKeyError(t, err, ErrVersion, "cniVersion", "not implemented", "0.4.0", "1.1.0")
	}
	if got := SupportedVersions(); !reflect.DeepEqual(got, []string{"0.4.0", "1.0.0", "1.1.0"}) {
		t.Fatalf("SupportedVersions() = %v", got)
	}
}

func TestParseDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, stdin string
		in          []string
	}{
		{"empty", "", []string{"stdin is empty"}},
		{"blank", " \n", []string{"stdin is empty"}},
		{"truncated", `{"cniVersion":"1.1.0",`, []string{"unexpected end", "byte offset"}},
		{"bad char", `{"cniVersion":"1.1.0",x}`, []string{"invalid character 'x'", "byte offset 22"}},
		{"bad value", `{"mtu":01}`, []string{"byte offset"}},
		{"not object", `[1,2]`, []string{"want a JSON object, got a list"}},
		{"string", `"x"`, []string{"got a string"}},
		{"null", `null`, []string{"got null"}},
		{"trailing", `{"name":"a"} {}`, []string{"more data after the JSON object"}},
		{"trailing garbage", `{"name":"a"}x`, []string{"more data"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.stdin))
			if !errors.Is(err, ErrDecode) || errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v: want ErrDecode alone", err)
			}
			for _, s := range tc.in {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("message %q lacks %q", err, s)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	good := Default()
	good.CNIVersion, good.Name, good.Type = "1.0.0", "n", "vpc-cni"
	for _, tc := range []struct {
		key    string
		mutate func(*Conf)
	}{
		{"cniVersion", func(c *Conf) { c.CNIVersion = "" }},
		{"name", func(c *Conf) { c.Name = "" }},
		{"type", func(c *Conf) { c.Type = "a/b" }},
		{"ipamdSocket", func(c *Conf) { c.IpamdSocket = "x" }},
		{"mtu", func(c *Conf) { c.MTU = 100 }},
		{"vethPrefix", func(c *Conf) { c.VethPrefix = "lo" }},
		{"pluginLogFile", func(c *Conf) { c.LogFile = "rel" }},
		{"pluginLogLevel", func(c *Conf) { c.LogLevel = "INFO" }},
		{"pluginLogMaxSizeMB", func(c *Conf) { c.LogMaxSizeMB = 0 }},
		{"ipamdTimeout", func(c *Conf) { c.IpamdTimeout = 0 }},
		{"dns", func(c *Conf) { c.DNS.Nameservers = []string{"x"} }},
		{"cni.dev/valid-attachments", func(c *Conf) { c.ValidAttachments = []Attachment{{ContainerID: "c"}} }},
	} {
		c := good
		tc.mutate(&c)
		assertKeyError(t, c.Validate(), ErrInvalid, tc.key)
	}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	bad := good
	bad.CNIVersion = "0.3.0"
	assertKeyError(t, bad.Validate(), ErrVersion, "cniVersion")
}
