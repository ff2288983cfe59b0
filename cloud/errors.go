package cloud

import (
	"errors"
	"fmt"
)

// Sentinel kinds of cloud failure that callers branch on, with errors.Is.
// An *APIError wraps one of them when its code maps to a kind.
var (
	// ErrThrottled: the API refused the request for its rate; retry later.
	ErrThrottled = errors.New("request throttled by the EC2 API")
	// ErrSubnetExhausted: the subnet has no free address left.
	ErrSubnetExhausted = errors.New("subnet has no free addresses")
	// ErrENILimit: the instance already has as many ENIs as its type allows.
	ErrENILimit = errors.New("instance ENI limit reached")
	// ErrAddressLimit: the ENI already has as many addresses (a /28 prefix
	// counts as one) as the instance type allows.
	ErrAddressLimit = errors.New("ENI address limit reached")
	// ErrNotFound: the ENI, attachment, subnet or instance does not exist.
	ErrNotFound = errors.New("resource not found")
	// ErrPrefixFragmented: the subnet has free addresses but no free,
	// aligned /28 block for a prefix.
	ErrPrefixFragmented = errors.New("subnet has no free aligned /28 prefix")
	// ErrInUse: the ENI is attached and cannot be deleted.
	ErrInUse = errors.New("network interface in use")
	// ErrInvalidParameter: the request itself is wrong; retrying cannot help.
	ErrInvalidParameter = errors.New("invalid request parameter")
	// ErrOutcomeUnknown: a call failed, yet it may have taken effect: on
	// this attempt or an earlier one of the same call, the answer was lost
	// (a timeout, a dropped connection) or the provider failed on its side
	// (a 5xx) after the change may have been made. It comes on top of the
	// final error's own kind: an unassign whose first attempt took effect
	// and whose retries were throttled is both ErrThrottled and
	// ErrOutcomeUnknown. A caller that decides whether a failed call
	// changed something must treat an error carrying it as "maybe", whatever
	// else the error says.
	ErrOutcomeUnknown = errors.New("the call may have taken effect; its answer was lost")
)

// APIError is a failed cloud API call: the action, the provider's error
// code and message, and the request id for support. It unwraps to the
// sentinel kind of its code, if any.
type APIError struct {
	Op        string // the API action, e.g. AssignPrivateIpAddresses
	Code      string // the provider's error code, e.g. PrivateIpAddressLimitExceeded
	Message   string
	RequestID string
	Kind      error // one of the sentinels above, or nil
}

func (e *APIError) Error() string {
	msg := fmt.Sprintf("%s: %s", e.Op, e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.RequestID != "" {
		msg += " (request id " + e.RequestID + ")"
	}
	return msg
}

// Unwrap returns the sentinel kind.
func (e *APIError) Unwrap() error { return e.Kind }

// codeKinds maps EC2 error codes onto the sentinel kinds.
var codeKinds = map[string]error{
	"RequestLimitExceeded":                ErrThrottled,
	"Throttling":                          ErrThrottled,
	"ThrottlingException":                 ErrThrottled,
	"InsufficientFreeAddressesInSubnet":   ErrSubnetExhausted,
	"AttachmentLimitExceeded":             ErrENILimit,
	"PrivateIpAddressLimitExceeded":       ErrAddressLimit,
	"InsufficientCidrBlocks":              ErrPrefixFragmented,
	"InvalidNetworkInterface.InUse":       ErrInUse,
	"InvalidNetworkInterfaceID.NotFound":  ErrNotFound,
	"InvalidAttachmentID.NotFound":        ErrNotFound,
	"InvalidSubnetID.NotFound":            ErrNotFound,
	"InvalidInstanceID.NotFound":          ErrNotFound,
	"InvalidVpcID.NotFound":               ErrNotFound,
	"InvalidGroup.NotFound":               ErrNotFound,
	"InvalidID":                           ErrNotFound,
	"InvalidNetworkInterfaceID.Malformed": ErrInvalidParameter,
	"InvalidSubnetID.Malformed":           ErrInvalidParameter,
	"InvalidInstanceID.Malformed":         ErrInvalidParameter,
	"InvalidGroupId.Malformed":            ErrInvalidParameter,
	"TagLimitExceeded":                    ErrInvalidParameter,
	"IdempotentParameterMismatch":         ErrInvalidParameter,
	"InvalidParameterValue":               ErrInvalidParameter,
	"InvalidParameterCombination":         ErrInvalidParameter,
	"InvalidParameter":                    ErrInvalidParameter,
	"MissingParameter":                    ErrInvalidParameter,
	"UnknownParameter":                    ErrInvalidParameter,
	"InvalidInstanceType":                 ErrNotFound, // DescribeInstanceTypes: no such type
	"InvalidIPAddress.InUse":              ErrInvalidParameter,
	"OperationNotPermitted":               ErrInvalidParameter, // e.g. detaching a primary ENI
}

// KindOf returns the sentinel kind of an EC2 error code, or nil when callers
// have nothing specific to do about it.
func KindOf(code string) error { return codeKinds[code] }

// NewAPIError builds an APIError with the kind its code maps to.
func NewAPIError(op, code, message, requestID string) *APIError {
	return &APIError{Op: op, Code: code, Message: message, RequestID: requestID, Kind: KindOf(code)}
}
