package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// FuzzFromEnviron: no input panics; every error is a *VarError naming a
// variable that was given; an accepted configuration survives Effective.
func FuzzFromEnviron(f *testing.F) {
	for _, seed := range [][2]string{
		{"WARM_IP_TARGET", "5"},
		{"ADDITIONAL_ENI_TAGS", `{"a":"b"}`},
		{"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS", "198.18.0.0/16, 203.0.113.0/24"},
		{"VPC_CNI_ADD_WAIT", "1500ms"},
		{"VPC_CNI_SOCKETS", "/x"},
		{"INTROSPECTION_BIND_ADDRESS", "[::1]:0"},
		{"IP_COOLDOWN_PERIOD", "9223372036"},
		{"VPC_CNI_EC2_QPS", "1e-300"},
	} {
		f.Add(seed[0], seed[1], "ENABLE_PREFIX_DELEGATION", "true")
	}
	f.Fuzz(func(t *testing.T, n1, v1, n2, v2 string) {
		environ := []string{n1 + "=" + v1, n2 + "=" + v2}
		c, err := FromEnviron(environ)
		if err != nil {
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var ve *VarError
				if !errors.As(e, &ve) {
					t.Fatalf("not a *VarError: %T %v", e, e)
				}
				if !strings.HasPrefix(n1, ve.Name) && !strings.HasPrefix(n2, ve.Name) && ve.Name != "WARM_PREFIX_TARGET" {
					t.Fatalf("error names %s, given %q and %q", ve.Name, n1, n2)
				}
			}
			return
		}
		back, err := FromEnv(env(c.Effective()))
		if err != nil {
			t.Fatalf("Effective %v does not parse: %v", c.Effective(), err)
		}
		back.Warnings = c.Warnings
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip:\n got %+v\nwant %+v", back, c)
		}
	})
}
