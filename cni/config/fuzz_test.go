package config

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParse: no input panics; an error is one of the sentinels; a parsed
// configuration validates again, and so do its prevResult accessors.
// ParseLenient agrees with Parse where Parse succeeds, fails where stdin is
// not JSON, and otherwise tolerates exactly what Parse refuses.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"cniVersion":"1.1.0","name":"vpc-cni","type":"vpc-cni"}`,
		`{"cniVersion":"1.1.0","name":"vpc-cni","type":"vpc-cni","ipamdSocket":"/run/vpc-cni/ipamd.sock","mtu":9001,` +
			`"vethPrefix":"eni","pluginLogFile":"","pluginLogLevel":"debug","pluginLogMaxSizeMB":10,"ipamdTimeout":"10s",` +
			`"dns":{"nameservers":["198.18.0.2"],"search":["svc"]},"runtimeConfig":{},"capabilities":{"a":true},"args":{}}`,
		`{"cniVersion":"0.4.0","name":"n","type":"vpc-cni","prevResult":` + result040 + `}`,
		`{"cniVersion":"1.0.0","name":"n","type":"vpc-cni","prevResult":` + result100 + `}`,
		`{"cniVersion":"1.1.0","name":"n","type":"vpc-cni","prevResult":` + result110 + `}`,
		`{"cniVersion":"0.4.0","name":"n","type":"vpc-cni","prevResult":{"cniVersion":"0.2.0","ip4":{"ip":"198.18.0.9/32","routes":[{"dst":"0.0.0.0/0"}]}}}`,
		`{"cniVersion":"1.1.0","name":"n","type":"vpc-cni","cni.dev/valid-attachments":[{"containerID":"c","ifname":"eth0"}],"cni.dev/attachments":null}`,
		`{"cniVersion":"1.1.0","name":"n","type":"vpc-cni","ipam":{"type":"host-local"}}`,
		`{"mtu":"9001"}`, `[]`, `{`, ``,
		`{"cniVersion":"1.1.0","name":"n","type":"vpc-cni","mtu":1500,"mtu":1,"foo":[1],"cni.dev/new":{},"prevResult":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		lc, tolerated, lerr := ParseLenient(b)
		checkLenient(t, b, lc, tolerated, lerr)
		if err != nil {
			if !errors.Is(err, ErrDecode) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			if errors.Is(err, ErrDecode) != errors.Is(lerr, ErrDecode) {
				t.Fatalf("Parse: %v, but ParseLenient: %v", err, lerr)
			}
			if lerr == nil && len(tolerated) == 0 {
				t.Fatalf("Parse refused %q (%v), ParseLenient tolerated nothing", b, err)
			}
			return
		}
		if lerr != nil || len(tolerated) != 0 || !reflect.DeepEqual(lc, c) {
			t.Fatalf("Parse accepted %q, ParseLenient = %+v, %v, %v", b, lc, tolerated, lerr)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed %q but Validate: %v", b, err)
		}
		if ip, ok := c.PrevIP(); ok && !ip.Is4() {
			t.Fatalf("PrevIP %v is not IPv4", ip)
		}
		c.PrevHostIfName()
		c.PrevPodIfName()
	})
}

// checkLenient: a lenient parse's error is a sentinel; each tolerated
// problem is a *KeyError; its configuration validates but for a name or
// type it could not read.
func checkLenient(t *testing.T, b []byte, c Conf, tolerated []error, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrDecode) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrVersion) {
			t.Fatalf("lenient error %v wraps no sentinel", err)
		}
		return
	}
	for _, e := range tolerated {
		var ke *KeyError
		if !errors.As(e, &ke) || !errors.Is(e, ErrInvalid) {
			t.Fatalf("tolerated %v is not an ErrInvalid *KeyError", e)
		}
	}
	if c.Name == "" {
		c.Name = "n"
	}
	if c.Type == "" {
		c.Type = "vpc-cni"
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("parsed %q leniently but Validate: %v", b, err)
	}
	c.PrevIP()
}
