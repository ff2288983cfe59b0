package chart

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/vpc-cni/vpc-cni/internal/toolcache"
	"github.com/vpc-cni/vpc-cni/ipamd/config"
	"github.com/vpc-cni/vpc-cni/scripts/image/imagebuild"
)

var update = flag.Bool("update", false, "rewrite the generated env block of values.yaml")

const chartDir = "../../charts/vpc-cni"

func TestValuesHaveEveryVariable(t *testing.T) {
	path := filepath.Join(chartDir, "values.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := withEnv(string(b))
	if *update {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if string(b) != want {
		t.Errorf("%s's env block is not ipamd's variables (a variable added, removed or changed): run go test ./test/chart -update", path)
	}
	var values struct {
		Env map[string]any `json:"env"`
	}
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for _, v := range config.Variables() {
		if _, ok := values.Env[v.Name]; !ok {
			t.Errorf("values.yaml env lacks %s", v.Name)
		}
	}
	if len(values.Env) != len(config.Variables()) {
		t.Errorf("values.yaml env has %d variables, ipamd reads %d", len(values.Env), len(config.Variables()))
	}
}

func TestDefaultImageIsMakeImages(t *testing.T) {
	var c struct {
		Version, AppVersion string
	}
	b, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err == nil {
		err = yaml.Unmarshal(b, &c)
	}
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Image struct{ Repository, Tag string } `json:"image"`
	}
	b, err = os.ReadFile(filepath.Join(chartDir, "values.yaml"))
	if err == nil {
		err = yaml.Unmarshal(b, &v)
	}
	if err != nil {
		t.Fatal(err)
	}
	if c.AppVersion != imagebuild.Version || c.Version != imagebuild.Version || v.Image.Repository != imagebuild.Repository || v.Image.Tag != "" {
		t.Errorf("chart %s (app %s), image %s:%q; want %s with the image tag empty (the appVersion)",
			c.Version, c.AppVersion, v.Image.Repository, v.Image.Tag, imagebuild.Ref)
	}
}

// helm returns the pinned helm, skipping (failing under CI=true) when it
// is not built.
func helm(t *testing.T) string {
	t.Helper()
	p := toolcache.Helm()
	if _, err := os.Stat(p); err != nil {
		msg := "no helm at " + p + ": build it with test/chart/build-helm.sh (.ci/run does)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return p
}

func runHelm(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(helm(t), args...)
	cmd.Env = append(os.Environ(), "HELM_CACHE_HOME="+t.TempDir(), "HELM_CONFIG_HOME="+t.TempDir(), "HELM_DATA_HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("helm %s: %v\n%s%s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func TestHelmLint(t *testing.T) {
	out := runHelm(t, "lint", "--strict", chartDir)
	if !strings.Contains(out, "0 chart(s) failed") || strings.Contains(out, "[WARNING]") {
		t.Errorf("helm lint:\n%s", out)
	}
}

// rendered is helm template's output split into objects by kind/name.
func render(t *testing.T, args ...string) map[string][]byte {
	t.Helper()
	out := runHelm(t, append([]string{"template", "vpc-cni", chartDir, "--namespace", "kube-system"}, args...)...)
	objs := map[string][]byte{}
	for _, doc := range strings.Split(out, "\n---") {
		var meta struct {
			Kind     string
			Metadata struct{ Name string }
		}
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			t.Fatalf("rendered YAML: %v\n%s", err, doc)
		}
		if meta.Kind != "" {
			objs[meta.Kind+"/"+meta.Metadata.Name] = []byte(doc)
		}
	}
	return objs
}

func TestHelmTemplate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantEnv map[string]string
		kinds   []string
	}{
		{"defaults", nil, map[string]string{"WARM_ENI_TARGET": "1", "ENABLE_PREFIX_DELEGATION": "false"}, nil},
		{"prefix delegation", []string{"--set", "env.ENABLE_PREFIX_DELEGATION=true", "--set", "env.WARM_PREFIX_TARGET=1"},
			map[string]string{"ENABLE_PREFIX_DELEGATION": "true", "WARM_PREFIX_TARGET": "1"}, nil},
		{"metrics", []string{"--set", "metrics.service.enabled=true", "--set", "metrics.serviceMonitor.enabled=true"},
			nil, []string{"Service/vpc-cni-metrics", "ServiceMonitor/vpc-cni"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := render(t, tc.args...)
			kinds := []string{"ClusterRole/vpc-cni", "ClusterRoleBinding/vpc-cni", "DaemonSet/vpc-cni", "ServiceAccount/vpc-cni"}
			kinds = append(kinds, tc.kinds...)
			var got []string
			for k := range objs {
				got = append(got, k)
			}
			sort.Strings(got)
			sort.Strings(kinds)
			if !reflect.DeepEqual(got, kinds) {
				t.Fatalf("rendered %q, want %q", got, kinds)
			}
			checkDaemonSet(t, objs["DaemonSet/vpc-cni"], tc.wantEnv)
			checkClusterRole(t, objs["ClusterRole/vpc-cni"])
		})
	}
}

func checkDaemonSet(t *testing.T, b []byte, wantEnv map[string]string) {
	t.Helper()
	var ds appsv1.DaemonSet
	if err := yaml.UnmarshalStrict(b, &ds); err != nil {
		t.Fatalf("DaemonSet: %v", err)
	}
	spec := ds.Spec.Template.Spec
	if !spec.HostNetwork || spec.PriorityClassName != "system-node-critical" || ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType {
		t.Errorf("hostNetwork %v, priority class %q, update %q", spec.HostNetwork, spec.PriorityClassName, ds.Spec.UpdateStrategy.Type)
	}
	if len(spec.Tolerations) != 1 || spec.Tolerations[0].Operator != "Exists" || spec.Tolerations[0].Key != "" {
		t.Errorf("tolerations %+v, want one tolerating everything", spec.Tolerations)
	}
	if spec.NodeSelector["kubernetes.io/os"] != "linux" {
		t.Errorf("node selector %v, want linux nodes", spec.NodeSelector)
	}
	if len(spec.Containers) != 1 || len(spec.InitContainers) == 0 {
		t.Fatalf("%d containers, %d init containers", len(spec.Containers), len(spec.InitContainers))
	}
	c := spec.Containers[0]
	if c.Image != imagebuild.Ref || spec.InitContainers[0].Image != imagebuild.Ref {
		t.Errorf("images %q, %q, want %s", c.Image, spec.InitContainers[0].Image, imagebuild.Ref)
	}
	if c.LivenessProbe == nil || c.ReadinessProbe == nil || c.LivenessProbe.Exec == nil || c.ReadinessProbe.Exec == nil {
		t.Fatal("ipamd has no exec liveness and readiness probes")
	}
	env := map[string]string{}
	for _, e := range c.Env {
		if e.ValueFrom != nil {
			env[e.Name] = "<from " + e.ValueFrom.FieldRef.FieldPath + ">"
			continue
		}
		env[e.Name] = e.Value
	}
	if env["MY_NODE_NAME"] != "<from spec.nodeName>" {
		t.Errorf("MY_NODE_NAME = %q, want from spec.nodeName", env["MY_NODE_NAME"])
	}
	for k, v := range wantEnv {
		if env[k] != v {
			t.Errorf("env %s = %q, want %q", k, env[k], v)
		}
	}
	var environ []string
	for k, v := range env {
		if k != "MY_NODE_NAME" {
			environ = append(environ, k+"="+v)
		}
	}
	if _, err := config.FromEnviron(environ); err != nil {
		t.Errorf("ipamd would refuse the rendered env: %v", err)
	}
}

func checkClusterRole(t *testing.T, b []byte) {
	t.Helper()
	var cr rbacv1.ClusterRole
	if err := yaml.UnmarshalStrict(b, &cr); err != nil {
		t.Fatalf("ClusterRole: %v", err)
	}
	want := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"nodes", "pods"}, Verbs: []string{"get", "list", "watch"}},
		{APIGroups: []string{""}, Resources: []string{"nodes/status"}, Verbs: []string{"patch"}},
		{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create"}},
	}
	if !reflect.DeepEqual(cr.Rules, want) {
		t.Errorf("ClusterRole rules\n%+v\nwant exactly\n%+v", cr.Rules, want)
	}
}
