package plugintest

import (
	"os"
	"strings"
	"testing"
)

// TestMakefileBuildsTheSame: `make build` builds the plugin with the flags
// the tests and benchmarks use, so they measure what users run.
func TestMakefileBuildsTheSame(t *testing.T) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	want := "CNI_BUILD := CGO_ENABLED=" + CGOEnabled + " $(GO) build -tags " + Tags
	if !strings.Contains(string(mk), want) {
		t.Errorf("the Makefile does not build the plugin as the tests do: want a line %q", want)
	}
}
