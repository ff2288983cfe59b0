package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"github.com/vpc-cni/vpc-cni/test/lab/kube"
)

// kubenode runs one real node's containerd and kubelet (kube.RunNode)
// until SIGTERM; lab up starts it in the node's network namespace and a
// mount namespace of its own.
func kubenode(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("lab kubenode", flag.ContinueOnError)
	fs.SetOutput(stderr)
	name := fs.String("name", "", "the node's name (required)")
	ip := fs.String("ip", "", "its primary address (required)")
	netns := fs.String("netns", "", "its network namespace's path (required)")
	dir := fs.String("dir", "", "its lab directory (required)")
	maxPods := fs.Int("max-pods", 0, "kubelet's max pods (required)")
	var r kube.NodeRun
	fs.StringVar(&r.Kubeconfig, "kubeconfig", "", "kubelet's kubeconfig (required)")
	fs.StringVar(&r.ClientCA, "client-ca", "", "the CA of kubelet's clients (required)")
	images := fs.String("images", "", "the images to import: REF=FILE,...")
	fs.StringVar(&r.LogDir, "log-dir", "", "where containerd's and kubelet's logs go (required)")
	fs.StringVar(&r.Containerd, "containerd", "containerd", "containerd")
	fs.StringVar(&r.Ctr, "ctr", "ctr", "ctr")
	fs.StringVar(&r.Kubelet, "kubelet", "", "kubelet (required)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	addr, err := netip.ParseAddr(*ip)
	if err != nil || *name == "" || *netns == "" || *dir == "" || *maxPods < 1 || r.Kubeconfig == "" ||
		r.ClientCA == "" || r.LogDir == "" || r.Kubelet == "" || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "lab kubenode: want --name, --ip, --netns, --dir, --max-pods, --kubeconfig, --client-ca, --log-dir and --kubelet")
		return exitUsage
	}
	for _, kv := range strings.Split(*images, ",") {
		if kv == "" {
			continue
		}
		ref, file, ok := strings.Cut(kv, "=")
		if !ok {
			fmt.Fprintf(stderr, "lab kubenode: --images: %q is not REF=FILE\n", kv)
			return exitUsage
		}
		r.Images = append(r.Images, kube.Image{Ref: ref, File: file})
	}
	r.Progress = stdout
	if err := kube.RunNode(ctx, kube.NewNode(*name, addr, *netns, *dir, *maxPods), r); err != nil {
		fmt.Fprintf(stderr, "lab kubenode %s: %v\n", *name, err)
		return exitFailed
	}
	return exitOK
}
