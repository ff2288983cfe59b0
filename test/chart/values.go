// Package chart tests charts/vpc-cni: values.yaml carries every ipamd
// variable (generated from ipamd/config.Variables()), helm lint is clean,
// helm template renders the DaemonSet, ServiceAccount and least-privilege
// RBAC, and the default image is the one make image writes. helm is the
// pinned build test/chart/build-helm.sh makes.
package chart

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/vpc-cni/vpc-cni/ipamd/config"
)

// Markers around the generated part of values.yaml.
const (
	beginEnv = "  # BEGIN generated from ipamd/config.Variables(): go test ./test/chart -update"
	endEnv   = "  # END generated"
)

// envBlock is values.yaml's env entries: each variable with a one-line
// comment (its meaning and default) and its default as the value, or ""
// (unset, ipamd's default) when the default is not a literal value.
func envBlock() string {
	var b strings.Builder
	b.WriteString(beginEnv + "\n")
	for _, v := range config.Variables() {
		value := v.Default
		if _, err := config.FromEnviron([]string{v.Name + "=" + value}); err != nil || v.Name == "MY_NODE_NAME" {
			value = ""
		}
		def := v.Default
		if def == "" {
			def = "none"
		}
		meaning := strings.Join(strings.Fields(v.Meaning), " ")
		fmt.Fprintf(&b, "  # %s (default: %s)\n  %s: %s\n", meaning, def, v.Name, strconv.Quote(value))
	}
	b.WriteString(endEnv + "\n")
	return b.String()
}

// withEnv returns values.yaml's text with its generated block replaced by
// the current one (appended when there is none).
func withEnv(values string) string {
	i := strings.Index(values, beginEnv)
	j := strings.Index(values, endEnv+"\n")
	if i < 0 || j < i {
		return values + envBlock()
	}
	return values[:i] + envBlock() + values[j+len(endEnv)+1:]
}
