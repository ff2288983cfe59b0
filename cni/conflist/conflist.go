// Package conflist renders and writes the plugin's network configuration
// list, 10-vpc-cni.conflist, from ipamd's settings (its socket, the veth
// prefix, the MTU) and the plugin's log settings. The lab writes one per
// node with it; the installer writes the node's with it once ipamd is
// healthy. The result always parses with cni/config.
package conflist

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/vpc-cni/vpc-cni/cni/config"
)

// Fixed parts of the list.
const (
	// FileName is the conflist's name in the runtime's CNI config directory.
	FileName = "10-vpc-cni.conflist"
	// DefaultCNIVersion is the spec version the list declares unless
	// Options.CNIVersion says otherwise: 1.0.0, the newest that containerd
	// 1.6 and 1.7 (libcni 1.1) accept; they fail every ADD of a 1.1.0 list
	// ("unsupported CNI result version"). 1.1.0 adds the STATUS and GC
	// verbs, for runtimes that speak it (containerd 2.0 and later).
	DefaultCNIVersion = "1.0.0"
	// NetworkName is the network's name, and PluginType the plugin binary's.
	NetworkName = "vpc-cni"
	PluginType  = "vpc-cni"
)

// Options are the plugin's settings. A zero field takes the plugin's
// default (cni/config's), except MTU, where 0 means "the MTU ipamd replies".
type Options struct {
	// CNIVersion is the spec version the list declares: 0.4.0, 1.0.0 or
	// 1.1.0; "" is DefaultCNIVersion.
	CNIVersion string
	// IpamdSocket is ipamd's unix socket (VPC_CNI_SOCKET).
	IpamdSocket string
	// VethPrefix must be ipamd's AWS_VPC_K8S_CNI_VETHPREFIX.
	VethPrefix string
	// MTU of the pod interface; 0 takes ipamd's (POD_MTU).
	MTU int
	// LogFile is the plugin's log file; LogLevel debug, info, warn or error.
	LogFile  string
	LogLevel string
	// LogMaxSizeMB and IpamdTimeout are written only when set.
	LogMaxSizeMB int
	IpamdTimeout time.Duration
}

// list and plugin are the file's JSON, in the order it is written.
type list struct {
	CNIVersion string   `json:"cniVersion"`
	Name       string   `json:"name"`
	Plugins    []plugin `json:"plugins"`
}

type plugin struct {
	Type           string `json:"type"`
	IpamdSocket    string `json:"ipamdSocket"`
	MTU            int    `json:"mtu"`
	VethPrefix     string `json:"vethPrefix"`
	PluginLogFile  string `json:"pluginLogFile"`
	PluginLogLevel string `json:"pluginLogLevel"`
	LogMaxSizeMB   int    `json:"pluginLogMaxSizeMB,omitempty"`
	IpamdTimeout   string `json:"ipamdTimeout,omitempty"`
}

// Conf is the plugin configuration o stands for, defaults filled in, as
// cni/config would parse it from the rendered list.
func (o Options) Conf() config.Conf {
	c := config.Default()
	c.CNIVersion, c.Name, c.Type = DefaultCNIVersion, NetworkName, PluginType
	set(&c.CNIVersion, o.CNIVersion)
	c.MTU = o.MTU
	set(&c.IpamdSocket, o.IpamdSocket)
	set(&c.VethPrefix, o.VethPrefix)
	set(&c.LogFile, o.LogFile)
	set(&c.LogLevel, o.LogLevel)
	if o.LogMaxSizeMB != 0 {
		c.LogMaxSizeMB = o.LogMaxSizeMB
	}
	if o.IpamdTimeout != 0 {
		c.IpamdTimeout = o.IpamdTimeout
	}
	return c
}

func set(dst *string, v string) {
	if v != "" {
		*dst = v
	}
}

// Render returns the conflist for o, indented, ending in a newline. An
// option the plugin would refuse is an error naming its key.
func Render(o Options) ([]byte, error) {
	c := o.Conf()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("conflist: %w", err)
	}
	p := plugin{
		Type: c.Type, IpamdSocket: c.IpamdSocket, VethPrefix: c.VethPrefix, MTU: c.MTU,
		PluginLogFile: c.LogFile, PluginLogLevel: c.LogLevel, LogMaxSizeMB: o.LogMaxSizeMB,
	}
	if o.IpamdTimeout != 0 {
		p.IpamdTimeout = c.IpamdTimeout.String()
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(list{CNIVersion: c.CNIVersion, Name: NetworkName, Plugins: []plugin{p}}); err != nil {
		return nil, fmt.Errorf("conflist: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// Write renders o and writes it as dir/10-vpc-cni.conflist, mode 0644,
// atomically: a runtime reading the directory sees the old file or the
// new one, never a part. dir must exist.
func Write(dir string, o Options) error {
	b, err := Render(o)
	if err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, FileName), b)
}

func writeAtomic(path string, b []byte) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("conflist: %w", err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(b); err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("conflist: write %s: %w", path, err)
	}
	return nil
}
