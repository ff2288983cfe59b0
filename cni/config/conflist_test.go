package config

import (
	"reflect"
	"testing"

	"github.com/containernetworking/cni/libcni"
)

// The sample conflist parses, as libcni hands each plugin its entry, to
// the defaults.
func TestSampleConflist(t *testing.T) {
	list, err := libcni.ConfListFromFile("../10-vpc-cni.conflist")
	if err != nil {
		t.Fatal(err)
	}
	if list.CNIVersion != "1.0.0" || list.Name != "vpc-cni" || len(list.Plugins) != 1 {
		t.Fatalf("conflist %s %s with %d plugins, want 1.0.0 vpc-cni with 1", list.CNIVersion, list.Name, len(list.Plugins))
	}
	plugin, err := libcni.InjectConf(list.Plugins[0], map[string]any{"name": list.Name, "cniVersion": list.CNIVersion})
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(plugin.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.CNIVersion, want.Name, want.Type = "1.0.0", "vpc-cni", "vpc-cni"
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("sample conflist parses to %+v\nwant the defaults %+v", c, want)
	}
}
