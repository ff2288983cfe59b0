package report

import (
	"bytes"
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/test/lab/echo"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from Render's output")

var (
	n1IP   = netip.MustParseAddr("198.18.0.11")
	n2IP   = netip.MustParseAddr("198.18.0.12")
	p11    = netip.MustParseAddr("198.18.0.21")
	p12    = netip.MustParseAddr("198.18.0.22")
	p21    = netip.MustParseAddr("198.18.0.37")
	inetAP = netip.MustParseAddrPort("203.0.113.10:7")
)

func pass(name, from, to string, fromIP netip.Addr, target netip.AddrPort, proto string) echo.Check {
	return echo.Check{Name: name, From: from, To: to, Target: target, Proto: proto, WantSeen: fromIP,
		Got: echo.Reply{Seen: fromIP, Me: target.Addr(), Host: to}}
}

// twoNodes is a lab of 2 nodes and 3 pods, every check passing.
func twoNodes() Report {
	return Report{
		Prefix:   "vpclab",
		Settings: map[string]string{"WARM_IP_TARGET": "2", "LAB_PODS": "2", "LAB_INSTANCE_TYPE": "m5.large"},
		Nodes: []Node{
			{Name: "node1", InstanceID: "i-0a1b2c3d4e5f60001", InstanceType: "m5.large", PrimaryIP: n1IP,
				ENIs: []ENI{{ID: "eni-0a1b2c3d4e5f60001", DeviceIndex: 0, Addresses: 4}, {ID: "eni-0a1b2c3d4e5f60003", DeviceIndex: 1, Addresses: 2}},
				Warm: 4, Assigned: 2, Cooling: 0, MaxPods: 29},
			{Name: "node2", InstanceID: "i-0a1b2c3d4e5f60002", InstanceType: "m5.large", PrimaryIP: n2IP,
				ENIs: []ENI{{ID: "eni-0a1b2c3d4e5f60002", DeviceIndex: 0, Addresses: 3}},
				Warm: 2, Assigned: 1, Cooling: 1, MaxPods: 29},
		},
		Pods: []Pod{
			{Name: "pod-1-1", Node: "node1", IP: p11, ENI: "eni-0a1b2c3d4e5f60001"},
			{Name: "pod-1-2", Node: "node1", IP: p12, ENI: "eni-0a1b2c3d4e5f60003"},
			{Name: "pod-2-1", Node: "node2", IP: p21, ENI: "eni-0a1b2c3d4e5f60002"},
		},
		Checks: []echo.Check{
			pass("pod→pod across nodes", "pod-1-1", "pod-2-1", p11, netip.AddrPortFrom(p21, 7), "tcp"),
			pass("pod→pod across nodes", "pod-1-2", "pod-2-1", p12, netip.AddrPortFrom(p21, 7), "udp"),
			pass("pod→pod same node", "pod-1-1", "pod-1-2", p11, netip.AddrPortFrom(p12, 7), "tcp"),
			pass("node→pod", "node1", "pod-2-1", n1IP, netip.AddrPortFrom(p21, 7), "tcp"),
			pass("pod→node", "pod-2-1", "node1", p21, netip.AddrPortFrom(n1IP, 7), "udp"),
			pass("pod→internet (SNAT)", "pod-1-2", "internet", n1IP, inetAP, "tcp"),
		},
		Timings: Timings{Build: 12345 * time.Millisecond, LabUp: 41234 * time.Millisecond, FirstPodReady: 20555 * time.Millisecond},
	}
}

// withFailures is twoNodes with one probe error, one NAT where there must
// be none, a multi-line note and an unmeasured build.
func withFailures() Report {
	r := twoNodes()
	r.Checks[1].Got, r.Checks[1].Err = echo.Reply{}, errors.New("echo udp to 198.18.0.37:7 from netns /var/run/netns/vpclab-n1-p2: no reply: i/o timeout")
	r.Checks[2].Got.Seen = n1IP
	r.Notes = []string{"node2: ipamd introspection:\nconnection refused"}
	r.Timings.Build = 0
	return r
}

func TestRenderGolden(t *testing.T) {
	for _, tc := range []struct {
		file string
		r    Report
	}{
		{"pass.golden", twoNodes()},
		{"fail.golden", withFailures()},
		{"empty.golden", Report{}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := Render(&b, tc.r); err != nil {
				t.Fatalf("Render: %v", err)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if got := b.String(); got != string(want) {
				t.Errorf("Render differs from %s (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", path, got, want)
			}
		})
	}
}

func TestResult(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    Report
		want string
		pass bool
	}{
		{"all pass", twoNodes(), "RESULT: PASS (6/6 checks)", true},
		{"two fail", withFailures(), "RESULT: FAIL (2 of 6 checks failed)", false},
		{"none ran", Report{Nodes: twoNodes().Nodes}, "RESULT: FAIL (no checks ran)", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Result(); got != tc.want {
				t.Errorf("Result() = %q, want %q", got, tc.want)
			}
			if got := tc.r.Pass(); got != tc.pass {
				t.Errorf("Pass() = %v, want %v", got, tc.pass)
			}
			var b bytes.Buffer
			if err := Render(&b, tc.r); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
			if last := lines[len(lines)-1]; last != tc.want {
				t.Errorf("last line %q, want %q", last, tc.want)
			}
		})
	}
}

func TestRenderNamesEachFailure(t *testing.T) {
	r := withFailures()
	var b bytes.Buffer
	if err := Render(&b, r); err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Failed() {
		if !strings.Contains(b.String(), c.Problem().Error()) {
			t.Errorf("report does not carry the failure %q", c.Problem())
		}
	}
}

// failWriter fails every write after the first n bytes.
type failWriter struct{ n int }

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		return 0, errors.New("disk full")
	}
	f.n -= len(p)
	return len(p), nil
}

func TestRenderWriteError(t *testing.T) {
	for _, n := range []int{0, 10, 500} {
		if err := Render(&failWriter{n: n}, twoNodes()); err == nil || err.Error() != "disk full" {
			t.Errorf("Render to a writer failing after %d bytes = %v, want its error", n, err)
		}
	}
}

// TestRenderKubernetes: a real cluster's nodes and pods, as kubectl shows
// them, appear before the checks; a plain lab has no such section.
func TestRenderKubernetes(t *testing.T) {
	r := Report{Prefix: "vpclab", Kubernetes: &Kubernetes{
		Nodes: []KubeNode{{Name: "node1", Ready: "True", Pods: "29", PodIPs: "27", Network: "False VpcCniIsUp",
			PodIPsAvailable: "True WarmPoolReady", Message: "pool can serve pods: 3 assigned / 6 available / 27 capacity",
			Written: 12 * time.Second}},
		Pods: []KubePod{{Namespace: "default", Name: "echo-1", Ready: ReadyOf(1, 1), Status: "Running", IP: "198.18.3.9", Node: "node1"}},
	}}
	var b strings.Builder
	if err := Render(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"KUBERNETES NODES (1)", "VPC-CNI.IO/POD-IPS", "27", "True WarmPoolReady",
		"3 assigned / 6 available / 27 capacity (written 12s ago)", "KUBERNETES PODS (1)", "echo-1", "1/1", "198.18.3.9"} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q:\n%s", want, out)
		}
	}
	b.Reset()
	if err := Render(&b, Report{Prefix: "vpclab"}); err != nil || strings.Contains(b.String(), "KUBERNETES") {
		t.Errorf("a plain lab's report has a Kubernetes section:\n%s", b.String())
	}
}
