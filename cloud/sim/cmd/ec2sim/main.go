// Command ec2sim serves an emulated EC2 (the Query API, with the admin API
// under /sim/) and IMDSv2 on two addresses:
//
//	ec2sim --listen 127.0.0.1:8080 --imds-listen 127.0.0.1:8081 [--config world.json]
//
// Without --config it starts the default world (sim.DefaultConfig). It logs
// JSON to stderr and stops cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/vpc-cni/vpc-cni/cloud/sim"
)

// Log keys.
const (
	keyErr      = "err"
	keyEC2URL   = "ec2URL"
	keyIMDSURL  = "imdsURL"
	keyInstance = "defaultInstance"
	keyRegion   = "region"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

// run parses the flags, starts the emulator and serves until ctx ends.
func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("ec2sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address of the EC2 API (and the admin API under /sim/)")
	imdsListen := fs.String("imds-listen", "127.0.0.1:8081", "address of the instance metadata service")
	configPath := fs.String("config", "", "JSON file describing the world (default: the built-in default world)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ec2sim: unexpected arguments: %v\n", fs.Args())
		return 2
	}
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	cfg := sim.DefaultConfig()
	if *configPath != "" {
		var err error
		if cfg, err = sim.LoadConfig(*configPath); err != nil {
			log.Error("load config", keyErr, err)
			return 1
		}
	}
	cfg.Logger = log
	srv, err := sim.New(cfg)
	if err != nil {
		log.Error("build world", keyErr, err)
		return 1
	}
	if err := srv.Start(*listen, *imdsListen); err != nil {
		log.Error("start", keyErr, err)
		return 1
	}
	inst, _ := srv.World().DefaultInstance()
	log.Info("ec2sim started", keyEC2URL, srv.EC2URL(), keyIMDSURL, srv.IMDSURL(),
		keyInstance, inst.ID, keyRegion, cfg.Region)
	<-ctx.Done()
	if err := srv.Close(); err != nil {
		log.Error("shut down", keyErr, err)
		return 1
	}
	log.Info("ec2sim stopped")
	return 0
}
