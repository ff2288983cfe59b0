package cloud

import (
	"errors"
	"fmt"
	"testing"
)

func TestAPIErrorKinds(t *testing.T) {
	tests := []struct {
		code string
		want error
	}{
		{"RequestLimitExceeded", ErrThrottled},
		{"InsufficientFreeAddressesInSubnet", ErrSubnetExhausted},
		{"AttachmentLimitExceeded", ErrENILimit},
		{"PrivateIpAddressLimitExceeded", ErrAddressLimit},
		{"InsufficientCidrBlocks", ErrPrefixFragmented},
		{"InvalidNetworkInterface.InUse", ErrInUse},
		{"InvalidNetworkInterfaceID.NotFound", ErrNotFound},
		{"InvalidParameterValue", ErrInvalidParameter},
		{"InvalidInstanceType", ErrNotFound},
		{"InvalidIPAddress.InUse", ErrInvalidParameter},
		{"OperationNotPermitted", ErrInvalidParameter},
		{"InvalidSubnetID.Malformed", ErrInvalidParameter},
		{"TagLimitExceeded", ErrInvalidParameter},
		{"InvalidGroup.NotFound", ErrNotFound},
		{"IdempotentParameterMismatch", ErrInvalidParameter},
		{"SomethingElse", nil},
	}
	for _, tt := range tests {
		err := NewAPIError("AssignPrivateIpAddresses", tt.code, "msg", "req-1")
		if KindOf(tt.code) != tt.want {
			t.Errorf("KindOf(%s) = %v, want %v", tt.code, KindOf(tt.code), tt.want)
		}
		wrapped := fmt.Errorf("assign: %w", err)
		if tt.want != nil && !errors.Is(wrapped, tt.want) {
			t.Errorf("%s: errors.Is(%v) = false", tt.code, tt.want)
		}
		var apiErr *APIError
		if !errors.As(wrapped, &apiErr) || apiErr.Code != tt.code {
			t.Errorf("%s: errors.As lost the APIError", tt.code)
		}
	}
}

func TestAPIErrorMessage(t *testing.T) {
	tests := []struct {
		err  *APIError
		want string
	}{
		{NewAPIError("CreateTags", "Throttling", "", ""), "CreateTags: Throttling"},
		{NewAPIError("CreateTags", "Throttling", "slow down", ""), "CreateTags: Throttling: slow down"},
		{NewAPIError("CreateTags", "Throttling", "slow down", "r1"), "CreateTags: Throttling: slow down (request id r1)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestOutcomeUnknownAlongsideKind: an implementation adds ErrOutcomeUnknown
// to the final error of a call, whose own kind and APIError stay visible.
func TestOutcomeUnknownAlongsideKind(t *testing.T) {
	final := NewAPIError("UnassignPrivateIpAddresses", "RequestLimitExceeded", "slow down", "r1")
	err := fmt.Errorf("unassign: %w", fmt.Errorf("%w (%w)", final, ErrOutcomeUnknown))
	if !errors.Is(err, ErrOutcomeUnknown) || !errors.Is(err, ErrThrottled) {
		t.Errorf("errors.Is: outcome unknown %v, throttled %v; want both",
			errors.Is(err, ErrOutcomeUnknown), errors.Is(err, ErrThrottled))
	}
	var api *APIError
	if !errors.As(err, &api) || api.Code != "RequestLimitExceeded" {
		t.Errorf("errors.As lost the APIError: %v", err)
	}
	if errors.Is(final, ErrOutcomeUnknown) {
		t.Error("a plain APIError claims an unknown outcome")
	}
}
