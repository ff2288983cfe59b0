// Package config parses the plugin's network configuration (the conflist
// entry the runtime passes on stdin) and the CNI_ARGS the runtime sets:
// strictly for the verbs that set up or inspect (an unknown or ill-typed
// option is an error that names it), leniently for those that clean up
// (such an option falls back to its default and is reported).
package config

import (
	"errors"
	"net/netip"
	"time"

	"github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
)

// Defaults that are part of the interface (DESIGN.md, "Defaults").
const (
	DefaultIpamdSocket  = "/run/vpc-cni/ipamd.sock"
	DefaultVethPrefix   = "eni"
	DefaultLogFile      = "/var/log/vpc-cni/plugin.log"
	DefaultLogLevel     = "info"
	DefaultIpamdTimeout = 15 * time.Second
	DefaultLogMaxSizeMB = 10
)

// Bounds of the numeric options.
const (
	MinMTU          = 576
	MaxMTU          = 9001
	MinIpamdTimeout = time.Second
	MaxIpamdTimeout = 5 * time.Minute
	MaxLogMaxSizeMB = 1024
)

// supportedVersions are the CNI spec versions the plugin implements.
var supportedVersions = []string{"0.4.0", "1.0.0", "1.1.0"}

// SupportedVersions returns the CNI spec versions the plugin implements,
// for skel's version.PluginSupports.
func SupportedVersions() []string { return append([]string(nil), supportedVersions...) }

// Conf is one plugin configuration, validated.
type Conf struct {
	CNIVersion string
	Name       string
	// Type: "type", the plugin binary's name as the conflist gives it.
	Type string
	// IpamdSocket: "ipamdSocket", the unix socket ipamd serves on.
	IpamdSocket string
	// MTU: "mtu", the pod interface's MTU; 0 takes the one ipamd replies.
	MTU int
	// VethPrefix: "vethPrefix", the host-side veth names' prefix (must be
	// ipamd's AWS_VPC_K8S_CNI_VETHPREFIX).
	VethPrefix string
	// LogFile: "pluginLogFile" ("" = no log file); LogLevel:
	// "pluginLogLevel" (debug, info, warn, error); LogMaxSizeMB:
	// "pluginLogMaxSizeMB", the size at which the log rotates.
	LogFile      string
	LogLevel     string
	LogMaxSizeMB int
	// IpamdTimeout: "ipamdTimeout" (a Go duration, "15s"), the bound on
	// each call to ipamd.
	IpamdTimeout time.Duration
	// DNS: "dns", copied into the ADD result.
	DNS types.DNS
	// PrevResult: "prevResult" (CHECK, DEL), converted to the current
	// result type; nil when absent.
	PrevResult *current.Result
	// ValidAttachments: "cni.dev/valid-attachments" (GC), or the spec's
	// earlier name "cni.dev/attachments" that libcni also sends.
	ValidAttachments []Attachment
	// HasValidAttachments: the runtime sent the list (possibly empty: then
	// no attachment is valid). A GC without it must not release anything.
	HasValidAttachments bool
}

// Attachment is one interface of one container, as the CNI spec names it.
type Attachment struct {
	ContainerID string `json:"containerID"`
	IfName      string `json:"ifname"`
}

// PodArgs are the Kubernetes fields of CNI_ARGS; all optional.
type PodArgs struct {
	Namespace string
	Name      string
	UID       string
	InfraID   string
}

var (
	// ErrInvalid: the configuration is malformed or ill-typed (CNI code 7).
	ErrInvalid = errors.New("invalid network configuration")
	// ErrUnsupportedField: a key vpc-cni does not know (CNI code 2); the
	// error also wraps ErrInvalid, and its message gives the key and its
	// value.
	ErrUnsupportedField = errors.New("unsupported field in network configuration")
	// ErrDecode: stdin is not a JSON object (CNI code 6).
	ErrDecode = errors.New("failed to decode network configuration")
	// ErrVersion: cniVersion is not one the plugin implements (CNI code 1).
	// skel refuses such a configuration before Parse sees it.
	ErrVersion = errors.New("incompatible CNI version")
	// ErrArgs: CNI_ARGS is malformed (CNI code 4, invalid environment variables).
	ErrArgs = errors.New("invalid CNI_ARGS")
)

// Default is the configuration with every option at its default; the
// required keys (cniVersion, name, type) are left empty.
func Default() Conf {
	return Conf{
		IpamdSocket:  DefaultIpamdSocket,
		VethPrefix:   DefaultVethPrefix,
		LogFile:      DefaultLogFile,
		LogLevel:     DefaultLogLevel,
		LogMaxSizeMB: DefaultLogMaxSizeMB,
		IpamdTimeout: DefaultIpamdTimeout,
	}
}

// Validate checks every field of c against the rule its key has in Parse;
// the error names the key, as Parse's would.
func (c Conf) Validate() error {
	for _, k := range []struct {
		key string
		err error
	}{
		{keyVersion, checkVersion(c.CNIVersion)},
		{keyName, checkName(c.Name)},
		{keyType, checkType(c.Type)},
		{keySocket, checkSocket(c.IpamdSocket)},
		{keyMTU, checkMTU(c.MTU)},
		{keyVethPrefix, checkVethPrefix(c.VethPrefix)},
		{keyLogFile, checkLogFile(c.LogFile)},
		{keyLogLevel, checkLogLevel(c.LogLevel)},
		{keyLogMaxSize, checkLogMaxSize(c.LogMaxSizeMB)},
		{keyTimeout, checkTimeout(c.IpamdTimeout)},
		{keyDNS, checkDNS(c.DNS)},
		{keyValidAttachments, checkAttachments(c.ValidAttachments)},
	} {
		if k.err != nil {
			return keyError(k.key, k.err)
		}
	}
	return nil
}

// PrevIP is the pod's IPv4 address in a previous result, for DEL and
// CHECK: the first IPv4 address of its IPs.
func (c Conf) PrevIP() (netip.Addr, bool) {
	if c.PrevResult == nil {
		return netip.Addr{}, false
	}
	for _, ip := range c.PrevResult.IPs {
		if ip == nil {
			continue
		}
		if v4 := ip.Address.IP.To4(); v4 != nil {
			a, _ := netip.AddrFromSlice(v4)
			return a, true
		}
	}
	return netip.Addr{}, false
}

// PrevHostIfName is the host-side interface of a previous result: the
// first named interface without a sandbox.
func (c Conf) PrevHostIfName() (string, bool) {
	if c.PrevResult == nil {
		return "", false
	}
	for _, i := range c.PrevResult.Interfaces {
		if i != nil && i.Name != "" && i.Sandbox == "" {
			return i.Name, true
		}
	}
	return "", false
}

// PrevPodIfName is the pod-side interface of a previous result: the first
// named interface with a sandbox.
func (c Conf) PrevPodIfName() (string, bool) {
	if c.PrevResult == nil {
		return "", false
	}
	for _, i := range c.PrevResult.Interfaces {
		if i != nil && i.Name != "" && i.Sandbox != "" {
			return i.Name, true
		}
	}
	return "", false
}
