package config

import (
	"errors"
	"strings"
	"testing"
)

func TestFromEnviron(t *testing.T) {
	for _, tc := range []struct {
		name    string
		environ []string
		wantErr string // "" = accepted
		check   func(Config) bool
	}{
		{name: "empty"},
		{name: "ours and others", environ: []string{"PATH=/bin", "HOME=/root", "VPC_CNI_SOCKET=/tmp/a.sock", "WARM_IP_TARGET=5", "NOEQUALS"},
			check: func(c Config) bool { return c.SocketPath == "/tmp/a.sock" && c.WarmIPTarget == 5 }},
		{name: "value with =", environ: []string{`ADDITIONAL_ENI_TAGS={"a":"b=c"}`},
			check: func(c Config) bool { return c.AdditionalENITags["a"] == "b=c" }},
		{name: "first duplicate wins, as os.Getenv", environ: []string{"WARM_ENI_TARGET=2", "WARM_ENI_TARGET=bad"},
			check: func(c Config) bool { return c.WarmENITarget == 2 }},
		{name: "VPC_CNI_VERSION from the AWS daemonset", environ: []string{"VPC_CNI_VERSION=v1.18.1"}},
		{name: "service links of a vpc-cni service", environ: []string{
			"VPC_CNI_SERVICE_HOST=198.18.0.1", "VPC_CNI_SERVICE_PORT=61678", "VPC_CNI_SERVICE_PORT_METRICS=61678",
			"VPC_CNI_PORT=tcp://198.18.0.1:61678", "VPC_CNI_PORT_61678_TCP=tcp://198.18.0.1:61678",
			"VPC_CNI_PORT_61678_TCP_PROTO=tcp", "VPC_CNI_PORT_61678_TCP_PORT=61678", "VPC_CNI_PORT_61678_TCP_ADDR=198.18.0.1",
			"VPC_CNI_METRICS_SERVICE_HOST=198.18.0.2"}},
		{name: "typo of ours", environ: []string{"VPC_CNI_SOCKETS=/x"},
			wantErr: `VPC_CNI_SOCKETS="/x": not a vpc-cni variable (did you mean VPC_CNI_SOCKET?); ` +
				`want one of VPC_CNI_SOCKET, VPC_CNI_STATE_DIR, VPC_CNI_EC2_QPS, VPC_CNI_EC2_BURST, VPC_CNI_ADD_WAIT`},
		{name: "unknown of ours, nothing near", environ: []string{"VPC_CNI_TURBO=1"},
			wantErr: `VPC_CNI_TURBO="1": not a vpc-cni variable; ` +
				`want one of VPC_CNI_SOCKET, VPC_CNI_STATE_DIR, VPC_CNI_EC2_QPS, VPC_CNI_EC2_BURST, VPC_CNI_ADD_WAIT`},
		{name: "unknown and invalid both reported", environ: []string{"VPC_CNI_ADDWAIT=5s", "WARM_IP_TARGET=x"},
			wantErr: `VPC_CNI_ADDWAIT="5s": not a vpc-cni variable (did you mean VPC_CNI_ADD_WAIT?); ` +
				`want one of VPC_CNI_SOCKET, VPC_CNI_STATE_DIR, VPC_CNI_EC2_QPS, VPC_CNI_EC2_BURST, VPC_CNI_ADD_WAIT` +
				"\n" + `WARM_IP_TARGET="x": want a whole number ≥ 0`},
		{name: "AWS typo is not ours to judge", environ: []string{"WARM_IP_TARGETS=5"},
			check: func(c Config) bool { return c.WarmIPTarget == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := FromEnviron(tc.environ)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("%v", err)
				}
				if tc.check != nil && !tc.check(c) {
					t.Errorf("unexpected config %+v", c)
				}
				return
			}
			if err == nil || err.Error() != tc.wantErr {
				t.Errorf("error:\n got %v\nwant %s", err, tc.wantErr)
			}
			var ve *VarError
			if !errors.As(err, &ve) {
				t.Errorf("not a *VarError: %T", err)
			}
		})
	}
}

func TestNearest(t *testing.T) {
	ours := []string{"VPC_CNI_SOCKET", "VPC_CNI_STATE_DIR", "VPC_CNI_EC2_QPS", "VPC_CNI_EC2_BURST", "VPC_CNI_ADD_WAIT"}
	for _, tc := range []struct{ in, want string }{
		{"VPC_CNI_SOCKT", "VPC_CNI_SOCKET"},
		{"VPC_CNI_STATEDIR", "VPC_CNI_STATE_DIR"},
		{"VPC_CNI_EC2_QSP", "VPC_CNI_EC2_QPS"},
		{"VPC_CNI_COMPLETELY_ELSE", ""},
		{"VPC_CNI_" + strings.Repeat("X", 100), ""},
	} {
		if got := nearest(tc.in, ours); got != tc.want {
			t.Errorf("nearest(%s) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"a", "", 1}, {"", "abc", 3}, {"kitten", "sitting", 3}, {"abc", "abc", 0}, {"ab", "ba", 2}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
