package capacity

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kubeconfig = `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443
    insecure-skip-tls-verify: true
users:
- name: u
  user:
    token: t
contexts:
- name: x
  context: {cluster: c, user: u}
current-context: x
`

func TestClientFromEnv(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "") // not in a pod, whatever runs the tests
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	dir := t.TempDir()
	good := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(good, []byte(kubeconfig), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == "KUBECONFIG" {
				return v
			}
			return ""
		}
	}
	if c, err := ClientFromEnv(env(good)); err != nil || c == nil {
		t.Errorf("KUBECONFIG=%s: %v, %v", good, c, err)
	}
	if _, err := ClientFromEnv(env("")); !errors.Is(err, ErrNoKubernetes) {
		t.Errorf("no configuration: err %v, want ErrNoKubernetes", err)
	}
	missing := filepath.Join(dir, "nope")
	if _, err := ClientFromEnv(env(missing)); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing kubeconfig: err %v, want one naming %s", err, missing)
	}
}
