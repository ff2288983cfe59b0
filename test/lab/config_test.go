package lab

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestConfigFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want func(c *Config)
	}{
		{"defaults", nil, func(*Config) {}},
		{"lab variables", map[string]string{
			"LAB_NODES": "3", "LAB_INSTANCE_TYPE": "t3.medium", "LAB_PODS": "0", "LAB_PREFIX": "e2e1",
			"LAB_BIN": "/opt/bin",
		}, func(c *Config) {
			c.Nodes, c.InstanceType, c.PodsPerNode, c.Prefix, c.StateDir, c.BinDir = 3, "t3.medium", 0, "e2e1", "/run/e2e1", "/opt/bin"
		}},
		{"a real cluster", map[string]string{"LAB_K8S": "1"}, func(c *Config) { c.K8S = true }},
		{"no real cluster", map[string]string{"LAB_K8S": "0"}, func(*Config) {}},
		{"state dir", map[string]string{"LAB_PREFIX": "x1", "LAB_STATE_DIR": "/tmp/lab"}, func(c *Config) {
			c.Prefix, c.StateDir = "x1", "/tmp/lab"
		}},
		{"ipamd variables pass through", map[string]string{
			"WARM_IP_TARGET": "3", "ENABLE_PREFIX_DELEGATION": "true", "AWS_VPC_K8S_CNI_EXTERNALSNAT": "true",
			"HOME": "/root", "EMPTY_IS_UNSET": "",
		}, func(c *Config) {
			c.IpamdEnv = map[string]string{"WARM_IP_TARGET": "3", "ENABLE_PREFIX_DELEGATION": "true", "AWS_VPC_K8S_CNI_EXTERNALSNAT": "true"}
		}},
		{"the lab's own ipamd variables are not passed", map[string]string{
			"VPC_CNI_SOCKET": "/x.sock", "VPC_CNI_STATE_DIR": "/x", "MY_NODE_NAME": "n", "CLUSTER_NAME": "c",
			"METRICS_BIND_ADDRESS": ":1", "INTROSPECTION_BIND_ADDRESS": ":2", "DISABLE_INTROSPECTION": "true",
			"IP_COOLDOWN_PERIOD": "5",
		}, func(c *Config) { c.IpamdEnv = map[string]string{"IP_COOLDOWN_PERIOD": "5"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ConfigFromEnv(env(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultConfig()
			want.IpamdEnv = map[string]string{}
			tc.want(&want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("ConfigFromEnv = %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestConfigFromEnvRefuses(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		name string // the variable the error must name
	}{
		{map[string]string{"LAB_NODES": "0"}, "LAB_NODES"},
		{map[string]string{"LAB_NODES": "9"}, "LAB_NODES"},
		{map[string]string{"LAB_NODES": "two"}, "LAB_NODES"},
		{map[string]string{"LAB_PODS": "-1"}, "LAB_PODS"},
		{map[string]string{"LAB_PODS": "1000"}, "LAB_PODS"},
		{map[string]string{"LAB_INSTANCE_TYPE": "m99.huge"}, "LAB_INSTANCE_TYPE"},
		{map[string]string{"LAB_PREFIX": "a-b"}, "LAB_PREFIX"},
		{map[string]string{"LAB_PREFIX": "Lab"}, "LAB_PREFIX"},
		{map[string]string{"LAB_PREFIX": "waytoolongprefix"}, "LAB_PREFIX"},
		{map[string]string{"LAB_STATE_DIR": "relative"}, "LAB_STATE_DIR"},
		{map[string]string{"LAB_STATE_DIR": "/"}, "LAB_STATE_DIR"},
		{map[string]string{"WARM_IP_TARGET": "abc"}, "WARM_IP_TARGET"},
		{map[string]string{"LAB_K8S": "yes"}, "LAB_K8S"},
		{map[string]string{"AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS": "nope"}, "AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS"},
	} {
		_, err := ConfigFromEnv(env(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.name) {
			t.Errorf("ConfigFromEnv(%v) = %v, want an error naming %s", tc.env, err, tc.name)
		}
		if !errors.Is(err, ErrConfig) {
			t.Errorf("ConfigFromEnv(%v) = %v, want it to wrap ErrConfig", tc.env, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err != nil {
		t.Fatalf("the default config: %v", err)
	}
	c.BinDir = ""
	c.InstanceType = "nope"
	err := c.Validate()
	for _, name := range []string{"LAB_BIN", "InstanceType"} {
		if err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("Validate = %v, want an error naming %s", err, name)
		}
	}
}
