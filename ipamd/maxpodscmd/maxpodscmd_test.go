package maxpodscmd

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// TestFigures: the expected figures, from the built-in table.
func TestFigures(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--instance-type", "m5.large"}, "29"},
		{[]string{"--instance-type", "t3.medium"}, "17"},
		{[]string{"--instance-type", "c5.4xlarge"}, "110"},
		{[]string{"--instance-type", "c5.4xlarge", "--cap", "none"}, "234"},
		{[]string{"--instance-type", "m5.24xlarge"}, "250"},
		{[]string{"--instance-type", "m5.24xlarge", "--cap", "none"}, "737"},
		{[]string{"--instance-type", "m5.large", "--prefix-delegation"}, "110"},
		{[]string{"--instance-type", "m5.large", "--prefix-delegation", "--cap", "none"}, "434"},
		{[]string{"--instance-type", "m5.large", "--max-eni", "1"}, "11"},
		{[]string{"--instance-type", "m5.large", "--custom-networking"}, "20"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := Run(context.Background(), tt.args, &out, &errOut, nil); code != ExitOK {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			if got := strings.TrimSpace(out.String()); got != tt.want {
				t.Errorf("printed %q, want %q", got, tt.want)
			}
		})
	}
}

// TestErrors: each bad input names its problem; nothing goes to stdout.
func TestErrors(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{nil, ExitUsage, "--instance-type is required"},
		{[]string{"--instance-type", "x9.huge"}, ExitFailed, `unknown instance type "x9.huge"`},
		{[]string{"--instance-type", "t2.micro", "--prefix-delegation"}, ExitFailed, "Nitro instance type; drop --prefix-delegation"},
		{[]string{"--instance-type", "m5.large", "--cap", "lots"}, ExitUsage, "--cap"},
		{[]string{"--instance-type", "m5.large", "extra"}, ExitUsage, `unexpected argument "extra"`},
		{[]string{"--bogus"}, ExitUsage, "bogus"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := Run(context.Background(), tt.args, &out, &errOut, nil); code != tt.code {
				t.Errorf("exit %d, want %d", code, tt.code)
			}
			if !strings.Contains(errOut.String(), tt.want) || out.Len() != 0 {
				t.Errorf("stderr %q (want %q), stdout %q", errOut.String(), tt.want, out.String())
			}
		})
	}
}

// TestEC2First: limits come from EC2 when it answers (a type the table
// lacks works), EC2's "no such type" is final, and an EC2 that does not
// answer falls back to the table.
func TestEC2First(t *testing.T) {
	m5, _ := cloud.BuiltinInstanceType("m5.large")
	custom := m5
	custom.Type, custom.MaxENIs, custom.IPv4PerENI = "z1.new", 2, 4
	custom.NetworkCards = nil
	lookup := func(_ context.Context, name string) (cloud.InstanceTypeLimits, error) {
		switch name {
		case "z1.new":
			return custom, nil
		case "m5.large":
			return cloud.InstanceTypeLimits{}, errors.New("dial tcp: connection refused")
		}
		return cloud.InstanceTypeLimits{}, &cloud.APIError{Code: "InvalidInstanceType", Kind: cloud.ErrNotFound}
	}
	for _, tt := range []struct {
		typ, want string
		code      int
	}{
		{"z1.new", "8", ExitOK},       // 2 × 3 + 2
		{"m5.large", "29", ExitOK},    // from the table
		{"t3.medium", "", ExitFailed}, // EC2 says no such type
	} {
		var out, errOut bytes.Buffer
		code := Run(context.Background(), []string{"--instance-type", tt.typ, "--verbose"}, &out, &errOut, lookup)
		if code != tt.code || strings.TrimSpace(out.String()) != tt.want {
			t.Errorf("%s: exit %d, printed %q (stderr %q); want %d, %q", tt.typ, code, out.String(), errOut.String(), tt.code, tt.want)
		}
	}
}
