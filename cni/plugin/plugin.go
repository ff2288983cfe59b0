// Package plugin implements the CNI verbs of vpc-cni (ADD, DEL, CHECK,
// STATUS, GC) over three boundaries: the configuration (cni/config), ipamd
// (cni/ipamc) and the host's netlink dataplane (cni/dataplane). It holds no
// state of its own: ipamd owns the addresses, the kernel the wiring.
package plugin

import (
	"context"
	"io"
	"log/slog"

	"github.com/containernetworking/cni/pkg/skel"
	"github.com/containernetworking/cni/pkg/version"

	"github.com/vpc-cni/vpc-cni/cni/config"
	"github.com/vpc-cni/vpc-cni/cni/dataplane"
	"github.com/vpc-cni/vpc-cni/cni/ipamc"
)

// SupportedVersions are the CNI spec versions vpc-cni speaks.
var SupportedVersions = version.PluginSupports("0.4.0", "1.0.0", "1.1.0")

// Deps are the plugin's boundaries; main wires the real ones, tests fakes.
type Deps struct {
	// Dial connects to ipamd's socket.
	Dial func(socket string) (ipamc.Client, error)
	// Dataplane opens the host's dataplane.
	Dataplane func() (dataplane.Dataplane, io.Closer, error)
	// OpenLog opens the plugin log (path, level, max size in MB).
	OpenLog func(path, level string, maxSizeMB int) (*slog.Logger, io.Closer, error)
	// Stdout receives the result of ADD (nothing else is ever written
	// there).
	Stdout io.Writer
}

// Plugin runs the verbs.
type Plugin struct{ deps Deps }

// New returns a plugin over deps.
func New(deps Deps) *Plugin { return &Plugin{deps: deps} }

// Funcs are the verbs for skel.PluginMainFuncs.
func (p *Plugin) Funcs() skel.CNIFuncs {
	return skel.CNIFuncs{Add: p.Add, Del: p.Del, Check: p.Check, Status: p.Status, GC: p.GC}
}

// call is one verb's context: the parsed configuration, its log and
// ipamd.
type call struct {
	conf    config.Conf
	log     *slog.Logger
	ipam    ipamc.Client // nil when dialErr
	dialErr error
	closer  []io.Closer
}

// open parses the configuration strictly, opens the log and connects to
// ipamd. A log that cannot be opened does not stop the call.
func (p *Plugin) open(verb string, args *skel.CmdArgs) (*call, error) {
	c, err := p.openWith(verb, args, false)
	if err != nil {
		return nil, err
	}
	if c.dialErr != nil {
		c.close()
		return nil, ipamError("connect to ipamd", c.dialErr)
	}
	return c, nil
}

// openLenient is open for the verbs that clean up (DEL, GC): the runtime
// passes the conflist as it is on disk now, not as it was at ADD, so an
// option this version does not know or accept is logged and its default
// used, rather than leaving pods stuck in Terminating; a failed connection
// is left in dialErr.
func (p *Plugin) openLenient(verb string, args *skel.CmdArgs) (*call, error) {
	return p.openWith(verb, args, true)
}

func (p *Plugin) openWith(verb string, args *skel.CmdArgs, lenient bool) (*call, error) {
	var (
		conf      config.Conf
		tolerated []error
		err       error
	)
	if lenient {
		conf, tolerated, err = config.ParseLenient(args.StdinData)
	} else {
		conf, err = config.Parse(args.StdinData)
	}
	if err != nil {
		return nil, confError(err)
	}
	c := &call{conf: conf}
	log, closer, lerr := p.deps.OpenLog(conf.LogFile, conf.LogLevel, conf.LogMaxSizeMB)
	if closer != nil {
		c.closer = append(c.closer, closer)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	c.log = log.With(keyVerb, verb, keyContainer, args.ContainerID, keyIfName, args.IfName)
	if lerr != nil {
		c.log.Warn("plugin log unavailable", keyError, lerr.Error())
	}
	for _, t := range tolerated {
		c.log.Warn("configuration problem ignored; the default is used", keyError, t.Error())
	}
	cl, err := p.deps.Dial(conf.IpamdSocket)
	if err != nil {
		c.dialErr = err
		return c, nil
	}
	c.ipam = cl
	c.closer = append(c.closer, cl)
	return c, nil
}

func (c *call) close() {
	for i := len(c.closer) - 1; i >= 0; i-- {
		_ = c.closer[i].Close()
	}
}

// ctx bounds one call to ipamd.
func (c *call) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), c.conf.IpamdTimeout)
}

// dataplane opens the host's dataplane for the rest of the call.
func (p *Plugin) dataplane(c *call) (dataplane.Dataplane, error) {
	dp, closer, err := p.deps.Dataplane()
	if err != nil {
		return nil, internal("open the host's network namespace", err)
	}
	if closer != nil {
		c.closer = append(c.closer, closer)
	}
	return dp, nil
}

// Log keys.
const (
	keyVerb      = "verb"
	keyContainer = "container"
	keyIfName    = "ifname"
	keyPod       = "pod"
	keyIP        = "ip"
	keyENI       = "eni"
	keyHostIf    = "host_ifname"
	keyError     = "error"
	keyReleased  = "released"
	keyTable     = "table"
	keyMTU       = "mtu"
)
