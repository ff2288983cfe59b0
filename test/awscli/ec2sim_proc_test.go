package awscli_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// ec2simProc is the ec2sim binary running as a user would start it: with
// only --listen and --imds-listen, i.e. the default world.
type ec2simProc struct {
	EC2URL  string
	IMDSURL string
	stderr  bytes.Buffer
}

// startEC2Sim builds bin/ec2sim from this checkout into a temporary
// directory, starts it on free loopback ports and waits until it answers.
// The process is killed when the test ends.
func startEC2Sim(t *testing.T) *ec2simProc {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "ec2sim")
	build := exec.Command("go", "build", "-o", bin, "./cloud/sim/cmd/ec2sim")
	build.Dir = repoRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ec2sim: %v\n%s", err, out)
	}
	ec2Addr, imdsAddr := freeAddr(t), freeAddr(t)
	p := &ec2simProc{EC2URL: "http://" + ec2Addr, IMDSURL: "http://" + imdsAddr}
	cmd := exec.Command(bin, "--listen", ec2Addr, "--imds-listen", imdsAddr)
	cmd.Stderr = &p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ec2sim: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("ec2sim stderr:\n%s", p.stderr.String())
		}
	})
	waitHTTP(t, p.EC2URL+"/sim/healthz")
	return p
}

// repoRoot is the module root: two levels above this test's directory.
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot locate the test's source file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitHTTP polls url until it answers 200 or 30 seconds pass.
func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		cancel()
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		if time.Now().After(deadline) {
			t.Fatalf("ec2sim did not come up at %s: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// awsCLI returns the AWS CLI to test with: Debian's /usr/bin/aws, or
// $AWS_CLI. Without one the test fails in CI (which installs it through
// .ci/run) and is skipped elsewhere with a message saying how to get it.
func awsCLI(t *testing.T) string {
	t.Helper()
	for _, c := range []string{os.Getenv("AWS_CLI"), "/usr/bin/aws"} {
		if c == "" {
			continue
		}
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("the AWS CLI is not installed at /usr/bin/aws: .ci/run installs Debian's awscli package")
	}
	t.Skip("the AWS CLI is not installed: apt-get install awscli (or set AWS_CLI) to run this test")
	return ""
}
