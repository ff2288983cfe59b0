// Command vpc-cni is the CNI plugin the container runtime executes for
// every pod: it asks ipamd for a VPC address and wires the pod's network
// namespace. The verbs live in cni/plugin; main only wires them.
package main

import (
	"io"
	"log/slog"
	"os"
	"runtime"

	"github.com/containernetworking/cni/pkg/skel"

	"github.com/vpc-cni/vpc-cni/cni/dataplane"
	"github.com/vpc-cni/vpc-cni/cni/ipamc"
	"github.com/vpc-cni/vpc-cni/cni/logfile"
	"github.com/vpc-cni/vpc-cni/cni/plugin"
)

// The namespace work must stay on one OS thread.
func init() { runtime.LockOSThread() }

func main() {
	p := plugin.New(plugin.Deps{
		Dial: func(socket string) (ipamc.Client, error) { return ipamc.Dial(socket) },
		Dataplane: func() (dataplane.Dataplane, io.Closer, error) {
			l, err := dataplane.New(dataplane.Options{})
			return l, l, err
		},
		OpenLog: func(path, level string, maxSizeMB int) (*slog.Logger, io.Closer, error) {
			return logfile.Open(path, level, maxSizeMB)
		},
		Stdout: os.Stdout,
	})
	skel.PluginMainFuncs(p.Funcs(), plugin.SupportedVersions, "vpc-cni: VPC addresses for pods, from ipamd")
}
