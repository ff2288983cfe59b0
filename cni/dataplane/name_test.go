package dataplane

import (
	"strings"
	"testing"
)

func TestHostIfName(t *testing.T) {
	a := HostIfName("eni", "default", "web-0", "c1", "eth0")
	if len(a) != MaxIfNameLen || !strings.HasPrefix(a, "eni") {
		t.Errorf("HostIfName = %q, want eni + hash, 15 characters", a)
	}
	for _, tc := range []struct {
		name                               string
		prefix, namespace, pod, id, ifName string
		want                               string
	}{
		// The names of eth0 never change across versions: a node's
		// existing veths must keep matching.
		{"eth0: SHA-1 of namespace.pod", "eni", "default", "web-0", "c1", "eth0", "eni0d7763386da2"},
		{"another attachment: SHA-1 of namespace.pod/ifName", "eni", "default", "web-0", "c1", "net1", "eni368bd2cc4b9c"},
		{"no pod name: SHA-1 of containerID/ifName", "eni", "", "", "c1", "eth0", "eni9d48f381831a"},
		{"a 4-character prefix", "vpcc", "default", "web-0", "c1", "eth0", "vpcc0d7763386da"},
		{"a prefix of 15 characters or more", "abcdefghijklmnopq", "default", "web-0", "c1", "eth0", "abcdefghijklmno"},
	} {
		if got := HostIfName(tc.prefix, tc.namespace, tc.pod, tc.id, tc.ifName); got != tc.want {
			t.Errorf("%s: HostIfName(%q, %q, %q, %q, %q) = %q, want %q",
				tc.name, tc.prefix, tc.namespace, tc.pod, tc.id, tc.ifName, got, tc.want)
		}
	}
	for _, tc := range []struct {
		name string
		b    string
		same bool
	}{
		{"another container of the pod", HostIfName("eni", "default", "web-0", "c2", "eth0"), true},
		{"another pod", HostIfName("eni", "default", "web-1", "c1", "eth0"), false},
		{"another attachment of the pod", HostIfName("eni", "default", "web-0", "c1", "net1"), false},
		{"another namespace", HostIfName("eni", "other", "web-0", "c1", "eth0"), false},
	} {
		if (tc.b == a) != tc.same {
			t.Errorf("%s: %q and %q, want same = %v", tc.name, a, tc.b, tc.same)
		}
	}
	if b := HostIfName("eni", "", "", "c1", "eth0"); b == HostIfName("eni", "", "", "c2", "eth0") {
		t.Errorf("two containers without pod names share %q", b)
	}
	if b, c := HostIfName("eni", "default", "web-0", "c1", "net1"), HostIfName("eni", "default", "web-0", "c1", "net2"); b == c {
		t.Errorf("two extra attachments of one pod share %q", b)
	}
}
