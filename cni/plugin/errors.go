package plugin

import (
	"errors"
	"fmt"

	"github.com/containernetworking/cni/pkg/types"

	"github.com/vpc-cni/vpc-cni/cni/config"
	"github.com/vpc-cni/vpc-cni/cni/dataplane"
	"github.com/vpc-cni/vpc-cni/cni/ipamc"
)

// Codes of our own (the spec leaves 100 and above to plugins).
const (
	// CodeNoAddress: ipamd has no address and cannot get one (a limit).
	CodeNoAddress uint = 100
	// CodeNotAvailable is the spec's "plugin not available" (STATUS).
	CodeNotAvailable uint = 50
)

// confError maps a configuration error to its CNI code.
func confError(err error) error {
	switch {
	case errors.Is(err, config.ErrUnsupportedField):
		return types.NewError(types.ErrUnsupportedField, err.Error(), "")
	case errors.Is(err, config.ErrVersion):
		return types.NewError(types.ErrIncompatibleCNIVersion, err.Error(), "")
	case errors.Is(err, config.ErrDecode):
		return types.NewError(types.ErrDecodingFailure, err.Error(), "")
	case errors.Is(err, config.ErrArgs):
		return types.NewError(types.ErrInvalidEnvironmentVariables, err.Error(), "")
	default:
		return types.NewError(types.ErrInvalidNetworkConfig, err.Error(), "")
	}
}

// ipamError maps an error of ipamd to its CNI code: retry later when ipamd
// is away or its pool is growing, CodeNoAddress when a limit stops it.
func ipamError(what string, err error) error {
	msg := fmt.Sprintf("%s: %v", what, err)
	var ex *ipamc.ExhaustedError
	switch {
	case errors.As(err, &ex) && ex.Permanent:
		return types.NewError(CodeNoAddress, msg, "the node cannot hold more pods: schedule the pod elsewhere, "+
			"or raise the limit named")
	case errors.As(err, &ex):
		return types.NewError(types.ErrTryAgainLater, msg, "the node's address pool is growing")
	case errors.Is(err, ipamc.ErrUnreachable):
		return types.NewError(types.ErrTryAgainLater, msg, "check that ipamd runs on this node and serves "+
			"the socket in the conflist's ipamdSocket")
	case errors.Is(err, ipamc.ErrUnavailable), errors.Is(err, ipamc.ErrTimeout):
		return types.NewError(types.ErrTryAgainLater, msg, "ipamd is starting or failing: see its log")
	default:
		return types.NewError(types.ErrInternal, msg, "")
	}
}

// wireError maps an error of the dataplane: a bad pod namespace is code 8,
// a bad field code 7, the rest internal.
func wireError(what string, err error) error {
	msg := fmt.Sprintf("%s: %v", what, err)
	switch {
	case errors.Is(err, dataplane.ErrNetNS):
		return types.NewError(types.ErrInvalidNetNS, msg, "the runtime must pass the pod's own network namespace")
	case errors.Is(err, dataplane.ErrInvalid):
		return types.NewError(types.ErrInvalidNetworkConfig, msg, "")
	default:
		return types.NewError(types.ErrInternal, msg, "")
	}
}

// internal is an error of the plugin's own work.
func internal(what string, err error) error {
	return types.NewError(types.ErrInternal, fmt.Sprintf("%s: %v", what, err), "")
}
