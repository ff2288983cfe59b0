package config

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"
)

// A result as ADD returns it, in the shapes of each spec version: the host
// veth, the pod's eth0, one IPv6 address before the IPv4 one.
const (
	ifaces    = `"interfaces":[{"name":"eni0123456789a","mac":"02:00:00:00:00:01"},{"name":"eth0","mac":"02:00:00:00:00:02","sandbox":"/var/run/netns/p1"}]`
	routes    = `"routes":[{"dst":"0.0.0.0/0","gw":"169.254.1.1"}]`
	result040 = `{"cniVersion":"0.4.0",` + ifaces + `,"ips":[{"version":"6","address":"2001:db8::5/128","interface":1},` +
		`{"version":"4","address":"198.18.0.5/32","interface":1}],` + routes + `,"dns":{"nameservers":["198.18.0.2"]}}`
	result100 = `{"cniVersion":"1.0.0",` + ifaces + `,"ips":[{"address":"2001:db8::5/128","interface":1},` +
		`{"address":"198.18.0.5/32","interface":1}],` + routes + `,"dns":{"nameservers":["198.18.0.2"]}}`
	result110 = `{"cniVersion":"1.1.0",` + ifaces + `,"ips":[{"address":"2001:db8::5/128","interface":1},` +
		`{"address":"198.18.0.5/32","interface":1}],` + routes + `,"dns":{"nameservers":["198.18.0.2"]}}`
)

func TestPrevResultConverted(t *testing.T) {
	for _, tc := range []struct{ name, confVersion, prev string }{
		{"0.4.0", "0.4.0", result040},
		{"1.0.0", "1.0.0", result100},
		{"1.1.0", "1.1.0", result110},
		{"0.4.0 under a 1.1.0 conf", "1.1.0", result040},
		{"no cniVersion: the conf's", "0.4.0", strings.Replace(result040, `"cniVersion":"0.4.0",`, "", 1)},
		{"empty cniVersion: the conf's", "1.0.0", strings.Replace(result100, `"cniVersion":"1.0.0"`, `"cniVersion":""`, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(entry(`"cniVersion":"` + tc.confVersion + `","prevResult":` + tc.prev))
			if err != nil {
				t.Fatal(err)
			}
			r := c.PrevResult
			if r == nil || r.CNIVersion != "1.1.0" {
				t.Fatalf("prevResult %+v, want one of version 1.1.0", r)
			}
			if len(r.Interfaces) != 2 || len(r.IPs) != 2 || len(r.Routes) != 1 ||
				!reflect.DeepEqual(r.DNS.Nameservers, []string{"198.18.0.2"}) {
				t.Fatalf("prevResult not converted whole: %+v", r)
			}
			if ip, ok := c.PrevIP(); !ok || ip != netip.MustParseAddr("198.18.0.5") {
				t.Errorf("PrevIP() = %v, %v", ip, ok)
			}
			if n, ok := c.PrevHostIfName(); !ok || n != "eni0123456789a" {
				t.Errorf("PrevHostIfName() = %q, %v", n, ok)
			}
			if n, ok := c.PrevPodIfName(); !ok || n != "eth0" {
				t.Errorf("PrevPodIfName() = %q, %v", n, ok)
			}
		})
	}
}

func TestPrevResult020(t *testing.T) {
	c, err := Parse(entry(`"cniVersion":"0.4.0","prevResult":{"cniVersion":"0.2.0","ip4":{"ip":"198.18.0.9/32"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if ip, ok := c.PrevIP(); !ok || ip != netip.MustParseAddr("198.18.0.9") {
		t.Fatalf("PrevIP() = %v, %v", ip, ok)
	}
	if _, ok := c.PrevHostIfName(); ok {
		t.Fatal("a 0.2.0 result has no interfaces")
	}
}

func TestPrevAccessorsNilSafe(t *testing.T) {
	var c Conf
	if _, ok := c.PrevIP(); ok {
		t.Error("PrevIP without prevResult")
	}
	if _, ok := c.PrevHostIfName(); ok {
		t.Error("PrevHostIfName without prevResult")
	}
	if _, ok := c.PrevPodIfName(); ok {
		t.Error("PrevPodIfName without prevResult")
	}
	c, err := Parse(entry(`"prevResult":{"cniVersion":"1.1.0","ips":[{"address":"2001:db8::1/128"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.PrevIP(); ok {
		t.Error("PrevIP found an IPv4 in a result with only IPv6")
	}
}

func TestPrevResultInvalid(t *testing.T) {
	for _, tc := range []struct{ name, prev, in string }{
		{"unknown version", `{"cniVersion":"9.9.9"}`, "9.9.9"},
		{"version type", `{"cniVersion":1}`, `"cniVersion": got the number 1`},
		{"null ip", `{"cniVersion":"1.1.0","ips":[null]}`, `"ips"[0]: got null`},
		{"null interface 0.4.0", `{"cniVersion":"0.4.0","interfaces":[null]}`, `"interfaces"[0]: got null`},
		{"null route", `{"cniVersion":"0.4.0","routes":[null]}`, `"routes"[0]: got null`},
		{"ips not a list", `{"cniVersion":"1.1.0","ips":{}}`, `"ips": got an object`},
		{"no address", `{"cniVersion":"1.1.0","ips":[{"interface":0}],"interfaces":[{"name":"a"}]}`, "has no address"},
		{"bad address", `{"cniVersion":"1.1.0","ips":[{"address":"x"}]}`, "x"},
		{"index out of range", `{"cniVersion":"1.1.0","ips":[{"address":"198.18.0.5/32","interface":1}],"interfaces":[{"name":"a"}]}`,
			"interface 1 is not"},
		{"negative index", `{"cniVersion":"1.1.0","ips":[{"address":"198.18.0.5/32","interface":-1}]}`, "interface -1 is not"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(entry(`"prevResult":` + tc.prev))
			assertKeyError(t, err, ErrInvalid, "prevResult", tc.in)
		})
	}
}

func TestValidAttachments(t *testing.T) {
	for _, tc := range []struct {
		name  string
		extra string
		has   bool
		want  []Attachment
	}{
		{"absent", ``, false, nil},
		{"list", `"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"},{"ifname":"eth1","containerID":"c2"}]`,
			true, []Attachment{{"c1", "eth0"}, {"c2", "eth1"}}},
		{"empty", `"cni.dev/valid-attachments":[]`, true, []Attachment{}},
		{"null from libcni", `"cni.dev/valid-attachments":null,"cni.dev/attachments":null`, true, []Attachment{}},
		{"the spec's first name", `"cni.dev/attachments":[{"containerID":"c1","ifname":"eth0"}]`,
			true, []Attachment{{"c1", "eth0"}}},
		{"both: valid-attachments wins", `"cni.dev/attachments":[],"cni.dev/valid-attachments":[{"containerID":"c1","ifname":"eth0"}]`,
			true, []Attachment{{"c1", "eth0"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(entry(tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			if c.HasValidAttachments != tc.has || !reflect.DeepEqual(c.ValidAttachments, tc.want) {
				t.Fatalf("got %v %#v, want %v %#v", c.HasValidAttachments, c.ValidAttachments, tc.has, tc.want)
			}
		})
	}
}

func TestValidAttachmentsInvalid(t *testing.T) {
	for _, tc := range []struct{ name, value, in string }{
		{"object", `{}`, "got an object"},
		{"entry string", `["c1"]`, `entry 0: got the string "c1"`},
		{"unknown key", `[{"containerID":"c1","ifname":"eth0","netns":"x"}]`, `"netns": unknown key`},
		{"id type", `[{"containerID":1,"ifname":"eth0"}]`, `"containerID": got the number 1`},
		{"empty ifname", `[{"containerID":"c1"}]`, "empty containerID or ifname"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(entry(`"cni.dev/valid-attachments":` + tc.value))
			assertKeyError(t, err, ErrInvalid, "cni.dev/valid-attachments", tc.in)
		})
	}
}

// The want texts state the bounds in words; they must follow the consts.
func TestWantTextsFollowBounds(t *testing.T) {
	if MinIpamdTimeout != time.Second || MaxIpamdTimeout != 5*time.Minute || DefaultIpamdTimeout != 15*time.Second {
		t.Fatalf("update the want text of %q", keyTimeout)
	}
	for key, o := range options {
		if o.want == "" || o.set == nil {
			t.Errorf("option %q has no want text or setter", key)
		}
	}
}
