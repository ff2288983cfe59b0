// Command ipamd is vpc-cni's per-node IPAM daemon: it reads its
// configuration from the environment, builds its real dependencies (the
// EC2 and instance metadata clients, the node's network) and runs
// ipamd/daemon until SIGINT or SIGTERM. See docs/ipamd.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	cloudaws "github.com/vpc-cni/vpc-cni/cloud/aws"
	"github.com/vpc-cni/vpc-cni/ipamd/capacity"
	"github.com/vpc-cni/vpc-cni/ipamd/config"
	"github.com/vpc-cni/vpc-cni/ipamd/daemon"
	"github.com/vpc-cni/vpc-cni/ipamd/maxpodscmd"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // ipamd could not start or failed while running
	exitUsage  = 2 // bad configuration or command line
)

// Keys of main's own log lines.
const (
	logKeyError  = "error"
	logKeyReason = "reason"
)

const usage = `usage: ipamd            run the daemon (configured by environment variables, see docs/ipamd-config.md)
       ipamd max-pods --instance-type TYPE [...]   the value for kubelet's --max-pods (ipamd max-pods -h)
`

func main() {
	os.Exit(run(os.Args[1:], os.Environ(), os.Stderr))
}

// run is ipamd's command line: no argument runs the daemon; a first
// argument names a subcommand.
func run(args, environ []string, stderr io.Writer) int {
	if len(args) > 0 {
		switch args[0] {
		case "-h", "-help", "--help", "help":
			fmt.Fprint(stderr, usage)
			return exitOK
		case "max-pods":
			return runMaxPods(args[1:], environ, stderr)
		default:
			fmt.Fprintf(stderr, "ipamd: unknown command %q\n%s", args[0], usage)
			return exitUsage
		}
	}
	cfg, err := config.FromEnviron(environ)
	if err != nil {
		fmt.Fprintf(stderr, "ipamd: invalid configuration:\n%v\n", err)
		return exitUsage
	}
	log := daemon.NewLogger(cfg, stderr)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	err = runDaemon(ctx, cfg, lookup(environ), log)
	switch {
	case err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled):
		log.Info("ipamd stopped during startup")
	case err != nil:
		log.Error("ipamd failed", logKeyError, err.Error())
		return exitFailed
	}
	return exitOK
}

// maxPodsTimeout bounds the max-pods calculator's question to EC2.
const maxPodsTimeout = 5 * time.Second

// runMaxPods runs the calculator, asking EC2 when a region is known
// (--region, AWS_REGION or AWS_DEFAULT_REGION).
func runMaxPods(args, environ []string, stderr io.Writer) int {
	ctx, cancel := context.WithTimeout(context.Background(), maxPodsTimeout)
	defer cancel()
	region := maxpodscmd.Region(args)
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		if region == "" && v != "" && (k == "AWS_REGION" || k == "AWS_DEFAULT_REGION") {
			region = v
		}
	}
	var lookup maxpodscmd.Lookup
	if region != "" {
		if api, _, err := cloudaws.New(ctx, cloudaws.Options{Region: region, MaxAttempts: 2}); err == nil {
			lookup = api.InstanceType
		}
	}
	return maxpodscmd.Run(ctx, args, os.Stdout, stderr, lookup)
}

// lookup is getenv over environ.
func lookup(environ []string) func(string) string {
	return func(key string) string {
		v := ""
		for _, kv := range environ {
			if k, val, ok := strings.Cut(kv, "="); ok && k == key {
				v = val // the last one wins, as in the process environment
			}
		}
		return v
	}
}

// runDaemon builds the real dependencies and runs the daemon; getenv
// finds the Kubernetes client configuration.
func runDaemon(ctx context.Context, cfg config.Config, getenv func(string) string, log *slog.Logger) (err error) {
	kube, err := capacity.ClientFromEnv(getenv)
	switch {
	case errors.Is(err, capacity.ErrNoKubernetes):
		log.Info("not in Kubernetes: no node capacity reporting, no pod GC", logKeyReason, err.Error())
	case err != nil:
		return fmt.Errorf("the Kubernetes client: %w", err)
	case cfg.NodeName == "":
		return daemon.ErrNoNodeName
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	api, md, err := cloudaws.New(ctx, daemon.CloudOptions(cfg, reg))
	if err != nil {
		return fmt.Errorf("build the EC2 and metadata clients: %w", err)
	}
	host, err := newHost()
	if err != nil {
		return fmt.Errorf("open the host network: %w", err)
	}
	defer func() { err = errors.Join(err, host.Close()) }()
	return daemon.Run(ctx, cfg, daemon.Deps{EC2: api, Metadata: md, Host: host, Registry: reg, Log: log,
		Kubernetes: kube})
}
