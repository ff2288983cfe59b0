package sim

import (
	"fmt"
	"net/http"
	"strings"
)

// EC2 error codes the World answers with.
const (
	CodeInvalidParameterValue       = "InvalidParameterValue"
	CodeInvalidParameterCombination = "InvalidParameterCombination"
	CodeMissingParameter            = "MissingParameter"
	CodeInvalidID                   = "InvalidID"
	CodeInvalidInstanceType         = "InvalidInstanceType"
	CodeIncorrectInstanceState      = "IncorrectInstanceState"
	CodeOperationNotPermitted       = "OperationNotPermitted"
	CodeTagLimitExceeded            = "TagLimitExceeded"
	CodeAttachmentLimitExceeded     = "AttachmentLimitExceeded"
	CodeAddressLimitExceeded        = "PrivateIpAddressLimitExceeded"
	CodeSubnetExhausted             = "InsufficientFreeAddressesInSubnet"
	CodeInsufficientCidrBlocks      = "InsufficientCidrBlocks"
	CodeAddressInUse                = "InvalidIPAddress.InUse"
	CodeENIInUse                    = "InvalidNetworkInterface.InUse"
	CodeENINotFound                 = "InvalidNetworkInterfaceID.NotFound"
	CodeENIMalformed                = "InvalidNetworkInterfaceID.Malformed"
	CodeAttachmentNotFound          = "InvalidAttachmentID.NotFound"
	CodeInstanceNotFound            = "InvalidInstanceID.NotFound"
	CodeInstanceMalformed           = "InvalidInstanceID.Malformed"
	CodeSubnetNotFound              = "InvalidSubnetID.NotFound"
	CodeSubnetMalformed             = "InvalidSubnetID.Malformed"
	CodeVpcNotFound                 = "InvalidVpcID.NotFound"
	CodeVpcMalformed                = "InvalidVpcID.Malformed"
	CodeSubnetConflict              = "InvalidSubnet.Conflict"
	CodeSubnetRange                 = "InvalidSubnet.Range"
	CodeVpcRange                    = "InvalidVpc.Range"
	CodeGroupNotFound               = "InvalidGroup.NotFound"
	CodeGroupMalformed              = "InvalidGroupId.Malformed"
	CodeRequestLimitExceeded        = "RequestLimitExceeded"
	CodeInternalError               = "InternalError"
	CodeUnavailable                 = "Unavailable"
)

// errf returns a client error (HTTP 400) as an *APIError.
func errf(code, format string, a ...any) error {
	return &APIError{Code: code, Message: fmt.Sprintf(format, a...), Status: http.StatusBadRequest}
}

// invalid is InvalidParameterValue.
func invalid(format string, a ...any) error {
	return errf(CodeInvalidParameterValue, format, a...)
}

// notFound is a kind's NotFound error for one or more ids, worded as EC2
// words it: "The instance ID 'i-1' does not exist".
func notFound(k kind, ids []string) error {
	if len(ids) == 1 {
		return errf(k.notFound, "The %s ID '%s' does not exist", k.noun, ids[0])
	}
	return errf(k.notFound, "The %s IDs '%s' do not exist", k.noun, strings.Join(ids, ", "))
}

// malformed is a kind's Malformed error.
func malformed(k kind, id string) error {
	return errf(k.malformed, "Invalid id: \"%s\"", id)
}
