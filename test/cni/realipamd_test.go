package cni_test

import (
	"bytes"
	"crypto/sha512"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/containernetworking/cni/pkg/version"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
)

// cnitoolCacheDir is where cnitool (libcni's default) caches results; it
// has no option to change it.
const cnitoolCacheDir = "/var/lib/cni"

// TestPrivilegedCnitoolRealIpamd: cnitool, with our conflist, gives a pod
// an address of the real ipamd over ec2sim; CHECK passes; DEL leaves no
// veth, rule or route on the host and ipamd holds nothing for the pod.
func TestPrivilegedCnitoolRealIpamd(t *testing.T) {
	privileged(t)
	t.Parallel()
	ipamd := startIpamd(t, "m5.large", map[string]string{"WARM_IP_TARGET": "2", "MINIMUM_IP_TARGET": "2",
		"POD_MTU": "1500"})
	ipamd.waitAvailable(t, 1)
	host := newHost(t)
	n := newNet(t, host, "1.1.0", ipamd.socket, 1500)
	pod := newNS(t)
	// cnitool names the container after its netns path.
	sum := sha512.Sum512([]byte(pod.Path()))
	containerID := fmt.Sprintf("cnitool-%x", sum[:10])
	t.Cleanup(func() {
		_ = os.Remove(filepath.Join(cnitoolCacheDir, "results", netName+"-"+containerID+"-"+podIfName))
	})
	const ns, name = "default", "cnitool-0"
	hostIf := dataplane.HostIfName(vethPrefix, ns, name, containerID, podIfName)
	env := []string{"NETCONFPATH=" + n.dir, "CNI_PATH=" + binDir, "CNI_IFNAME=" + podIfName,
		"CNI_ARGS=K8S_POD_NAMESPACE=" + ns + ";K8S_POD_NAME=" + name + ";K8S_POD_UID=uid-cnitool-0",
		"PATH=" + os.Getenv("PATH")}

	out := cnitool(t, host, env, "add", pod.Path())
	res, err := version.NewResult("1.1.0", out)
	if err != nil {
		t.Fatalf("cnitool add printed %q: %v", out, err)
	}
	ip := wantResult(t, res, "1.1.0", &testPod{ns: pod, hostIf: hostIf})
	eni := ipamd.eniOf(t, ip)
	alloc, found := ipamd.holds(t, containerID, podIfName)
	if !found || alloc.GetIpv4() != ip.String() || alloc.GetEniId() != eni.ID {
		t.Errorf("ipamd holds %v (found %v) for the pod, want %s on %s", alloc, found, ip, eni.ID)
	}
	table := mainTable
	if eni.Attachment.DeviceIndex > 0 {
		table = eni.Attachment.DeviceIndex + 1
	}
	veth := wantHostWired(t, host, hostIf, ip, table)
	wantPodWired(t, pod, podIfName, ip, veth)
	if veth.MTU != n.mtu {
		t.Errorf("veth MTU %d, want ipamd's POD_MTU %d", veth.MTU, n.mtu)
	}
	wantReach(t, host, pod, ip)

	cnitool(t, host, env, "check", pod.Path())
	cnitool(t, host, env, "del", pod.Path())
	wantHostClean(t, host)
	if alloc, found := ipamd.holds(t, containerID, podIfName); found {
		t.Errorf("ipamd still holds %v after cnitool del", alloc)
	}
	if names := pod.linkNames(t); len(names) != 1 {
		t.Errorf("pod links after DEL = %v, want lo only", names)
	}
}

// cnitool runs cnitool inside the host namespace and returns its stdout,
// failing the test if it fails.
func cnitool(t *testing.T, host *testNS, env []string, verb, netns string) []byte {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := host.do(func() error {
		cmd := exec.Command(filepath.Join(binDir, cnitoolName), verb, netName, netns)
		cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
		return cmd.Run()
	})
	if err != nil {
		t.Fatalf("cnitool %s: %v\nstdout: %s\nstderr: %s", verb, err, stdout.Bytes(), stderr.Bytes())
	}
	return stdout.Bytes()
}

// TestPrivilegedRealIpamdENIs: pods added through libcni against the real
// ipamd on an instance type with few addresses per ENI land on the primary
// ENI and on secondary ones; a secondary ENI's pod has its rule 'from
// <pod> lookup <device index + 1>' at 1536. DEL of all leaves the host
// clean and ipamd holding nothing.
func TestPrivilegedRealIpamdENIs(t *testing.T) {
	privileged(t)
	t.Parallel()
	// t3.medium: 3 ENIs of 6 addresses (5 for pods each). 8 addresses in
	// all need a second ENI.
	ipamd := startIpamd(t, "t3.medium", map[string]string{"WARM_IP_TARGET": "2", "MINIMUM_IP_TARGET": "8"})
	ipamd.waitAvailable(t, 8)
	host := newHost(t)
	n := newNet(t, host, "1.0.0", ipamd.socket, 9001)
	const pods = 7
	var added []*testPod
	var ips []netip.Addr
	secondary := 0
	for i := range pods {
		p := newPod(t, "default", fmt.Sprintf("web-%d", i))
		res, err := n.add(p)
		if err != nil {
			t.Fatalf("ADD pod %d: %v", i, err)
		}
		ip := wantResult(t, res, n.version, p)
		eni := ipamd.eniOf(t, ip)
		table := mainTable
		if eni.ID != ipamd.inst.PrimaryENIID {
			table = eni.Attachment.DeviceIndex + 1
			secondary++
		}
		if alloc, found := ipamd.holds(t, p.rt.ContainerID, podIfName); !found || alloc.GetIpv4() != ip.String() ||
			int(alloc.GetRouteTable()) != table {
			t.Errorf("ipamd holds %v (found %v) for pod %d, want %s in table %d", alloc, found, i, ip, table)
		}
		veth := wantHostWired(t, host, p.hostIf, ip, table)
		wantPodWired(t, p.ns, podIfName, ip, veth)
		if veth.MTU != n.mtu {
			t.Errorf("pod %d: veth MTU %d, want ipamd's %d", i, veth.MTU, n.mtu)
		}
		if err := n.check(p); err != nil {
			t.Errorf("CHECK pod %d: %v", i, err)
		}
		added, ips = append(added, p), append(ips, ip)
	}
	if secondary == 0 {
		t.Fatalf("no pod of %d has an address on a secondary ENI", pods)
	}
	wantReach(t, host, added[pods-1].ns, ips[pods-1])
	for i, p := range added {
		if err := n.del(p); err != nil {
			t.Errorf("DEL pod %d: %v", i, err)
		}
		if alloc, found := ipamd.holds(t, p.rt.ContainerID, podIfName); found {
			t.Errorf("ipamd still holds %v for pod %d after DEL", alloc, i)
		}
	}
	wantHostClean(t, host)
}
