// Command vpc-cni-node is the chart's helper inside the vpc-cni image,
// which has no shell:
//
//	vpc-cni-node install-plugin [--if-missing F]... FROM... DIR
//	                                       copy each plugin binary FROM into DIR, and each F only
//	                                       where DIR has none of that name (the init container: vpc-cni,
//	                                       and the loopback plugin every sandbox needs if the node lacks it)
//	vpc-cni-node sysctl NAME=VALUE...      write each sysctl (privileged init container); a
//	                                       missing one (an interface this node lacks) is skipped
//	vpc-cni-node alive                     exit 0 when ipamd's gRPC health service answers at all (liveness)
//	vpc-cni-node ready [--conflist-dir D] [--cni-version V]
//	                                       exit 0 when it answers SERVING (readiness); with D, then
//	                                       also write the conflist (declaring CNI spec V, default
//	                                       1.0.0) into D, so kubelet sees the network only once ipamd
//	                                       can serve an address
//
// alive and ready read ipamd's own environment (the probes run in its
// container): the socket from VPC_CNI_SOCKET, the veth prefix from
// AWS_VPC_K8S_CNI_VETHPREFIX.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/vpc-cni/vpc-cni/cni/conflist"
	"github.com/vpc-cni/vpc-cni/ipamd/config"
)

const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// probeTimeout bounds one health check; kubelet's own timeoutSeconds is
// longer.
const probeTimeout = 4 * time.Second

const usage = `usage: vpc-cni-node install-plugin [--if-missing FROM]... FROM... DIR
       vpc-cni-node sysctl NAME=VALUE...
       vpc-cni-node alive
       vpc-cni-node ready [--conflist-dir DIR] [--cni-version V]
`

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stdout, os.Stderr))
}

func run(args, environ []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	var err error
	switch args[0] {
	case "install-plugin":
		err = installPlugins(args[1:], stdout, stderr)
	case "sysctl":
		err = setSysctls(procSys, args[1:], stdout)
	case "alive", "ready":
		err = probe(args[0], args[1:], environ, stdout, stderr)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "vpc-cni-node: unknown command %q\n%s", args[0], usage)
		return exitUsage
	}
	var u usageError
	switch {
	case errors.As(err, &u):
		fmt.Fprintf(stderr, "vpc-cni-node: %v\n%s", err, usage)
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "vpc-cni-node %s: %v\n", args[0], err)
		return exitFailed
	}
	return exitOK
}

type usageError struct{ error }

// procSys is the root of the sysctl tree; tests replace it.
var procSys = "/proc/sys"

func probe(cmd string, args, environ []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("conflist-dir", "", "write the conflist into this directory once ipamd is SERVING (ready only)")
	version := fs.String("cni-version", conflist.DefaultCNIVersion, "the CNI spec version the conflist declares (ready only): "+
		"1.0.0 for containerd 1.6 and 1.7, 1.1.0 (STATUS, GC) for containerd 2")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || (cmd == "alive" && (*dir != "" || *version != conflist.DefaultCNIVersion)) {
		return usageError{fmt.Errorf("bad arguments for %s", cmd)}
	}
	cfg, err := config.FromEnviron(environ)
	if err != nil {
		return fmt.Errorf("ipamd's configuration: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
	defer cancel()
	serving, err := checkHealth(ctx, cfg.SocketPath)
	if err != nil {
		return err
	}
	if cmd == "alive" {
		fmt.Fprintln(stdout, "ipamd answers")
		return nil
	}
	if !serving {
		return fmt.Errorf("ipamd at %s is NOT_SERVING: it cannot give a pod an address yet (see its log or introspection)", cfg.SocketPath)
	}
	if *dir != "" {
		o := conflist.Options{CNIVersion: *version, IpamdSocket: cfg.SocketPath, VethPrefix: cfg.VethPrefix}
		if err := writeConflist(*dir, o); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout, "ipamd is SERVING")
	return nil
}
