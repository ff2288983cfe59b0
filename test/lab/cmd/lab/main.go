// Command lab brings up, reports on and tears down the lab: a multi-node
// VPC on one machine (package test/lab). `sudo make lab` runs `lab up`,
// `make lab-down` runs `lab down`.
//
//	lab up       bring up the lab (LAB_NODES, LAB_INSTANCE_TYPE, LAB_PODS,
//	             LAB_PREFIX, LAB_STATE_DIR, LAB_BIN and ipamd's variables),
//	             then print the report; exit 1 if a check fails
//	lab down     tear down the lab of LAB_PREFIX (default vpclab)
//	lab report   run the checks again on the running lab and print the report
//	lab fabricd  the fabric's follower of ec2sim (the lab starts it)
//	lab kubenode a real node's containerd and kubelet (the lab starts it
//	             with LAB_K8S=1)
//	lab kubectl  kubectl as the admin of the real cluster, e.g.
//	             sudo bin/lab kubectl get pods -o wide
//
// Progress goes to stderr, the report to stdout. Every subcommand needs
// root.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/vpc-cni/vpc-cni/test/lab"
	"github.com/vpc-cni/vpc-cni/test/lab/netenv"
	"github.com/vpc-cni/vpc-cni/test/lab/report"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // the lab failed, or a check failed
	exitUsage  = 2
)

const usage = `usage: lab up | down | report | fabricd --prefix P --state-url URL --nodes JSON
  up       bring up the lab and print its report (settings from LAB_* and ipamd's variables)
  down     tear the lab down (LAB_PREFIX, LAB_STATE_DIR)
  report   check the running lab again and print its report
  fabricd  follow ec2sim's state into the fabric (started by up)
  kubenode a real node's containerd and kubelet (started by up with LAB_K8S=1)
  kubectl  kubectl ARGS... as the admin of the real cluster (LAB_K8S=1)
`

// geteuid is os.Geteuid; tests replace it.
var geteuid = os.Geteuid

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is the command line.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return exitOK
	case "up", "down", "report", "fabricd", "kubenode", "kubectl":
	default:
		fmt.Fprintf(stderr, "lab: unknown command %q\n%s", cmd, usage)
		return exitUsage
	}
	if geteuid() != 0 {
		fmt.Fprintf(stderr, "lab %s: needs root (namespaces, links, mounts): run it with sudo, e.g. `sudo make lab`\n", cmd)
		return exitFailed
	}
	var err error
	switch cmd {
	case "up":
		return up(ctx, getenv, stdout, stderr)
	case "down":
		prefix, dir := target(getenv)
		err = lab.Down(ctx, prefix, dir)
	case "report":
		return reportCmd(ctx, getenv, stdout, stderr)
	case "fabricd":
		return fabricd(ctx, rest, stderr)
	case "kubenode":
		return kubenode(ctx, rest, stdout, stderr)
	case "kubectl":
		prefix, dir := target(getenv)
		if err := lab.Kubectl(ctx, prefix, dir, rest, os.Stdin, stdout, stderr); err != nil {
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				return exit.ExitCode()
			}
			fmt.Fprintf(stderr, "lab kubectl: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "lab %s: %v\n", cmd, err)
		return exitFailed
	}
	return exitOK
}

// target is the lab down and report act on: LAB_PREFIX, LAB_STATE_DIR.
func target(getenv func(string) string) (prefix, stateDir string) {
	prefix = getenv(lab.EnvPrefix)
	if prefix == "" {
		prefix = lab.DefaultPrefix
	}
	return prefix, getenv(lab.EnvStateDir)
}

func up(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := lab.ConfigFromEnv(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "lab up: %v\n", err)
		return exitUsage
	}
	l, err := lab.Up(ctx, cfg, stderr)
	if err != nil {
		// Up's errors say "lab up: ...".
		fmt.Fprintf(stderr, "%v\nlab up: the logs are in %s/logs; `make lab-down` removes what was made\n", err, cfg.StateDir)
		return exitFailed
	}
	return render(ctx, l, stdout)
}

func reportCmd(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) int {
	l, err := lab.Load(target(getenv))
	if err != nil {
		fmt.Fprintf(stderr, "lab report: %v\n", err)
		return exitFailed
	}
	return render(ctx, l, stdout)
}

// render runs the checks, prints the report and says whether all passed.
func render(ctx context.Context, l *lab.Lab, stdout io.Writer) int {
	r := l.Report(ctx)
	if err := report.Render(stdout, r); err != nil {
		return exitFailed
	}
	if !r.Pass() {
		return exitFailed
	}
	return exitOK
}

// fabricd runs netenv's follower until SIGTERM.
func fabricd(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("lab fabricd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	prefix := fs.String("prefix", "", "the lab's prefix (required)")
	url := fs.String("state-url", "", "ec2sim's /sim/state URL (required)")
	nodesJSON := fs.String("nodes", "", `the nodes, JSON: [{"index":1,"instanceId":"i-…","primaryIp":"198.18.0.11"}, …] (required)`)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	var nodes []netenv.NodeSpec
	if err := json.Unmarshal([]byte(*nodesJSON), &nodes); err != nil || *prefix == "" || *url == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "lab fabricd: want --prefix P --state-url URL --nodes JSON (a list of {index, instanceId, primaryIp})")
		return exitUsage
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	log.Info("fabricd following", "prefix", *prefix, "stateUrl", *url, "nodes", len(nodes))
	if err := netenv.RunFabricd(ctx, *prefix, *url, nodes, log); err != nil {
		log.Error("fabricd failed", "error", err.Error())
		return exitFailed
	}
	return exitOK
}
