package cnibench

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/vpc-cni/vpc-cni/internal/ipamdtest"
	"github.com/vpc-cni/vpc-cni/ipamd/daemon"
	ipamv1 "github.com/vpc-cni/vpc-cni/proto/ipam/v1"
)

// waitFor is the generous bound of every wait; nothing asserts on time.
const waitFor = 90 * time.Second

// The node the in-process ipamd runs on. Without prefix delegation, an
// m5.24xlarge (15 ENIs of 50 addresses) holds MINIMUM_IP_TARGET=220 on
// five ENIs, so most pods get an address of a secondary ENI and the
// plugin wires the extra `from <pod>` rule, as on a busy node.
const (
	nodeType      = "m5.24xlarge"
	nodeSubnet    = "198.18.0.0/20"
	nodePrimaryIP = "198.18.0.10"
	minimumIPs    = 220
)

// ipamdEnv is ipamd's configuration: the warm pool above and no
// cooldown (the benchmark reuses addresses at once, as host-local does).
func ipamdEnv() map[string]string {
	return map[string]string{
		"MINIMUM_IP_TARGET":        fmt.Sprint(minimumIPs),
		"IP_COOLDOWN_PERIOD":       "0",
		"AWS_VPC_K8S_CNI_LOGLEVEL": "warn",
	}
}

// ipamd is the real daemon running in-process against ec2sim, with the
// fake host network (the host namespace of the benchmark holds no ENIs).
type ipamd struct {
	socket string
	client ipamv1.IPAMClient
}

// startIpamd starts ec2sim and ipamd with their state in dir, and waits
// until ipamd serves; both stop when the test ends.
func startIpamd(tb testing.TB, dir string) *ipamd {
	tb.Helper()
	d := ipamdtest.Start(tb, ipamdtest.Options{InstanceType: nodeType, SubnetCIDR: nodeSubnet,
		PrimaryIP: nodePrimaryIP, Env: ipamdEnv(), Dir: dir, Log: os.Stderr, Wait: waitFor,
		Tuning: daemon.Tuning{Interval: 200 * time.Millisecond}})
	return &ipamd{socket: d.Socket, client: d.Client}
}

// waitWarm waits until ipamd could serve at least n ADDs at once and
// the count has held over three polls half a second apart, so that the
// pool manager has stopped growing the pool before anything is timed.
func (d *ipamd) waitWarm(tb testing.TB, n int) {
	tb.Helper()
	deadline := time.Now().Add(waitFor)
	var last *ipamv1.StatusResponse
	prev := int32(-1)
	for stable := 0; stable < 3; time.Sleep(500 * time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("ipamd's warm pool not at %d addresses within %s: last status %v", n, waitFor, last)
		}
		last = d.status(tb)
		if last.GetReady() && int(last.GetAvailable()) >= n && last.GetAvailable() == prev {
			stable++
		} else {
			stable = 0
		}
		prev = last.GetAvailable()
	}
}

func (d *ipamd) status(tb testing.TB) *ipamv1.StatusResponse {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	st, err := d.client.Status(ctx, &ipamv1.StatusRequest{})
	if err != nil {
		tb.Fatalf("ipamd Status: %v", err)
	}
	return st
}

// holds reports whether ipamd holds an allocation for the attachment.
func (d *ipamd) holds(tb testing.TB, containerID, ifname string) bool {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	resp, err := d.client.CheckNetwork(ctx, &ipamv1.CheckNetworkRequest{ContainerId: containerID, Ifname: ifname})
	if err != nil {
		tb.Fatalf("ipamd CheckNetwork(%s): %v", containerID, err)
	}
	return resp.GetFound()
}
