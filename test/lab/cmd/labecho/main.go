// Command labecho is the lab's echo server: it answers TCP lines and UDP
// datagrams on one address with what it saw (package test/lab/echo) until
// SIGTERM or SIGINT. The lab starts one, detached, inside each node, pod
// and internet namespace:
//
//	labecho --listen 198.18.0.11:7 --name node1
//
// Its only output on stdout is one "listening" line once both sockets are
// bound; errors go to stderr and exit 1 (2 for bad flags).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/vpc-cni/vpc-cni/test/lab/echo"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves until ctx ends and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	listen, name, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "labecho: %v\n", err)
		}
		return 2
	}
	s, err := echo.Listen(listen, name)
	if err != nil {
		fmt.Fprintf(stderr, "labecho: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "labecho: %s listening on %s (tcp+udp)\n", name, s.Addr())
	if err := s.Serve(ctx); err != nil {
		fmt.Fprintf(stderr, "labecho: %v\n", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (listen, name string, err error) {
	fs := flag.NewFlagSet("labecho", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&listen, "listen", "0.0.0.0:7", "IP:port to serve TCP and UDP on")
	fs.StringVar(&name, "name", "", "the host name to answer with (required), e.g. node1 or vpclab-n1-p2")
	if err := fs.Parse(args); err != nil {
		return "", "", err
	}
	switch {
	case fs.NArg() > 0:
		return "", "", fmt.Errorf("unexpected argument %q: usage: labecho --listen IP:PORT --name NAME", fs.Arg(0))
	case name == "":
		return "", "", errors.New("--name is required: usage: labecho --listen IP:PORT --name NAME")
	}
	return listen, name, nil
}
