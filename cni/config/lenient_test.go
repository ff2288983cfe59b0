package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// defaults is what the entry of entry("") parses to.
func defaults() Conf {
	c := Default()
	c.CNIVersion, c.Name, c.Type = "1.1.0", "vpc-cni", "vpc-cni"
	return c
}

// An unknown key is ErrUnsupportedField (CNI code 2) as well as ErrInvalid,
// and its message gives the key and its value, compacted and cut; a bad
// value of a known key is not.
func TestParseUnsupportedField(t *testing.T) {
	long := `"` + strings.Repeat("x", 100) + `"`
	for _, tc := range []struct {
		name, extra, key string
		in               []string
		notIn            string
	}{
		{"number", `"foo":1`, "foo", []string{`"foo": unknown key (its value: 1)`}, ""},
		{"object compacted", `"foo": { "a" : [1, 2] }`, "foo", []string{`(its value: {"a":[1,2]})`}, ""},
		{"string", `"Mtu":"9001"`, "Mtu", []string{`(its value: "9001")`, `did you mean "mtu"`}, ""},
		{"long value cut", `"foo":` + long, "foo", []string{`(its value: "` + strings.Repeat("x", 63) + `...)`},
			strings.Repeat("x", 64)},
		{"multibyte cut on a character", `"foo":"` + strings.Repeat("é", 40) + `"`, "foo",
			[]string{`(its value: "` + strings.Repeat("é", 31) + `...)`}, ""},
		{"nested in dns", `"dns":{"servers":["198.18.0.2"]}`, "dns", []string{`"servers": unknown key (its value: ["198.18.0.2"])`}, ""},
		{"nested in an attachment", `"cni.dev/valid-attachments":[{"containerID":"c","ifname":"eth0","netns":"/x"}]`,
			"cni.dev/valid-attachments", []string{`entry 0: "netns": unknown key (its value: "/x")`}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(entry(tc.extra))
			if !errors.Is(err, ErrUnsupportedField) {
				t.Fatalf("error %v does not wrap ErrUnsupportedField", err)
			}
			assertKeyError(t, err, ErrInvalid, tc.key, tc.in...)
			if tc.notIn != "" && strings.Contains(err.Error(), tc.notIn) {
				t.Errorf("message %q quotes the whole value", err)
			}
		})
	}
	for _, extra := range []string{`"mtu":"9001"`, `"mtu":1`, `"ipam":{}`, `"mtu":1500,"mtu":1500`, `"name":""`,
		`"dns":{"nameservers":["x"]}`, `"prevResult":{"cniVersion":"9.9.9"}`} {
		if _, err := Parse(entry(extra)); !errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnsupportedField) {
			t.Errorf("Parse(%s): %v; want ErrInvalid alone", extra, err)
		}
	}
}

// Keys under cni.dev/ that vpc-cni does not use are what a newer runtime
// injects: both parses ignore them, whatever their value.
func TestRuntimeKeysIgnored(t *testing.T) {
	extra := `"cni.dev/future":{"a":[1,null]},"cni.dev/x":null,"cni.dev/":1,` +
		`"cni.dev/valid-attachments":[{"containerID":"c","ifname":"eth0"}]`
	want := defaults()
	want.ValidAttachments, want.HasValidAttachments = []Attachment{{"c", "eth0"}}, true
	c, err := Parse(entry(extra))
	if err != nil || !reflect.DeepEqual(c, want) {
		t.Fatalf("Parse = %+v, %v; want %+v", c, err, want)
	}
	c, tolerated, err := ParseLenient(entry(extra))
	if err != nil || len(tolerated) != 0 || !reflect.DeepEqual(c, want) {
		t.Fatalf("ParseLenient = %+v, %v, %v; want %+v and nothing tolerated", c, tolerated, err, want)
	}
	for _, extra := range []string{`"cni.dev":1`, `"CNI.dev/x":1`, `"cni.devx/y":1`} {
		if _, err := Parse(entry(extra)); !errors.Is(err, ErrUnsupportedField) {
			t.Errorf("Parse(%s): %v; want ErrUnsupportedField: not the runtime's prefix", extra, err)
		}
	}
}

// ParseLenient keeps the default of an option it cannot take, drops a
// prevResult it cannot read, ignores an unknown key, and says each.
func TestParseLenientTolerates(t *testing.T) {
	for _, tc := range []struct {
		name, extra string
		keys        []string // the tolerated problems' keys, in order
		mutate      func(*Conf)
	}{
		{"unknown key", `"foo":1`, []string{"foo"}, nil},
		{"ipam", `"ipam":{"type":"host-local"}`, []string{"ipam"}, nil},
		{"mtu string", `"mtu":"9001"`, []string{"mtu"}, nil},
		{"mtu out of range", `"mtu":100`, []string{"mtu"}, nil},
		{"socket relative", `"ipamdSocket":"ipamd.sock"`, []string{"ipamdSocket"}, nil},
		{"veth prefix", `"vethPrefix":"toolong"`, []string{"vethPrefix"}, nil},
		{"log file", `"pluginLogFile":7`, []string{"pluginLogFile"}, nil},
		{"log level", `"pluginLogLevel":"trace"`, []string{"pluginLogLevel"}, nil},
		{"log size", `"pluginLogMaxSizeMB":0`, []string{"pluginLogMaxSizeMB"}, nil},
		{"timeout", `"ipamdTimeout":"forever"`, []string{"ipamdTimeout"}, nil},
		{"dns", `"dns":{"nameservers":["x"]}`, []string{"dns"}, nil},
		{"capabilities", `"capabilities":[]`, []string{"capabilities"}, nil},
		{"runtimeConfig", `"runtimeConfig":1`, []string{"runtimeConfig"}, nil},
		{"args", `"args":"x"`, []string{"args"}, nil},
		{"duplicate: neither taken", `"mtu":1500,"vethPrefix":"pod","mtu":9001,"mtu":1400`, []string{"mtu"},
			func(c *Conf) { c.VethPrefix = "pod" }},
		{"bad name", `"name":"my net"`, []string{"name"}, func(c *Conf) { c.Name = "" }},
		{"no name", `"name":""`, []string{"name"}, func(c *Conf) { c.Name = "" }},
		{"no type", `"type":""`, []string{"type"}, func(c *Conf) { c.Type = "" }},
		{"prevResult not an object", `"prevResult":[]`, []string{"prevResult"}, nil},
		{"prevResult of an unknown version", `"prevResult":{"cniVersion":"9.9.9"}`, []string{"prevResult"}, nil},
		{"prevResult with a null IP", `"prevResult":{"cniVersion":"1.1.0","ips":[null]}`, []string{"prevResult"}, nil},
		{"prevResult with a bad address", `"prevResult":{"cniVersion":"1.1.0","ips":[{"address":"x"}]}`,
			[]string{"prevResult"}, nil},
		{"attachment with a key of a newer spec", `"cni.dev/valid-attachments":[{"containerID":"c","ifname":"eth0","x":1}]`,
			[]string{"cni.dev/valid-attachments"}, func(c *Conf) {
				c.ValidAttachments, c.HasValidAttachments = []Attachment{{"c", "eth0"}}, true
			}},
		{"several, good options kept", `"mtu":"x","foo":{},"vethPrefix":"pod","ipamdTimeout":"20s","dns":1`,
			[]string{"mtu", "foo", "dns"}, func(c *Conf) { c.VethPrefix, c.IpamdTimeout = "pod", 20*time.Second }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := defaults()
			if tc.mutate != nil {
				tc.mutate(&want)
			}
			c, tolerated, err := ParseLenient(entry(tc.extra))
			if err != nil {
				t.Fatalf("ParseLenient: %v", err)
			}
			if !reflect.DeepEqual(c, want) {
				t.Errorf("got %+v\nwant %+v", c, want)
			}
			var keys []string
			for _, e := range tolerated {
				var ke *KeyError
				if !errors.As(e, &ke) || !errors.Is(e, ErrInvalid) {
					t.Fatalf("tolerated %v is not an ErrInvalid *KeyError", e)
				}
				keys = append(keys, ke.Key)
			}
			if !reflect.DeepEqual(keys, tc.keys) {
				t.Errorf("tolerated %v: keys %q, want %q", tolerated, keys, tc.keys)
			}
			if _, err := Parse(entry(tc.extra)); err == nil {
				t.Errorf("Parse accepts what ParseLenient tolerated")
			}
		})
	}
}

// A tolerated unknown key is still ErrUnsupportedField, with its value.
func TestParseLenientUnknownKey(t *testing.T) {
	_, tolerated, err := ParseLenient(entry(`"newOption":{"on":true}`))
	if err != nil || len(tolerated) != 1 {
		t.Fatalf("ParseLenient = %v, %v; want one problem", tolerated, err)
	}
	if e := tolerated[0]; !errors.Is(e, ErrUnsupportedField) || !strings.Contains(e.Error(), `"newOption"`) ||
		!strings.Contains(e.Error(), `{"on":true}`) {
		t.Errorf("tolerated %v; want ErrUnsupportedField naming the key and its value", e)
	}
}

// What a cleanup cannot do without is still an error: stdin that is not
// JSON, the cniVersion, the valid attachments.
func TestParseLenientFatal(t *testing.T) {
	for _, tc := range []struct {
		name, stdin string
		is          error
		key         string // the KeyError's, if any
	}{
		{"empty", ``, ErrDecode, ""},
		{"truncated", `{"cniVersion":"1.1.0",`, ErrDecode, ""},
		{"not an object", `[]`, ErrDecode, ""},
		{"no cniVersion", `{"name":"n","type":"vpc-cni"}`, ErrInvalid, "cniVersion"},
		{"empty cniVersion", string(entry(`"cniVersion":""`)), ErrInvalid, "cniVersion"},
		{"cniVersion a number", string(entry(`"cniVersion":1`)), ErrInvalid, "cniVersion"},
		{"cniVersion unimplemented", string(entry(`"cniVersion":"0.3.1"`)), ErrVersion, "cniVersion"},
		{"cniVersion twice", `{"cniVersion":"1.1.0","name":"n","type":"vpc-cni","cniVersion":"1.0.0"}`, ErrInvalid, "cniVersion"},
		{"valid-attachments an object", string(entry(`"cni.dev/valid-attachments":{}`)), ErrInvalid, "cni.dev/valid-attachments"},
		{"valid-attachments entry", string(entry(`"cni.dev/valid-attachments":[{"containerID":"c"}]`)), ErrInvalid,
			"cni.dev/valid-attachments"},
		{"valid-attachments twice", string(entry(`"cni.dev/valid-attachments":[],"cni.dev/valid-attachments":[]`)), ErrInvalid,
			"cni.dev/valid-attachments"},
		{"attachments", string(entry(`"cni.dev/attachments":[1]`)), ErrInvalid, "cni.dev/attachments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, tolerated, err := ParseLenient([]byte(tc.stdin))
			if !errors.Is(err, tc.is) {
				t.Fatalf("ParseLenient: %v; want %v", err, tc.is)
			}
			if !reflect.DeepEqual(c, Conf{}) || tolerated != nil {
				t.Errorf("failed ParseLenient returned %+v, %v; want zero", c, tolerated)
			}
			var ke *KeyError
			if tc.key != "" && (!errors.As(err, &ke) || ke.Key != tc.key) {
				t.Errorf("ParseLenient: %v; want a *KeyError of %q", err, tc.key)
			}
		})
	}
}

// For what Parse accepts, ParseLenient gives the same and tolerates
// nothing.
func TestParseLenientAgrees(t *testing.T) {
	for _, extra := range []string{
		``,
		`"ipamdSocket":"/tmp/x.sock","mtu":9001,"vethPrefix":"pod","pluginLogFile":"","pluginLogLevel":"DEBUG",` +
			`"pluginLogMaxSizeMB":1,"ipamdTimeout":"1m","dns":{"nameservers":["198.18.0.2"]},"runtimeConfig":{},` +
			`"capabilities":{"a":true},"args":{}`,
		`"cniVersion":"0.4.0","prevResult":` + result040,
		`"prevResult":` + result110,
		`"cni.dev/valid-attachments":null,"cni.dev/attachments":null`,
	} {
		strict, err := Parse(entry(extra))
		if err != nil {
			t.Fatalf("Parse(%s): %v", extra, err)
		}
		lenient, tolerated, err := ParseLenient(entry(extra))
		if err != nil || len(tolerated) != 0 || !reflect.DeepEqual(lenient, strict) {
			t.Errorf("ParseLenient(%s) = %+v, %v, %v; want %+v", extra, lenient, tolerated, err, strict)
		}
	}
}
