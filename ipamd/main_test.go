package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
	"github.com/vpc-cni/vpc-cni/cloud/sim/simtest"
)

// TestBadConfigurationExits builds bin/ipamd from this checkout and runs
// it with a bad WARM_IP_TARGET: it must exit non-zero, before touching
// anything, with a message naming the variable.
func TestBadConfigurationExits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "ipamd")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	tests := []struct {
		name string
		env  []string
		want []string
	}{
		{"WARM_IP_TARGET", []string{"WARM_IP_TARGET=abc"}, []string{"WARM_IP_TARGET", "abc"}},
		{"several", []string{"WARM_IP_TARGET=-3", "MAX_ENI=x"}, []string{"WARM_IP_TARGET", "MAX_ENI"}},
		{"unknown VPC_CNI_ variable", []string{"VPC_CNI_SOCKT=/tmp/x.sock"}, []string{"VPC_CNI_SOCKT", "VPC_CNI_SOCKET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, tt.env...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != exitUsage {
				t.Fatalf("ipamd with %v: %v, want exit status %d\nstderr: %s", tt.env, err, exitUsage, stderr.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(stderr.String(), w) {
					t.Errorf("stderr does not name %s:\n%s", w, stderr.String())
				}
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
		})
	}
	// A Kubernetes client configuration that cannot be used stops ipamd
	// before it asks anything of the cloud, naming what is wrong.
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: c, context: {cluster: c, user: u}}]
current-context: c
`), 0o600); err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	for _, tt := range []struct {
		name string
		env  []string
		want []string
	}{
		{"KUBECONFIG missing", []string{"KUBECONFIG=/nonexistent/kubeconfig"}, []string{"KUBECONFIG", "/nonexistent/kubeconfig"}},
		{"no MY_NODE_NAME", []string{"KUBECONFIG=" + kubeconfig}, []string{"MY_NODE_NAME is unset"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin)
			cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "VPC_CNI_STATE_DIR=" + state,
				"VPC_CNI_SOCKET=" + filepath.Join(state, "s.sock")}, tt.env...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != exitFailed {
				t.Fatalf("ipamd with %v: %v, want exit status %d\n%s", tt.env, err, exitFailed, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("the output does not name %s:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), "metadata") {
				t.Errorf("ipamd asked the cloud before failing:\n%s", out)
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"max-pods"}, exitUsage, "--instance-type is required"},
		{[]string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{[]string{"--help"}, exitOK, "usage: ipamd"},
	}
	for _, tt := range tests {
		var stderr bytes.Buffer
		if code := run(tt.args, nil, &stderr); code != tt.code || !strings.Contains(stderr.String(), tt.want) {
			t.Errorf("ipamd %v = %d, %q; want %d and %q", tt.args, code, stderr.String(), tt.code, tt.want)
		}
	}
}

// TestMaxPodsAsksEC2: with a region, the calculator asks DescribeInstanceTypes
// (here ec2sim's), and prints the figure.
func TestMaxPodsAsksEC2(t *testing.T) {
	cfg := sim.DefaultConfig()
	srv := simtest.Start(t, &cfg)
	t.Setenv("AWS_ENDPOINT_URL_EC2", srv.EC2URL())
	t.Setenv("AWS_ACCESS_KEY_ID", "x")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "x")
	t.Setenv("AWS_CA_BUNDLE", "")
	var stderr bytes.Buffer
	code := runMaxPods([]string{"--instance-type", "c5.4xlarge", "--cap", "none", "--verbose", "--region", "us-west-2"},
		nil, &stderr)
	if code != exitOK || !strings.Contains(stderr.String(), "DescribeInstanceTypes") || !strings.Contains(stderr.String(), "= 234") {
		t.Errorf("max-pods = %d, stderr %q; want 234 from DescribeInstanceTypes", code, stderr.String())
	}
}

// TestMaxPodsCalculatorScript: scripts/max-pods-calculator.sh runs
// `ipamd max-pods`, translating the AWS calculator's flag names.
func TestMaxPodsCalculatorScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "ipamd")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--instance-type", "m5.large"}, "29"},
		{[]string{"--instance-type", "m5.large", "--cni-prefix-delegation-enabled", "--cni-version", "1.18.0", "--cap", "none"}, "434"},
		{[]string{"--instance-type", "m5.large", "--cni-max-eni", "1"}, "11"},
	} {
		cmd := exec.Command("../scripts/max-pods-calculator.sh", tt.args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "IPAMD=" + bin}
		out, err := cmd.Output()
		if err != nil || strings.TrimSpace(string(out)) != tt.want {
			t.Errorf("max-pods-calculator.sh %v = %q, %v; want %s", tt.args, out, err, tt.want)
		}
	}
}
