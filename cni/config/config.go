// Package config parses the plugin's network configuration (the conflist
// entry the runtime passes on stdin) and the CNI_ARGS the runtime sets,
// strictly: an unknown or ill-typed option is an error that names it.
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
	DefaultIpamdTimeout = 10 * time.Second
	DefaultLogMaxSizeMB = 10
)

// Conf is one plugin configuration, validated.
type Conf struct {
	CNIVersion string
	Name       string
	// IpamdSocket: "ipamdSocket", the unix socket ipamd serves on.
	IpamdSocket string
	// MTU: "mtu", the pod interface's MTU; 0 takes the one ipamd replies.
	MTU int
	// VethPrefix: "vethPrefix", the host-side veth names' prefix (must be
	// ipamd's AWS_VPC_K8S_CNI_VETHPREFIX).
	VethPrefix string
	// LogFile: "pluginLogFile"; LogLevel: "pluginLogLevel" (debug, info,
	// warn, error); LogMaxSizeMB: "pluginLogMaxSizeMB", the size at which
	// the log rotates.
	LogFile      string
	LogLevel     string
	LogMaxSizeMB int
	// IpamdTimeout: "ipamdTimeout" (a Go duration, "10s"), the bound on
	// each call to ipamd.
	IpamdTimeout time.Duration
	// DNS: "dns", copied into the ADD result.
	DNS types.DNS
	// PrevResult: "prevResult" (CHECK, DEL), converted to the current
	// result type; nil when absent.
	PrevResult *current.Result
	// ValidAttachments: "cni.dev/valid-attachments" (GC).
	ValidAttachments []Attachment
}

// Attachment is one interface of one container, as the CNI spec names it.
type Attachment struct {
	ContainerID string
	IfName      string
}

// PodArgs are the Kubernetes fields of CNI_ARGS; all optional.
type PodArgs struct {
	Namespace string
	Name      string
	UID       string
	InfraID   string
}

// ErrInvalid: the configuration is malformed or ill-typed.
var ErrInvalid = errors.New("invalid network configuration")

// Parse decodes and validates the stdin of a plugin call.
func Parse(stdin []byte) (Conf, error) { return Conf{}, errors.New("not implemented") }

// ParseArgs decodes CNI_ARGS (K8S_POD_NAMESPACE, K8S_POD_NAME,
// K8S_POD_UID, K8S_POD_INFRA_CONTAINER_ID; others are ignored, as the
// runtime may pass more).
func ParseArgs(cniArgs string) (PodArgs, error) { return PodArgs{}, errors.New("not implemented") }

// PrevIP is the pod's IPv4 address in a previous result, for DEL and CHECK.
func (c Conf) PrevIP() (netip.Addr, bool) { return netip.Addr{}, false }
