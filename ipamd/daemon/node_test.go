package daemon_test

import (
	"testing"

	"github.com/vpc-cni/vpc-cni/ipamd/daemon"
	"github.com/vpc-cni/vpc-cni/ipamd/introspect"
)

// TestNodeName: MY_NODE_NAME is tagged on the ENIs ipamd creates and shown
// by introspection, with the instance.
func TestNodeName(t *testing.T) {
	t.Parallel()
	const name = "ip-198-18-0-10.eu-west-1.compute.internal"
	c := startCloud(t, world{}, nil)
	// MINIMUM_IP_TARGET=10 on m5.large: the primary ENI's 9 and one on a
	// new ENI.
	r := newNode(t, c, map[string]string{"MY_NODE_NAME": name, "ADDITIONAL_ENI_TAGS": `{"team":"payments"}`,
		"WARM_IP_TARGET": "5", "MINIMUM_IP_TARGET": "10"}).start()
	r.waitSteady()

	created := 0
	for _, e := range c.srv.World().Snapshot().ENIs {
		if e.ID == c.inst.PrimaryENIID {
			continue
		}
		created++
		tags := map[string]string{}
		for _, tag := range e.Tags {
			tags[tag.Key] = tag.Value
		}
		if tags[daemon.TagNodeName] != name || tags["team"] != "payments" {
			t.Errorf("ENI %s tags %v, want %s=%s and team=payments", e.ID, tags, daemon.TagNodeName, name)
		}
	}
	if created == 0 {
		t.Fatal("ipamd created no ENI")
	}

	var v daemon.ConfigView
	r.getJSON(introspect.PathConfig, &v)
	if v.Node.Name != name || v.Node.InstanceID != c.inst.ID || v.Variables["MY_NODE_NAME"] != name {
		t.Errorf("introspection's config = %+v, want node %s on %s", v, name, c.inst.ID)
	}
}
