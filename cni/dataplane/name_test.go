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
	if b := HostIfName("eni", "default", "web-0", "c2", "eth0"); b != a {
		t.Errorf("the name changed with the container: %q, %q (want stable per pod)", a, b)
	}
	if b := HostIfName("eni", "default", "web-1", "c1", "eth0"); b == a {
		t.Errorf("two pods share %q", a)
	}
	if b := HostIfName("eni", "", "", "c1", "eth0"); b == HostIfName("eni", "", "", "c2", "eth0") {
		t.Errorf("two containers without pod names share %q", b)
	}
	if b := HostIfName("vpcc", "default", "web-0", "c1", "eth0"); len(b) != MaxIfNameLen || !strings.HasPrefix(b, "vpcc") {
		t.Errorf("HostIfName with a 4-character prefix = %q", b)
	}
}
