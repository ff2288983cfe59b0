package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/test/lab/echo"
)

// waitFor bounds every wait; no test asserts on elapsed time.
const waitFor = 30 * time.Second

// TestMain runs main itself when the test binary is re-executed as
// labecho (see TestSignalStops).
func TestMain(m *testing.M) {
	if os.Getenv("LABECHO_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

var listeningRE = regexp.MustCompile(`^labecho: (\S+) listening on (\S+) \(tcp\+udp\)\n$`)

// listening reads the "listening" line and returns the address in it.
func listening(t *testing.T, r *bufio.Reader) netip.AddrPort {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read the listening line: %v (got %q)", err, line)
	}
	m := listeningRE.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("stdout line %q is not the listening line", line)
	}
	return netip.MustParseAddrPort(m[2])
}

func probe(t *testing.T, ap netip.AddrPort, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	for _, proto := range []string{"tcp", "udp"} {
		r, err := echo.Probe(ctx, "", ap, proto)
		if err != nil || r.Host != name {
			t.Errorf("%s probe = %+v, %v; want host %s", proto, r, err, name)
		}
	}
}

func TestRunServesUntilCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--name", "n1"}, pw, &stderr)
		_ = pw.Close()
	}()
	ap := listening(t, bufio.NewReader(pr))
	probe(t, ap, "n1")
	cancel()
	if rest, _ := io.ReadAll(pr); len(rest) != 0 {
		t.Errorf("more on stdout after the listening line: %q", rest)
	}
	if code := <-done; code != 0 || stderr.Len() != 0 {
		t.Errorf("run = %d, stderr %q; want 0 and nothing", code, stderr.String())
	}
}

func TestRunBadArguments(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--listen", "127.0.0.1:0"}, 2, "--name is required"},
		{[]string{"--name", "x", "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"--bogus"}, 2, "flag provided but not defined"},
		{[]string{"--name", "x", "--listen", "localhost:7"}, 1, "IP:port"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stderr.String(), tc.want) || stdout.Len() != 0 {
			t.Errorf("run(%q) = %d, stdout %q, stderr %q; want %d and %q on stderr only",
				tc.args, code, stdout.String(), stderr.String(), tc.code, tc.want)
		}
	}
}

// The lab stops labecho with SIGTERM: it must exit 0, having written only
// its listening line.
func TestSignalStops(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "--listen", "127.0.0.1:0", "--name", "sig")
			cmd.Env = append(os.Environ(), "LABECHO_TEST_MAIN=1")
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
			r := bufio.NewReader(out)
			probe(t, listening(t, r), "sig")
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			rest, _ := io.ReadAll(r)
			if err := cmd.Wait(); err != nil || len(rest) != 0 || stderr.Len() != 0 {
				t.Errorf("after %v: exit %v, more stdout %q, stderr %q; want exit 0 and nothing", sig, err, rest, stderr.String())
			}
		})
	}
}
