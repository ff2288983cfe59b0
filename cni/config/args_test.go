package config

import (
	"errors"
	"strings"
	"testing"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     PodArgs
	}{
		{"empty", "", PodArgs{}},
		{"containerd", "IgnoreUnknown=1;K8S_POD_NAMESPACE=kube-system;K8S_POD_NAME=coredns-5d78c9869d-8zqlb;" +
			"K8S_POD_INFRA_CONTAINER_ID=0123abcd;K8S_POD_UID=4c1b2d3e-0000-4000-8000-000000000001",
			PodArgs{Namespace: "kube-system", Name: "coredns-5d78c9869d-8zqlb", UID: "4c1b2d3e-0000-4000-8000-000000000001", InfraID: "0123abcd"}},
		{"some", "K8S_POD_NAME=p", PodArgs{Name: "p"}},
		{"unknown keys ignored", "FOO=bar;K8S_POD_NAMESPACE=ns;IgnoreUnknown=true", PodArgs{Namespace: "ns"}},
		{"empty value", "K8S_POD_NAME=", PodArgs{}},
		{"value with =", "K8S_POD_NAME=a=b", PodArgs{Name: "a=b"}},
		{"unknown key twice", "X=1;X=2", PodArgs{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseArgs(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestParseArgsInvalid(t *testing.T) {
	for _, tc := range []struct{ name, in, msg string }{
		{"no =", "IgnoreUnknown=1;K8S_POD_NAME", `pair 2 "K8S_POD_NAME" is not KEY=VALUE`},
		{"empty pair", "K8S_POD_NAME=p;", `pair 2 "" is not KEY=VALUE`},
		{"only ;", ";", "pair 1"},
		{"empty key", "=v", `pair 1 "=v"`},
		{"ours twice", "K8S_POD_NAME=a;K8S_POD_NAME=b", "K8S_POD_NAME is given more than once"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseArgs(tc.in)
			if !errors.Is(err, ErrArgs) || errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v: want ErrArgs alone", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("message %q lacks %q", err, tc.msg)
			}
		})
	}
}
