package config

import (
	"errors"
	"testing"
)

// FuzzParse: no input panics; an error is one of the sentinels; a parsed
// configuration validates again, and so do its prevResult accessors.
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
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrDecode) && !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
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
