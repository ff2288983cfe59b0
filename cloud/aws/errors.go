package aws

import (
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/vpc-cni/vpc-cni/cloud"
)

// errInvalid builds an ErrInvalidParameter error for an argument rejected
// before any call.
func errInvalid(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), cloud.ErrInvalidParameter)
}

// apiError turns an SDK error into a *cloud.APIError when EC2 answered with
// an error code, keeping the request id and saying how many attempts were
// made when the retries ran out. Other errors (transport, context, the
// rate limiter) come back unchanged: the SDK's message already names the
// action, and errors.Is still finds context.DeadlineExceeded in them.
func apiError(op string, err error) error {
	if err == nil {
		return nil
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		return err
	}
	var requestID string
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		requestID = re.ServiceRequestID()
	}
	out := cloud.NewAPIError(op, ae.ErrorCode(), ae.ErrorMessage(), requestID)
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) {
		return fmt.Errorf("after %d attempts: %w", me.Attempt, out)
	}
	return out
}

// httpStatus returns the HTTP status of a failed response, if the error
// carries one.
func httpStatus(err error) (int, bool) {
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		return re.HTTPStatusCode(), true
	}
	return 0, false
}
