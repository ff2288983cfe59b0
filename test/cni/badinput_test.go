package cni_test

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/vpc-cni/vpc-cni/cni/ipamc/fake"
)

// TestPrivilegedBadInput runs the plugin binary directly, as a runtime
// does, with bad configurations and environments: each fails with the
// spec's code and a CNI error on stdout that names the cause, allocates
// nothing and creates no link.
func TestPrivilegedBadInput(t *testing.T) {
	privileged(t)
	host := newHost(t)
	pod := newNS(t)
	srv := fake.Start(t, fake.Options{})
	logFile := filepath.Join(t.TempDir(), "plugin.log")
	absent := filepath.Join(t.TempDir(), "ipamd.sock")

	// conf is one plugin's configuration as libcni passes it, with set
	// applied (a nil value deletes the key).
	conf := func(set map[string]any) []byte {
		c := map[string]any{"cniVersion": "1.1.0", "name": netName, "type": pluginName,
			"ipamdSocket": srv.Socket(), "pluginLogFile": logFile}
		for k, v := range set {
			if v == nil {
				delete(c, k)
				continue
			}
			c[k] = v
		}
		b, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	env := func(set map[string]string) []string {
		e := map[string]string{"CNI_COMMAND": "ADD", "CNI_CONTAINERID": "bad-input-0", "CNI_NETNS": pod.Path(),
			"CNI_IFNAME": podIfName, "CNI_PATH": binDir,
			"CNI_ARGS": "IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=bad-0;K8S_POD_UID=u-0"}
		for k, v := range set {
			if v == "" {
				delete(e, k)
				continue
			}
			e[k] = v
		}
		var out []string
		for k, v := range e {
			out = append(out, k+"="+v)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		env   map[string]string
		stdin []byte
		code  uint
		words []string // in the message or details
	}{
		{"malformed JSON", nil, []byte(`{"cniVersion": "1.1.0", "name": "vpc-cni", "type": `), types.ErrDecodingFailure, nil},
		{"cniVersion 0.3.1", nil, conf(map[string]any{"cniVersion": "0.3.1"}), types.ErrIncompatibleCNIVersion,
			[]string{"0.3.1"}},
		{"cniVersion 9.9.9", nil, conf(map[string]any{"cniVersion": "9.9.9"}), types.ErrIncompatibleCNIVersion,
			[]string{"9.9.9"}},
		{"missing CNI_NETNS", map[string]string{"CNI_NETNS": ""}, conf(nil), types.ErrInvalidEnvironmentVariables,
			[]string{"CNI_NETNS"}},
		{"netns that does not exist", map[string]string{"CNI_NETNS": "/var/run/netns/vpc-cni-test-no-such-ns"},
			conf(nil), types.ErrInvalidNetNS, []string{"vpc-cni-test-no-such-ns"}},
		{"ipamd socket absent", nil, conf(map[string]any{"ipamdSocket": absent}), types.ErrTryAgainLater,
			[]string{absent}},
		{"unknown option", nil, conf(map[string]any{"ipamdSockett": "/run/vpc-cni/ipamd.sock"}),
			types.ErrUnsupportedField, []string{"ipamdSockett", "/run/vpc-cni/ipamd.sock"}},
		{"mtu as a string", nil, conf(map[string]any{"mtu": "9001"}), types.ErrInvalidNetworkConfig,
			[]string{"mtu"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hostLinks, podLinks := host.linkNames(t), pod.linkNames(t)
			e, stderr := runPlugin(t, host, env(tc.env), tc.stdin)
			if e.Code != tc.code {
				t.Errorf("code %d (%s), want %d", e.Code, e, tc.code)
			}
			for _, w := range tc.words {
				if !strings.Contains(e.Msg+" "+e.Details, w) {
					t.Errorf("error %q does not name %q", e, w)
				}
			}
			if stderr != "" {
				t.Logf("stderr: %s", stderr)
			}
			if n := srv.Calls(fake.RPCAddNetwork); n != 0 {
				t.Errorf("the fake ipamd saw %d AddNetwork calls, want none", n)
			}
			if got := srv.Allocations(); len(got) != 0 {
				t.Errorf("the fake ipamd holds %v, want nothing", got)
			}
			if got := host.linkNames(t); !slices.Equal(got, hostLinks) {
				t.Errorf("host links %v, were %v", got, hostLinks)
			}
			if got := pod.linkNames(t); !slices.Equal(got, podLinks) {
				t.Errorf("pod links %v, were %v", got, podLinks)
			}
			wantHostClean(t, host)
		})
	}
}

// runPlugin runs the plugin inside the host namespace and returns the CNI
// error it printed on stdout (failing the test if it succeeded or printed
// something else) and its stderr.
func runPlugin(t *testing.T, host *testNS, env []string, stdin []byte) (*types.Error, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	var runErr error
	err := host.do(func() error {
		cmd := exec.Command(filepath.Join(binDir, pluginName))
		cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = env, bytes.NewReader(stdin), &stdout, &stderr
		runErr = cmd.Run()
		return nil
	})
	if err != nil {
		t.Fatalf("enter the host namespace: %v", err)
	}
	if runErr == nil {
		t.Fatalf("the plugin succeeded, want an error; stdout: %s", stdout.Bytes())
	}
	if _, ok := runErr.(*exec.ExitError); !ok {
		t.Fatalf("run the plugin: %v", runErr)
	}
	var e types.Error
	dec := json.NewDecoder(&stdout)
	if err := dec.Decode(&e); err != nil {
		t.Fatalf("stdout is not a CNI error: %v: %q", err, stdout.String())
	}
	if e.Msg == "" {
		t.Errorf("CNI error without a message: %+v", e)
	}
	return &e, stderr.String()
}
